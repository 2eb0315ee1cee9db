"""`/admin/audit`: admins read the audit log with filters, in both languages, verify its
chain and download it as CSV; every other role gets 403."""

from __future__ import annotations

import csv
import html
import io
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import (
    ALL_ROLES,
    AppStateStore,
    AuditEvent,
    Role,
    UserRole,
    create_demo_users,
    record_audit,
)
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from omnikpi.web.security import LOCALE_COOKIE
from tests.web.conftest import LOGIN_BY_ROLE, NOW, fixed_now, session_client

ADMIN = LOGIN_BY_ROLE[UserRole(Role.ADMIN)]


@pytest.fixture(scope="module")
def app(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app with an audit log of its own: three entries by two people."""
    store = AppStateStore.open(tmp_path_factory.mktemp("audit") / "state.sqlite")
    create_demo_users(store)
    for minutes, (event, who, subject, rows, purpose) in enumerate(
        [
            (AuditEvent.CUSTOMER_READ, "lee", "customer C001", 1, None),
            (AuditEvent.CUSTOMER_EXPORT, "lee", "segment lapsed_vip", 412, "=win-back mailing"),
            (AuditEvent.SIGN_IN_FAILED, "mallory", None, None, None),
        ]
    ):
        record_audit(
            store,
            event,
            "test entry",
            username=who,
            actor_role="analyst" if who == "lee" else None,
            address="10.0.0.5",
            subject=subject,
            row_count=rows,
            purpose=purpose,
            now=NOW - timedelta(days=2 - minutes),
        )
    return create_app(load_settings(warehouse=sim_path), store=store, now=fixed_now)


@pytest.fixture(scope="module")
def admin(app: FastAPI) -> Iterator[TestClient]:
    with session_client(app, ADMIN) as client:
        client.cookies.set(LOCALE_COOKIE, "en")  # pages default to Korean
        yield client


def listed_subjects(text: str) -> list[str]:
    """The 'About' cells of the entries table, in order."""
    rows = text.split('<tr data-event="')[1:]
    return [row.split("</td>")[6].rsplit(">", 1)[1] for row in rows]


def test_admins_see_the_entries_newest_first(admin: TestClient) -> None:
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    assert "<h1>Audit log</h1>" in page.text
    assert listed_subjects(page.text) == ["—", "segment lapsed_vip", "customer C001"]
    assert "=win-back mailing" in page.text
    assert '<td class="num">412</td>' in page.text
    assert "Customer data exported" in page.text


@pytest.mark.parametrize(
    ("query", "subjects"),
    [
        ("user=LEE", ["segment lapsed_vip", "customer C001"]),
        ("action=customer_export", ["segment lapsed_vip"]),
        ("since=" + (NOW - timedelta(days=1)).date().isoformat(), ["—", "segment lapsed_vip"]),
        ("user=lee&action=sign_in_failed", []),
    ],
)
def test_filters_narrow_the_entries(admin: TestClient, query: str, subjects: list[str]) -> None:
    page = admin.get(f"/admin/audit?{query}")
    assert page.status_code == 200
    assert listed_subjects(page.text) == subjects
    if not subjects:
        assert "No entries match these filters." in page.text


def test_a_bad_filter_is_named_on_the_page(admin: TestClient) -> None:
    page = admin.get("/admin/audit?since=yesterday")
    assert page.status_code == 400
    assert 'since "yesterday" is not valid (allowed: YYYY-MM-DD' in html.unescape(page.text)
    assert 'id="audit-filters"' in page.text


def test_the_page_reads_in_korean(admin: TestClient) -> None:
    admin.cookies.set(LOCALE_COOKIE, "ko")
    try:
        page = admin.get("/admin/audit")
    finally:
        admin.cookies.set(LOCALE_COOKIE, "en")
    assert "<h1>감사 로그</h1>" in page.text
    assert "고객 데이터 내보내기" in page.text


def test_the_csv_has_the_filtered_entries_with_formulas_neutralised(admin: TestClient) -> None:
    download = admin.get("/admin/audit.csv?user=lee")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="omnikpi-audit-log.csv"' in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert [row["subject"] for row in rows] == ["segment lapsed_vip", "customer C001"]
    assert rows[0]["purpose"] == "'=win-back mailing"
    assert rows[0]["row_count"] == "412"


def test_the_page_links_the_csv_with_its_filters(admin: TestClient) -> None:
    page = admin.get("/admin/audit?user=lee&action=customer_read")
    assert 'href="/admin/audit.csv?user=lee&amp;action=customer_read"' in page.text


def test_verifying_shows_an_intact_chain_then_the_edited_entry(
    app: FastAPI, admin: TestClient
) -> None:
    page = admin.get("/admin/audit?verify=1")
    assert "Chain intact: 3 entries checked." in page.text
    with sqlite3.connect(app.state.context.store.path) as connection:
        connection.execute("UPDATE audit_log SET row_count = 4 WHERE entry_id = 2")
    try:
        broken = admin.get("/admin/audit?verify=1")
        assert "Chain broken: entry 2 was changed after it was written" in broken.text
    finally:
        with sqlite3.connect(app.state.context.store.path) as connection:
            connection.execute("UPDATE audit_log SET row_count = 412 WHERE entry_id = 2")


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_every_other_role_is_refused(app: FastAPI, path: str) -> None:
    for role in ALL_ROLES:
        if role.role is Role.ADMIN:
            continue
        with session_client(app, LOGIN_BY_ROLE[role]) as client:
            response = client.get(path)
        assert response.status_code == 403, role
        assert "segment lapsed_vip" not in response.text


def test_the_menu_offers_the_audit_log_to_admins_only(app: FastAPI, admin: TestClient) -> None:
    assert 'href="/admin/audit"' in admin.get("/home").text
    analyst = LOGIN_BY_ROLE[UserRole(Role.ANALYST)]
    with session_client(app, analyst) as client:
        assert 'href="/admin/audit"' not in client.get("/home").text
