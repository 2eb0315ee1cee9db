"""Who may do what: the permission table, in one place.

Each action (opening a page, calling an API endpoint, seeing customer-level data) lists
the roles allowed to do it. Routes declare the action they need; the route tests read
this table to know which status each role must get. Change access here, nowhere else.

Aggregates are open to every signed-in role; customer-level rows (customer ids, lists,
360 profiles, exports, ad-hoc queries) only to analysts and admins (DESIGN §6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from omnikpi.auth.roles import Role, UserRole
from omnikpi.errors import ConfigError, PermissionDenied


class Action(StrEnum):
    """Something a user may be allowed to do; values are stable (API token scopes)."""

    VIEW_HOME = "view_home"
    VIEW_DATA_STATUS = "view_data_status"
    VIEW_API_DOCS = "view_api_docs"
    READ_PROFILE = "read_profile"
    # KPI pages
    VIEW_SCORECARD = "view_scorecard"
    VIEW_STAGE_DASHBOARD = "view_stage_dashboard"
    VIEW_MY_KPIS = "view_my_kpis"
    VIEW_KPI_DETAIL = "view_kpi_detail"
    EXPLORE_KPI_CATALOG = "explore_kpi_catalog"
    # The KPI API (catalog, series, scorecards); which KPIs follows TIERS
    READ_KPIS = "read_kpis"
    # customer-level data (governance, DESIGN §6)
    VIEW_CUSTOMER_LEVEL = "view_customer_level"
    EXPORT_CUSTOMER_LEVEL = "export_customer_level"
    # administration
    MANAGE_USERS = "manage_users"


class ActionDenied(PermissionDenied):
    """A role tried an action the permission table does not give it."""

    def __init__(self, role: UserRole, action: Action) -> None:
        super().__init__(
            f'role "{role}" may not {action.value.replace("_", " ")} '
            "(ask an admin to change your role if you need this)"
        )
        self.role = role
        self.action = action


_EVERYONE = frozenset(Role)
_CUSTOMER_LEVEL_ROLES = frozenset({Role.ANALYST, Role.ADMIN})

#: The permission table: action → roles allowed to do it.
PERMISSIONS: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.VIEW_HOME: _EVERYONE,
        Action.VIEW_DATA_STATUS: _EVERYONE,
        # The API documentation is for people who wire up tools and scripts.
        Action.VIEW_API_DOCS: frozenset({Role.ANALYST, Role.ADMIN}),
        Action.READ_PROFILE: _EVERYONE,
        Action.VIEW_SCORECARD: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.BU_USER, Role.ADMIN}
        ),
        Action.VIEW_STAGE_DASHBOARD: frozenset(
            {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN}
        ),
        Action.VIEW_MY_KPIS: frozenset({Role.MEMBER}),
        Action.VIEW_KPI_DETAIL: _EVERYONE,
        Action.EXPLORE_KPI_CATALOG: _EVERYONE,
        Action.READ_KPIS: _EVERYONE,
        Action.VIEW_CUSTOMER_LEVEL: _CUSTOMER_LEVEL_ROLES,
        Action.EXPORT_CUSTOMER_LEVEL: _CUSTOMER_LEVEL_ROLES,
        Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    }
)

#: Actions that reveal customer-level rows; a test keeps them to analysts and admins.
CUSTOMER_LEVEL_ACTIONS: frozenset[Action] = frozenset(
    {Action.VIEW_CUSTOMER_LEVEL, Action.EXPORT_CUSTOMER_LEVEL}
)

#: KPI tiers each role may open. `member:*` is every member tier; `member:own` is the
#: tier of the user's own member role. KPIs without a tier are open to every role.
TIERS: Mapping[Role, tuple[str, ...]] = MappingProxyType(
    {
        Role.ADMIN: ("cxo", "lead", "member:*"),
        Role.EXECUTIVE: ("cxo", "lead", "member:*"),
        Role.TEAM_LEAD: ("cxo", "lead", "member:*"),
        Role.ANALYST: ("cxo", "lead", "member:*"),
        Role.BU_USER: ("cxo", "lead"),
        Role.MEMBER: ("cxo", "member:own"),
    }
)


def is_allowed(role: UserRole, action: Action, scopes: frozenset[Action] | None = None) -> bool:
    """Whether `role` may do `action`; `scopes` further narrows an API token."""
    if scopes is not None and action not in scopes:
        return False
    return role.role in PERMISSIONS[action]


def check_allowed(role: UserRole, action: Action, scopes: frozenset[Action] | None = None) -> None:
    """Raise ActionDenied (a PermissionDenied) unless `role` may do `action`."""
    if not is_allowed(role, action, scopes):
        raise ActionDenied(role, action)


def allowed_actions(role: UserRole) -> tuple[Action, ...]:
    """Every action `role` may do, in declaration order."""
    return tuple(action for action in Action if is_allowed(role, action))


def may_see_tier(role: UserRole, tier: str) -> bool:
    """Whether `role` may open KPIs of `tier` (`cxo`, `lead`, `member:cs_agent`, ...)."""
    for pattern in TIERS[role.role]:
        if pattern == tier:
            return True
        if pattern == "member:*" and tier.startswith("member:"):
            return True
        if pattern == "member:own" and role.member_role and tier == f"member:{role.member_role}":
            return True
    return False


def may_see_kpi(role: UserRole, tiers: Iterable[str]) -> bool:
    """Whether `role` may open a KPI tagged with `tiers` (untagged KPIs are open)."""
    tags = tuple(tiers)
    return not tags or any(may_see_tier(role, tier) for tier in tags)


def parse_scopes(names: Iterable[str]) -> frozenset[Action]:
    """API token scopes from action names; a ConfigError names the choices."""
    scopes: set[Action] = set()
    for name in names:
        try:
            scopes.add(Action(name.strip()))
        except ValueError:
            choices = ", ".join(action.value for action in Action)
            raise ConfigError(f'"{name}" is not a token scope (choose from: {choices})') from None
    if not scopes:
        raise ConfigError("an API token needs at least one scope (e.g. --scope read_profile)")
    return frozenset(scopes)
