"""Every route, as every role, answers as the permission table says.

The routes are read from the app and the expected answers from `omnikpi.auth.PERMISSIONS`,
so a new route is covered the moment it exists: signed out, or signed in as a user
disabled since → the login page (pages) or 401 (API); allowed → 200; not allowed → 403.
Public routes never answer 401 or 403. A route that declares no action of the table
fails here before it can be called; a path parameter without a value in PATH_VALUES too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from omnikpi.auth import (
    ALL_ROLES,
    PERMISSIONS,
    Action,
    AppStateStore,
    Role,
    UserRole,
    create_api_token,
    create_user,
    disable_user,
    is_allowed,
    parse_role,
)
from omnikpi.auth.audit import Actor
from omnikpi.services.audience_requests import file_request
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from omnikpi.web.navigation import NAV_ITEMS, landing_page
from omnikpi.web.security import declared_permission
from tests.web.conftest import (
    LOGIN_BY_ROLE,
    NOW,
    csrf_cookie_token,
    fixed_now,
    session_client,
)

#: A value for each path parameter a route may have (add one with each new parameter).
#: `revenue` is a CxO KPI, which every role's tiers include (members and BU users too).
#: `analyst` is a demo user; the admin's form below gives them the role they have.
#: `C00000001` is the simulated retailer's first customer (the customer 360 page).
#: `EXP-CHECKOUT-1` is the simulated retailer's A/B test (the experiment readout).
#: `win-back-e-mail` is the audience `omnikpi demo` saves and builds; `request_id` is
#: filled in by the `audience_request` fixture (a request of the demo BU user's unit).
PATH_VALUES: dict[str, str] = {
    "kpi_id": "revenue",
    "username": "analyst",
    "customer_id": "C00000001",
    "experiment_id": "EXP-CHECKOUT-1",
    "audience_id": "win-back-e-mail",
}
#: The builder's form without `do=save`: previewed, not saved (the warehouse is shared).
_RULE_FORM = {
    "name": "Route check",
    "channel": "email",
    "field_1": "orders",
    "op_1": ">=",
    "value_1": "1",
}
#: Form fields for the routes that take a form.
FORMS: dict[str, dict[str, str]] = {
    "/login": {"username": "nobody", "password": "wrong password", "next": "/"},
    "/language": {"locale": "en", "next": "/"},
    "/logout": {},
    # Without confirm=yes the forget only asks to confirm: the shared warehouse is untouched.
    "/admin/customers/forget": {"customer_id": "route-check", "reason": "route check"},
    "/admin/users": {"change": "add", "username": "route_check", "role": "analyst"},
    "/admin/users/{username}": {"change": "role", "role": "analyst"},
    "/workspace/sql": {"sql": "SELECT 1 AS route_check"},
    "/workspace/sql.csv": {"sql": "SELECT 1 AS route_check"},
    "/audiences/new": _RULE_FORM,
    "/audiences/preview": _RULE_FORM,
    # Without confirm=yes the build only says what it would build.
    "/audiences/{audience_id}/build": {},
    "/audiences/{audience_id}/export": {"purpose": "route check", "group": "holdout"},
    "/audiences/requests": {"goal": "Route check", "idea": "route check"},
    "/audiences/requests/{request_id}/attach": {"audience_id": "win-back-e-mail"},
}
#: Query strings that keep pages on the simulated period.
QUERIES: dict[str, str] = {"/status": "?start=2025-12-01&end=2025-12-31"}
#: An admin disabled after signing in: every protected route treats them as signed out.
DISABLED = "disabled_admin"


@pytest.fixture(scope="module")
def disabled_login(web_app: FastAPI) -> str:
    """The name of a disabled admin. `session_client` starts their session in the store
    after they were disabled, so only the session lookup can refuse it."""
    store = web_app.state.context.store
    create_user(
        store,
        DISABLED,
        "a long enough password",
        parse_role("admin"),
        check_strength=False,
        now=NOW,
    )
    disable_user(store, DISABLED, now=NOW)
    return DISABLED


@pytest.fixture(scope="module")
def audience_request(web_app: FastAPI) -> str:
    """A request filed by the demo business-unit user (whose unit may follow it)."""
    actor = Actor(LOGIN_BY_ROLE[UserRole(Role.BU_USER)], UserRole(Role.BU_USER), None)
    filed = file_request(web_app.state.context.store, actor, goal="Route check", idea="all")
    PATH_VALUES["request_id"] = str(filed.request_id)
    return PATH_VALUES["request_id"]


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
    if role is None:  # signed out, or disabled since signing in
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


def test_every_route_declares_an_action_of_the_permission_table(web_app: FastAPI) -> None:
    """A page, API route or export added without `openapi_extra=requires(...)`, or with an
    action the table has no line for, is named here."""
    missing = []
    for path, route in api_routes(web_app):
        try:
            action = declared_permission(route)
        except LookupError as exc:
            missing.append(str(exc))
            continue
        if action is not None and action not in PERMISSIONS:
            missing.append(f"route {path} needs {action}, which PERMISSIONS does not list")
    assert missing == []


def test_every_route_answers_every_role_as_the_permission_table_says(
    web_app: FastAPI, disabled_login: str, audience_request: str
) -> None:
    failures = []
    # (who, their role as the table sees it: None for signed out or disabled)
    callers: list[tuple[str | None, UserRole | None]] = [
        (None, None),
        (disabled_login, None),
        *((LOGIN_BY_ROLE[role], role) for role in ALL_ROLES),
    ]
    for endpoint in endpoints(web_app):
        for username, role in callers:
            status, headers, _ = call(web_app, endpoint, username)
            problem = check(endpoint, role, status, headers)
            if problem:
                failures.append(
                    f"{endpoint.method} {endpoint.path} as {username or 'nobody'} "
                    f"({role or 'signed out'}): {problem}"
                )
    assert failures == []


def test_a_user_disabled_after_signing_in_is_refused_at_the_next_request(
    web_app: FastAPI,
) -> None:
    """The session cookie and the API token still verify; the user behind them is not
    active, so the page asks to sign in and the API answers 401."""
    store = web_app.state.context.store
    name = "disabled_mid_session"
    create_user(
        store, name, "a long enough password", parse_role("analyst"), check_strength=False, now=NOW
    )
    _, token = create_api_token(store, name, "script", frozenset({Action.READ_KPIS}), now=NOW)
    bearer = {"Authorization": f"Bearer {token}"}
    with session_client(web_app, name) as browser:
        assert browser.get("/kpis").status_code == 200
        assert browser.get("/api/v1/kpis", headers=bearer).status_code == 200
        disable_user(store, name, now=NOW)
        page = browser.get("/kpis")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
        api = browser.get("/api/v1/kpis", headers=bearer)
        assert api.status_code == 401
        assert "revenue" not in api.text


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
