"""Roles are written `admin` or `member:<job>`; anything else is refused with the choices."""

from __future__ import annotations

import pytest

from omnikpi.auth import ALL_ROLES, ROLE_CHOICES, MemberRole, Role, UserRole, parse_role
from omnikpi.errors import ConfigError


def test_every_role_round_trips_through_its_text() -> None:
    assert len(ALL_ROLES) == len(Role) - 1 + len(MemberRole)
    for role in ALL_ROLES:
        assert parse_role(str(role)) == role


def test_member_roles_name_the_job() -> None:
    assert str(UserRole(Role.MEMBER, MemberRole.CRM_LOYALTY)) == "member:crm_loyalty"
    assert parse_role("member:logistics").member_role is MemberRole.LOGISTICS


@pytest.mark.parametrize("text", ["boss", "member", "member:cfo", "admin:cs_agent", ""])
def test_bad_roles_name_every_choice(text: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_role(text)
    message = str(error.value)
    assert f'"{text}" is not a role' in message
    assert all(choice in message for choice in ROLE_CHOICES)


def test_a_member_needs_a_job_and_only_a_member_has_one() -> None:
    with pytest.raises(ConfigError):
        UserRole(Role.MEMBER)
    with pytest.raises(ConfigError):
        UserRole(Role.ADMIN, MemberRole.CS_AGENT)
