"""The main navigation: every page a role may open, in menu order."""

from __future__ import annotations

from dataclasses import dataclass

from omnikpi.auth import Action
from omnikpi.web.security import Principal


@dataclass(frozen=True)
class NavItem:
    """A menu entry: its label key (`nav.<key>`), where it goes, what it needs."""

    key: str
    path: str
    action: Action


#: The menu; each entry must match a route declaring the same action.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "/", Action.VIEW_HOME),
    NavItem("my_kpis", "/my-kpis", Action.VIEW_MY_KPIS),
    NavItem("scorecard", "/scorecard", Action.VIEW_SCORECARD),
    NavItem("stages", "/stages", Action.VIEW_STAGE_DASHBOARD),
    NavItem("kpis", "/kpis", Action.EXPLORE_KPI_CATALOG),
    NavItem("status", "/status", Action.VIEW_DATA_STATUS),
    NavItem("api_docs", "/api/docs", Action.VIEW_API_DOCS),
)


def navigation_for(principal: Principal | None) -> tuple[NavItem, ...]:
    """The menu entries `principal` may open (none before sign-in)."""
    if principal is None:
        return ()
    return tuple(item for item in NAV_ITEMS if principal.may(item.action))


def current_item(path: str) -> NavItem | None:
    """The menu entry for `path` (the longest matching prefix), for aria-current."""
    matches = [item for item in NAV_ITEMS if path == item.path or path.startswith(item.path + "/")]
    return max(matches, key=lambda item: len(item.path), default=None)
