"""Sign-in, sessions, CSRF, bearer tokens, language and the headers that keep pages local."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import (
    SESSION_LIFETIME,
    Action,
    AppStateStore,
    create_api_token,
    create_user,
    disable_user,
    get_user,
    list_api_tokens,
    parse_role,
    revoke_api_token,
    set_role,
)
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from omnikpi.web.security import LOCALE_COOKIE, SESSION_COOKIE, safe_next
from tests.web.conftest import NOW, csrf_cookie_token, csrf_from, session_client, sign_in


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(sim_path: Path, tmp_path: Path, clock: Clock) -> FastAPI:
    """The app with its own users, so these tests can change them freely."""
    store = AppStateStore.open(tmp_path / "state.sqlite")
    create_user(store, "mina", "correct horse", parse_role("member:cs_agent"))
    create_user(store, "jun", "correct horse", parse_role("analyst"), locale="ko")
    return create_app(load_settings(warehouse=sim_path), store=store, now=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def store_of(app: FastAPI) -> AppStateStore:
    store: AppStateStore = app.state.context.store
    return store


def test_a_part_of_a_page_asked_without_a_session_gets_401_not_the_login_form(
    client: TestClient,
) -> None:
    """A breakdown loaded by htmx after the session ended: a 401 the page turns into the
    login form (app.js), never the login form swapped into the table row."""
    part = client.get("/stages/orders/channels?grain=week", headers={"HX-Request": "true"})
    assert part.status_code == 401
    assert "location" not in part.headers
    assert 'name="password"' not in part.text
    page = client.get("/stages/orders/channels?grain=week")
    assert page.status_code == 303  # the same address opened as a page: the login form


def test_sign_in_goes_where_the_user_was_heading(client: TestClient) -> None:
    first = client.get("/status?grain=week")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fstatus%3Fgrain%3Dweek"
    token = csrf_from(client.get(first.headers["location"]).text)
    response = client.post(
        "/login",
        data={"username": "mina", "password": "correct horse", "csrf_token": token,
              "next": "/status?grain=week"},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/status?grain=week"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/home").status_code == 200


def test_wrong_password_shows_the_form_again(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": "mina", "password": "wrong horse", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "username or password is wrong" in response.text or "틀렸거나" in response.text
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", ""])
def test_next_never_leaves_the_site(target: str) -> None:
    assert safe_next(target) == "/"


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    form = {"username": "mina", "password": "correct horse"}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
    other_site = client.post(
        "/login", data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert "another site" in other_site.text or "다른 사이트" in other_site.text
    assert client.post("/login", data={**form, "csrf_token": token}).status_code == 303


def test_logout_ends_the_session_on_the_server(app: FastAPI, client: TestClient) -> None:
    sign_in(client, "mina", "correct horse")
    stolen = client.cookies[SESSION_COOKIE]
    token = csrf_cookie_token(app, client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set(SESSION_COOKIE, stolen)
        assert thief.get("/home").status_code == 303


def test_sessions_expire_and_disabled_users_are_out_at_once(
    app: FastAPI, client: TestClient, clock: Clock
) -> None:
    sign_in(client, "mina", "correct horse")
    clock.now = NOW + SESSION_LIFETIME + timedelta(seconds=1)
    assert client.get("/home").status_code == 303
    clock.now = NOW
    sign_in(client, "mina", "correct horse")
    disable_user(store_of(app), "mina")
    assert client.get("/home").status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_a_forged_session_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "made-up.value.signature")
    assert client.get("/home").status_code == 303


def test_role_changes_apply_to_the_next_request(app: FastAPI) -> None:
    with session_client(app, "mina") as client:
        assert client.get("/api/docs").status_code == 403
        set_role(store_of(app), "mina", parse_role("admin"))
        assert client.get("/api/docs").status_code == 200


def test_bearer_tokens_are_scoped(app: FastAPI) -> None:
    store = store_of(app)
    _, secret = create_api_token(store, "jun", "BI", frozenset({Action.VIEW_DATA_STATUS}))
    bearer = {"Authorization": f"Bearer {secret}"}
    with TestClient(app, follow_redirects=False) as client:
        status = client.get("/api/v1/status", headers=bearer)
        assert status.status_code == 200
        assert status.json()["latest_data"] == "2025-12-31"
        denied = client.get("/api/v1/me", headers=bearer)  # the role may, the token may not
        assert denied.status_code == 403
        assert denied.json()["code"] == "forbidden"
        assert client.get("/", headers=bearer).status_code == 303  # pages take no tokens
        bad = client.get("/api/v1/status", headers={"Authorization": "Bearer okpi_wrong"})
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == "Bearer"
        revoke_api_token(store, list_api_tokens(store)[0].token_id)
        assert client.get("/api/v1/status", headers=bearer).status_code == 401


def test_language_before_and_after_sign_in(app: FastAPI, client: TestClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in page.text
    switched = client.post(
        "/language", data={"locale": "ko", "next": "/login", "csrf_token": csrf_from(page.text)}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/login"
    assert client.cookies[LOCALE_COOKIE] == "ko"
    assert '<html lang="ko">' in client.get("/login").text
    sign_in(client, "mina", "correct horse")
    assert get_user(store_of(app), "mina").locale == "ko"  # the choice moves to the user
    # jun chose Korean earlier; a fresh English browser gets Korean after sign-in
    with TestClient(app, follow_redirects=False) as other:
        other.headers["Accept-Language"] = "en"
        sign_in(other, "jun", "correct horse")
        assert '<html lang="ko">' in other.get("/home").text
        token = csrf_from(other.get("/home").text)
        other.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
        assert get_user(store_of(app), "jun").locale == "en"
        bad = other.post("/language", data={"locale": "fr", "next": "/", "csrf_token": token})
        assert bad.status_code == 400


def test_every_response_keeps_the_browser_on_this_server(app: FastAPI) -> None:
    with session_client(app, "jun") as client:
        for path in ("/login", "/", "/status", "/api/v1/me", "/api/docs", "/nowhere"):
            headers = client.get(path).headers
            policy = headers["content-security-policy"]
            assert "default-src 'self'" in policy
            assert "connect-src 'self'" in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["cache-control"] == "no-store"
        static = client.get("/static/app.css")
        assert static.status_code == 200
        assert "cache-control" not in static.headers


def test_each_role_lands_on_its_own_page(client: TestClient) -> None:
    """No `next`: a member goes to My KPIs, at sign-in (one redirect) and at `/`."""
    token = csrf_from(client.get("/login").text)
    form = {"username": "mina", "password": "correct horse", "csrf_token": token}
    response = client.post("/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/my-kpis"
    start = client.get("/")
    assert start.status_code == 303
    assert start.headers["location"] == "/my-kpis"
    assert client.get("/my-kpis").status_code == 200
