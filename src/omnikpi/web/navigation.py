"""The main navigation: every page a role may open, in menu order, and where each role
lands after signing in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from omnikpi.auth import Action, Role, UserRole
from omnikpi.web.security import Principal


@dataclass(frozen=True)
class NavItem:
    """A menu entry: its label key (`nav.<key>`), where it goes, what it needs, and the
    action whose holders do not see it in the menu (`hidden_for`: they reach the page from
    another one's tabs, and the menu keeps to one row)."""

    key: str
    path: str
    action: Action
    hidden_for: Action | None = None


#: The menu; each entry must match a route declaring the same action.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "/home", Action.VIEW_HOME),
    NavItem("my_kpis", "/my-kpis", Action.VIEW_MY_KPIS),
    NavItem("scorecard", "/scorecard", Action.VIEW_SCORECARD),
    NavItem("stages", "/stages", Action.VIEW_STAGE_DASHBOARD),
    NavItem("kpis", "/kpis", Action.EXPLORE_KPI_CATALOG),
    NavItem("customers", "/customers", Action.VIEW_CUSTOMER_AGGREGATES),
    NavItem("marketing", "/marketing", Action.VIEW_MARKETING),
    NavItem("experiments", "/experiments", Action.VIEW_EXPERIMENTS),
    NavItem("workspace", "/workspace/sql", Action.RUN_ADHOC_SQL),
    NavItem("audiences", "/audiences", Action.MANAGE_AUDIENCES),
    NavItem(
        "audience_requests",
        "/audiences/requests",
        Action.REQUEST_AUDIENCES,
        hidden_for=Action.MANAGE_AUDIENCES,  # the audiences pages' tabs lead there
    ),
    NavItem("status", "/status", Action.VIEW_DATA_STATUS),
    NavItem("api_docs", "/api/docs", Action.VIEW_API_DOCS),
    NavItem("users", "/admin/users", Action.MANAGE_USERS),
    NavItem("audit", "/admin/audit", Action.VIEW_AUDIT_LOG),
)

#: The menu entry each role lands on after signing in and at `/` (DESIGN §1: executives
#: manage the scorecard, team leads their stages, members their own KPIs). Change a
#: role's first page here, nowhere else; a test checks each role may open its own.
LANDING_PAGES: Mapping[Role, str] = MappingProxyType(
    {
        Role.EXECUTIVE: "scorecard",
        Role.TEAM_LEAD: "stages",
        Role.MEMBER: "my_kpis",
        Role.ANALYST: "kpis",
        Role.ADMIN: "kpis",
        Role.BU_USER: "scorecard",
    }
)


def navigation_for(principal: Principal | None) -> tuple[NavItem, ...]:
    """The menu entries `principal` may open (none before sign-in)."""
    if principal is None:
        return ()
    return tuple(
        item
        for item in NAV_ITEMS
        if principal.may(item.action)
        and (item.hidden_for is None or not principal.may(item.hidden_for))
    )


def nav_item(key: str) -> NavItem:
    """The menu entry called `key`."""
    return next(item for item in NAV_ITEMS if item.key == key)


def landing_page(role: UserRole) -> NavItem:
    """The page `role` lands on: `/scorecard` for executives, `/my-kpis` for members."""
    return nav_item(LANDING_PAGES[role.role])


def current_item(path: str, items: tuple[NavItem, ...] = NAV_ITEMS) -> NavItem | None:
    """The entry of `items` (a menu) for `path` (the longest matching prefix), for
    aria-current: a page whose own entry the menu hides marks the entry it sits under."""
    matches = [item for item in items if path == item.path or path.startswith(item.path + "/")]
    return max(matches, key=lambda item: len(item.path), default=None)
