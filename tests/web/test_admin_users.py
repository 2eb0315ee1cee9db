"""The admin pages for users: each change works, is audited with the admin as actor, is
refused to other roles (403) and without the form's CSRF token; a reset password makes
the user choose their own at the next sign-in; a disabled or revoked session is signed
out at its next request."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Action, AppStateStore, get_user, list_users, parse_role
from omnikpi.auth.audit import Actor, AuditEntry, AuditEvent, audit_entries
from omnikpi.auth.sessions import list_sessions
from omnikpi.auth.users import create_user
from omnikpi.services.users import create_token, set_single_session_setting
from tests.web.conftest import (
    NOW,
    csrf_cookie_token,
    csrf_from,
    session_client,
    sign_in,
)

PASSWORD = "a long enough password"


@pytest.fixture
def store(web_app: FastAPI) -> AppStateStore:
    state: AppStateStore = web_app.state.context.store
    return state


@pytest.fixture
def admin(web_app: FastAPI) -> Iterator[TestClient]:
    with session_client(web_app, "admin") as client:
        yield client


def user_named(store: AppStateStore, name: str, role: str = "analyst") -> str:
    """A fresh user for one test (the app's store is shared by the tests of a worker)."""
    create_user(store, name, PASSWORD, parse_role(role), check_strength=False, now=NOW)
    return name


def post(app: FastAPI, client: TestClient, path: str, **form: str) -> tuple[int, str]:
    form["csrf_token"] = csrf_cookie_token(app, client)
    response = client.post(path, data=form)
    return response.status_code, response.text


def usernames(store: AppStateStore) -> list[str]:
    return [user.username for user in list_users(store)]


def audited(store: AppStateStore, event: AuditEvent, subject: str) -> list[AuditEntry]:
    return [e for e in audit_entries(store, event=event, limit=None) if e.subject == subject]


def test_the_list_shows_every_user_and_the_menu_leads_to_it(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    user_named(store, "list_shown", "member:logistics")
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert 'href="/admin/users"' in page.text  # the menu entry
    assert 'href="/admin/users/list_shown"' in page.text
    assert "Team member · Logistics" in page.text or "팀원 · 물류" in page.text


def test_adding_a_user_shows_a_temporary_password_once_and_is_audited(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    status, html = post(
        web_app, admin, "/admin/users",
        change="add", username="added_bu", role="bu_user", business_unit="Fashion",
    )  # fmt: skip
    assert status == 200
    shown = re.search(r'<code class="code">([a-z0-9-]+)</code>', html)
    assert shown is not None
    user = get_user(store, "added_bu")
    assert (str(user.role), user.business_unit, user.password_temporary) == (
        "bu_user",
        "Fashion",
        True,
    )
    [entry] = audited(store, AuditEvent.USER_ADDED, "added_bu")
    assert (entry.username, entry.actor_role) == ("admin", "admin")
    assert entry.address is not None
    assert shown.group(1) not in entry.detail
    assert shown.group(1) not in admin.get("/admin/users/added_bu").text  # shown once


def test_a_refused_addition_says_why_and_adds_nobody(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    admin.cookies.set("omnikpi_locale", "en")
    status, html = post(
        web_app, admin, "/admin/users", change="add", username="no_unit", role="bu_user"
    )
    assert status == 400
    assert "A business-unit user belongs to one business unit" in html
    assert 'value="no_unit"' in html  # the form keeps what was typed
    assert "no_unit" not in usernames(store)


def test_role_and_business_unit_changes_are_audited(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "role_change")
    path = f"/admin/users/{name}"
    assert (
        post(web_app, admin, path, change="role", role="bu_user", business_unit="Beauty")[0] == 200
    )
    assert post(web_app, admin, path, change="role", role="bu_user", business_unit="Home")[0] == 200
    user = get_user(store, name)
    assert (str(user.role), user.business_unit) == ("bu_user", "Home")
    [role] = audited(store, AuditEvent.ROLE_CHANGED, name)
    assert role.detail == "role analyst → bu_user (Beauty)"
    [unit] = audited(store, AuditEvent.BUSINESS_UNIT_CHANGED, name)
    assert unit.detail == "business unit Beauty → Home"
    assert post(web_app, admin, path, change="role", role="executive", business_unit="X")[0] == 400
    assert get_user(store, name).role == parse_role("bu_user")


def test_a_disabled_user_is_signed_out_at_the_next_request(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "to_disable")
    with session_client(web_app, name) as victim:
        assert victim.get("/kpis").status_code == 200
        status, html = post(web_app, admin, f"/admin/users/{name}", change="disable")
        assert status == 200
        assert 'id="user-status"' in html
        page = victim.get("/kpis")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
    assert not get_user(store, name).active
    assert audited(store, AuditEvent.USER_DISABLED, name)[0].username == "admin"
    assert post(web_app, admin, f"/admin/users/{name}", change="enable")[0] == 200
    assert get_user(store, name).active
    assert len(audited(store, AuditEvent.USER_ENABLED, name)) == 1


def test_an_admin_cannot_disable_their_own_account(web_app: FastAPI, admin: TestClient) -> None:
    status, _ = post(web_app, admin, "/admin/users/admin", change="disable")
    assert status == 400
    assert admin.get("/admin/users").status_code == 200  # still signed in


def test_a_reset_password_is_replaced_by_the_users_own_at_sign_in(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "forgot_it")
    status, html = post(web_app, admin, f"/admin/users/{name}", change="reset_password")
    assert status == 200
    found = re.search(r'<code class="code">([a-z0-9-]+)</code>', html)
    assert found is not None
    temporary = found.group(1)
    assert audited(store, AuditEvent.PASSWORD_RESET, name)[0].username == "admin"

    with TestClient(web_app, follow_redirects=False) as browser:
        token = csrf_from(browser.get("/login").text)
        form = {"username": name, "password": temporary, "csrf_token": token, "next": "/"}
        asked = browser.post("/login", data=form)
        assert asked.status_code == 200  # no session yet: choose a password first
        assert "omnikpi_session" not in asked.cookies
        assert browser.get("/kpis").status_code == 303
        ticket = re.search(r'name="ticket" value="([^"]+)"', asked.text)
        assert ticket is not None
        choose = {
            "ticket": ticket.group(1),
            "password": "my very own password",
            "repeated": "my very own password",
            "csrf_token": csrf_from(asked.text),
            "next": "/",
        }
        differ = browser.post("/login/password", data={**choose, "repeated": "something else"})
        assert differ.status_code == 400
        done = browser.post("/login/password", data=choose)
        assert done.status_code == 303
        assert browser.get("/kpis").status_code == 200
        again = browser.post(
            "/login/password", data={**choose, "csrf_token": csrf_cookie_token(web_app, browser)}
        )
        assert again.status_code == 400  # the form works once
    assert not get_user(store, name).password_temporary
    with TestClient(web_app, follow_redirects=False) as other:
        sign_in(other, name, "my very own password")


def test_sessions_are_listed_with_their_address_and_revoked(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "two_browsers")
    with session_client(web_app, name) as first, session_client(web_app, name) as second:
        assert first.get("/home").status_code == 200
        assert second.get("/home").status_code == 200
        page = admin.get(f"/admin/users/{name}")
        assert page.text.count('name="session_id"') == 2
        assert "testclient" in page.text  # the address each was last used from
        sessions = list_sessions(store, name, now=NOW)
        first_id = next(s.session_id for s in sessions if s.last_seen_at)
        status, _ = post(
            web_app, admin, f"/admin/users/{name}", change="revoke_session", session_id=first_id
        )
        assert status == 200
        answers = sorted([first.get("/home").status_code, second.get("/home").status_code])
        assert answers == [200, 303]  # one signed out, the other still in
    [entry] = audited(store, AuditEvent.SESSION_REVOKED, name)
    assert first_id[:12] in entry.detail


def test_tokens_are_listed_and_revoked(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "has_token")
    record, secret = create_token(
        store, Actor.cli(), name, "nightly export", frozenset({Action.READ_KPIS}), now=NOW
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    with TestClient(web_app) as script:
        assert script.get("/api/v1/kpis", headers=bearer).status_code == 200
        assert "nightly export" in admin.get(f"/admin/users/{name}").text
        status, _ = post(
            web_app, admin, f"/admin/users/{name}",
            change="revoke_token", token_id=str(record.token_id),
        )  # fmt: skip
        assert status == 200
        assert script.get("/api/v1/kpis", headers=bearer).status_code == 401
    [entry] = audited(store, AuditEvent.TOKEN_REVOKED, name)
    assert entry.username == "admin"


def test_single_session_signs_the_earlier_browser_out(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "one_at_a_time")
    assert (
        post(web_app, admin, "/admin/users", change="single_session", single_session="on")[0] == 200
    )
    try:
        with TestClient(web_app, follow_redirects=False) as first:
            sign_in(first, name, PASSWORD)
            assert first.get("/home").status_code == 200
            with TestClient(web_app, follow_redirects=False) as second:
                sign_in(second, name, PASSWORD)
                assert second.get("/home").status_code == 200
                assert first.get("/home").status_code == 303
    finally:
        set_single_session_setting(store, Actor.cli(), False)


@pytest.mark.parametrize("username", ["lead", "analyst", "bu_user", "member_cs_agent"])
def test_other_roles_are_refused_and_change_nothing(
    web_app: FastAPI, store: AppStateStore, username: str
) -> None:
    name = user_named(store, f"untouched_{username}")
    with session_client(web_app, username) as client:
        assert client.get("/admin/users").status_code == 403
        assert client.get(f"/admin/users/{name}").status_code == 403
        assert post(web_app, client, f"/admin/users/{name}", change="disable")[0] == 403
        status, _ = post(web_app, client, "/admin/users", username="sneaky", role="admin")
        assert status == 403
    assert get_user(store, name).active
    assert "sneaky" not in usernames(store)


def test_changes_need_the_forms_csrf_token(
    web_app: FastAPI, admin: TestClient, store: AppStateStore
) -> None:
    name = user_named(store, "csrf_target")
    refused = admin.post(f"/admin/users/{name}", data={"change": "disable"})
    assert refused.status_code == 403
    forged = admin.post(f"/admin/users/{name}", data={"change": "disable", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert get_user(store, name).active
    assert audited(store, AuditEvent.USER_DISABLED, name) == []
