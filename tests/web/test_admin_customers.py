"""`/admin/customers`: admins forget a customer on request (asked to confirm, CSRF
protected, audited as themselves); every other role gets 403 and changes nothing."""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import ALL_ROLES, AppStateStore, Role, UserRole, audit_entries, create_demo_users
from omnikpi.auth.audit import AuditEvent
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.web import create_app
from omnikpi.web.security import LOCALE_COOKIE
from tests.services.forget_data import CUSTOMER_ID, build_forget_warehouse
from tests.web.conftest import LOGIN_BY_ROLE, csrf_cookie_token, fixed_now, session_client

ADMIN = LOGIN_BY_ROLE[UserRole(Role.ADMIN)]
FORGET = "/admin/customers/forget"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forget-web")
    return build_forget_warehouse(folder / "shop.duckdb", rollups=False)


def make_app(template: Path, folder: Path) -> FastAPI:
    shop = Path(shutil.copy(template, folder / "shop.duckdb"))
    store = AppStateStore.open(folder / "state.sqlite")
    create_demo_users(store)
    return create_app(load_settings(warehouse=shop), store=store, now=fixed_now)


@pytest.fixture
def app(template: Path, tmp_path: Path) -> FastAPI:
    """An app of its own for a test that forgets."""
    return make_app(template, tmp_path)


@pytest.fixture(scope="module")
def refusing_app(template: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """One app for the tests in which nothing may change."""
    return make_app(template, tmp_path_factory.mktemp("refusing"))


@pytest.fixture
def admin(app: FastAPI) -> Iterator[TestClient]:
    with session_client(app, ADMIN) as client:
        client.cookies.set(LOCALE_COOKIE, "en")
        yield client


def orders_of(app: FastAPI, customer_id: str) -> int:
    with Warehouse.open(app.state.context.settings.warehouse, read_only=True) as warehouse:
        sql = "SELECT count(*) FROM orders WHERE customer_id = $c"
        return int(warehouse.fetch_value(sql, {"c": customer_id}))


def forgotten(app: FastAPI) -> list[object]:
    return audit_entries(app.state.context.store, event=AuditEvent.CUSTOMER_FORGOTTEN)


def submit(app: FastAPI, client: TestClient, **form: str) -> tuple[int, str]:
    data = {"csrf_token": csrf_cookie_token(app, client), **form}
    response = client.post(FORGET, data=data)
    return response.status_code, html.unescape(response.text)


def test_an_admin_confirms_then_forgets_and_is_audited(app: FastAPI, admin: TestClient) -> None:
    page = admin.get("/admin/customers")
    assert page.status_code == 200
    assert '<h1 id="forget-title">Forget a customer</h1>' in page.text

    status, text = submit(app, admin, customer_id=CUSTOMER_ID, reason="request #88")
    assert status == 200
    assert "This cannot be undone" in text
    assert 'name="confirm" value="yes"' in text
    assert orders_of(app, CUSTOMER_ID) == 4  # asking changed nothing
    assert forgotten(app) == []

    status, text = submit(app, admin, customer_id=CUSTOMER_ID, reason="request #88", confirm="yes")
    assert status == 200
    assert orders_of(app, CUSTOMER_ID) == 0
    [entry] = forgotten(app)
    assert (entry.username, entry.actor_role, entry.purpose) == (ADMIN, "admin", "request #88")
    assert f"rows now refer to tombstone {entry.subject}." in text
    assert orders_of(app, str(entry.subject)) == 4
    assert 'id="forget-rows"' in text

    status, text = submit(app, admin, customer_id=CUSTOMER_ID, confirm="yes")
    assert status == 200
    assert f"already forgotten (tombstone {entry.subject}); nothing changed" in text
    assert len(forgotten(app)) == 1


def test_an_unknown_customer_is_named_with_404(app: FastAPI, admin: TestClient) -> None:
    status, text = submit(app, admin, customer_id="nobody-42", confirm="yes")
    assert status == 404
    assert 'customer "nobody-42" is not in the warehouse' in text
    assert forgotten(app) == []


def test_a_form_without_the_csrf_token_is_refused(refusing_app: FastAPI) -> None:
    app = refusing_app
    with session_client(app, ADMIN) as admin:
        response = admin.post(FORGET, data={"customer_id": CUSTOMER_ID, "confirm": "yes"})
    assert response.status_code == 403
    assert orders_of(app, CUSTOMER_ID) == 4
    assert forgotten(app) == []


@pytest.mark.parametrize(
    "role", [r for r in ALL_ROLES if r.role is not Role.ADMIN and r in LOGIN_BY_ROLE], ids=str
)
def test_other_roles_get_403_and_change_nothing(refusing_app: FastAPI, role: UserRole) -> None:
    app = refusing_app
    with session_client(app, LOGIN_BY_ROLE[role]) as client:
        assert client.get("/admin/customers").status_code == 403
        status, _ = submit(app, client, customer_id=CUSTOMER_ID, confirm="yes")
    assert status == 403
    assert orders_of(app, CUSTOMER_ID) == 4
    assert forgotten(app) == []


def test_the_page_speaks_korean(refusing_app: FastAPI) -> None:
    with session_client(refusing_app, ADMIN) as client:
        client.cookies.set(LOCALE_COOKIE, "ko")
        page = client.get("/admin/customers")
    assert "고객 정보 삭제(잊힐 권리)" in page.text
