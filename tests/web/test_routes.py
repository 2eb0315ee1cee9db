"""Every route, as every role, answers as the permission table says.

The routes are read from the app and the expected answers from `omnikpi.auth.PERMISSIONS`,
so a new route is covered the moment it exists: signed out → the login page (pages) or
401 (API); allowed → 200; not allowed → 403. Public routes never answer 401 or 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from omnikpi.auth import ALL_ROLES, Action, AppStateStore, UserRole, is_allowed
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from omnikpi.web.navigation import NAV_ITEMS, landing_page
from omnikpi.web.security import declared_permission
from tests.web.conftest import LOGIN_BY_ROLE, csrf_cookie_token, fixed_now, session_client

#: A value for each path parameter a route may have (add one with each new parameter).
#: `revenue` is a CxO KPI, which every role's tiers include (members and BU users too).
PATH_VALUES: dict[str, str] = {"kpi_id": "revenue"}
#: Form fields for the routes that take a form.
FORMS: dict[str, dict[str, str]] = {
    "/login": {"username": "nobody", "password": "wrong password", "next": "/"},
    "/language": {"locale": "en", "next": "/"},
    "/logout": {},
    # Without confirm=yes the forget only asks to confirm: the shared warehouse is untouched.
    "/admin/customers/forget": {"customer_id": "route-check", "reason": "route check"},
}
#: Query strings that keep pages on the simulated period.
QUERIES: dict[str, str] = {"/status": "?start=2025-12-01&end=2025-12-31"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    action: Action | None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/v1")

    def url(self) -> str:
        path = self.path
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"add a value for the path parameters of {self.path} to PATH_VALUES"
        return path + QUERIES.get(self.path, "")


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every route, also inside included routers."""
    try:  # FastAPI >= 0.16x keeps included routers as nodes of their own
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI copies routes into app.routes
        return [(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found.append((context.path or route.path, route))
    return found


def endpoints(app: FastAPI) -> list[Endpoint]:
    found = [
        Endpoint(method, path, declared_permission(route))
        for path, route in api_routes(app)
        for method in sorted(route.methods - {"HEAD"})
    ]
    assert found, "no routes found: has FastAPI changed how it keeps them?"
    return sorted(found, key=lambda e: (e.path, e.method))


def call(app: FastAPI, endpoint: Endpoint, username: str | None) -> tuple[int, dict[str, str], str]:
    with session_client(app, username) as client:
        headers = {"X-CSRF-Token": csrf_cookie_token(app, client)}
        response = client.request(
            endpoint.method, endpoint.url(), data=FORMS.get(endpoint.path), headers=headers
        )
        return response.status_code, dict(response.headers), response.text


def check(endpoint: Endpoint, role: UserRole | None, status: int, headers: dict[str, str]) -> str:
    """What is wrong with the answer, or "" if it is what the table says."""
    content_type = headers.get("content-type", "")
    if endpoint.action is None:
        return "" if status < 500 and status not in (401, 403) else f"public route gave {status}"
    if role is None:
        if endpoint.is_api:
            ok = status == 401 and "problem+json" in content_type
            return "" if ok and headers.get("www-authenticate") == "Bearer" else f"gave {status}"
        ok = status == 303 and headers.get("location", "").startswith("/login?next=")
        return "" if ok else f"gave {status} instead of a redirect to /login"
    if is_allowed(role, endpoint.action):
        if endpoint.path == "/":  # the start redirects to the role's own page
            landing = landing_page(role).path
            ok = status == 303 and headers.get("location") == landing
            return "" if ok else f"gave {status} instead of a redirect to {landing}"
        return "" if status == 200 else f"allowed but gave {status}"
    if status != 403:
        return f"not allowed but gave {status}"
    expected = "problem+json" if endpoint.is_api else "text/html"
    return "" if expected in content_type else f"403 as {content_type}"


def test_every_route_answers_every_role_as_the_permission_table_says(web_app: FastAPI) -> None:
    failures = []
    roles: list[UserRole | None] = [None, *ALL_ROLES]
    for endpoint in endpoints(web_app):
        for role in roles:
            username = LOGIN_BY_ROLE[role] if role else None
            status, headers, _ = call(web_app, endpoint, username)
            problem = check(endpoint, role, status, headers)
            if problem:
                failures.append(
                    f"{endpoint.method} {endpoint.path} as {role or 'nobody'}: {problem}"
                )
    assert failures == []


def test_the_table_is_not_trivial_here(web_app: FastAPI) -> None:
    """The matrix above meets allowed, denied and public routes, pages and API alike."""
    found = endpoints(web_app)
    assert {e.is_api for e in found} == {True, False}
    assert any(e.action is None for e in found)
    denied = [(e, r) for e in found if e.action for r in ALL_ROLES if not is_allowed(r, e.action)]
    assert any(e.is_api for e, _ in denied)
    assert any(not e.is_api for e, _ in denied)


def test_menu_entries_are_routes_needing_the_same_action(web_app: FastAPI) -> None:
    by_path = {e.path: e for e in endpoints(web_app) if e.method == "GET"}
    for item in NAV_ITEMS:
        assert by_path[item.path].action is item.action


def test_every_role_may_open_the_page_it_lands_on() -> None:
    for role in ALL_ROLES:
        assert is_allowed(role, landing_page(role).action), role


def test_a_route_without_a_declared_permission_is_refused(sim_path: Path, tmp_path: Path) -> None:
    app = create_app(
        load_settings(warehouse=sim_path),
        store=AppStateStore.open(tmp_path / "state.sqlite"),
        now=fixed_now,
    )

    @app.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/forgotten")
    assert response.status_code == 500
    assert "secret" not in response.text
    with pytest.raises(LookupError, match="route /forgotten declares no permission"):
        declared_permission(next(r for path, r in api_routes(app) if path == "/forgotten"))
