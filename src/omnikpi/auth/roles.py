"""Roles: every user has exactly one; a member also has a member role (their job)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omnikpi.errors import ConfigError


class Role(StrEnum):
    """What a person does with omnikpi (DESIGN §1)."""

    ADMIN = "admin"
    EXECUTIVE = "executive"
    TEAM_LEAD = "team_lead"
    MEMBER = "member"
    ANALYST = "analyst"
    BU_USER = "bu_user"


class MemberRole(StrEnum):
    """The job of a team member; it picks the KPIs of their `member:<role>` tier."""

    CS_AGENT = "cs_agent"
    PERFORMANCE_MARKETER = "performance_marketer"
    MERCHANDISER = "merchandiser"
    CRM_MARKETER = "crm_marketer"
    SITE_OPERATOR = "site_operator"
    LOGISTICS = "logistics"
    CRM_LOYALTY = "crm_loyalty"


@dataclass(frozen=True, order=True)
class UserRole:
    """A user's role, written `admin` or `member:cs_agent`.

    >>> str(UserRole(Role.MEMBER, MemberRole.LOGISTICS))
    'member:logistics'
    """

    role: Role
    member_role: MemberRole | None = None

    def __post_init__(self) -> None:
        if (self.role is Role.MEMBER) != (self.member_role is not None):
            raise ConfigError(
                f'role "{self}" is not valid: a member needs a member role and only a member '
                f"has one (choose one of: {', '.join(ROLE_CHOICES)})"
            )

    def __str__(self) -> str:
        return f"{self.role}:{self.member_role}" if self.member_role else str(self.role)


def _all_roles() -> tuple[UserRole, ...]:
    roles: list[UserRole] = []
    for role in Role:
        if role is Role.MEMBER:
            roles.extend(UserRole(role, member_role) for member_role in MemberRole)
        else:
            roles.append(UserRole(role))
    return tuple(roles)


#: Every role a user can have, in display order.
ALL_ROLES: tuple[UserRole, ...] = _all_roles()
#: The same, as the strings the CLI and the app-state store use.
ROLE_CHOICES: tuple[str, ...] = tuple(str(role) for role in ALL_ROLES)


def parse_role(text: str) -> UserRole:
    """`admin`, `member:cs_agent`, ... as a UserRole; a ConfigError names the choices."""
    for candidate in ALL_ROLES:
        if str(candidate) == text.strip():
            return candidate
    raise ConfigError(f'"{text}" is not a role (choose one of: {", ".join(ROLE_CHOICES)})')
