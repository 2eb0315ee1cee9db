"""What the pages and the API say, in both languages, and how errors look."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import AppStateStore, UserRole, get_user, parse_role, set_locale
from omnikpi.i18n import Locale, LocaleFormat, t
from omnikpi.kpi import load_catalog
from omnikpi.services import FilterChoices
from omnikpi.services.choices import StoreName
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.web import create_app
from omnikpi.web.app import CONTENT_SECURITY_POLICY
from omnikpi.web.labels import Labels
from omnikpi.web.rendering import TEMPLATES
from omnikpi.web.security import requires
from omnikpi.web.view_params import ViewParams, parse_view_params
from tests.web.conftest import LOGIN_BY_ROLE, fixed_now, serving, session_client

ANALYST = parse_role("analyst")
EXECUTIVE = parse_role("executive")
TODAY = date(2026, 1, 1)
DECEMBER = "/status?grain=week&start=2025-12-01&end=2025-12-31&table=orders"


def choose(app: FastAPI, username: str, locale: Locale) -> None:
    """Give `username` the language `locale`, as the language switch does."""
    store = app.state.context.store
    set_locale(store, get_user(store, username).user_id, locale)


def in_language(clients: dict[UserRole, TestClient], role: UserRole, locale: Locale) -> TestClient:
    client = clients[role]
    choose(client.app, LOGIN_BY_ROLE[role], locale)  # type: ignore[arg-type]
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_status_page_formats_numbers_and_dates_by_language(
    web_app: FastAPI, sim: Warehouse
) -> None:
    orders = sim.row_counts(["orders"])["orders"]
    with session_client(web_app, "member_logistics") as client:
        choose(web_app, "member_logistics", "en")
        english = text_of(client.get(DECEMBER).text)
        choose(web_app, "member_logistics", "ko")
        korean = text_of(client.get(DECEMBER).text)
    assert "Data status" in english
    assert "데이터 현황" in korean
    assert f"{orders:,}" in english
    assert f"{orders:,}" in korean
    assert "Dec 31, 2025" in english
    assert "2025. 12. 31." in korean
    assert "Week of Dec 1, 2025" in english
    assert "2025년 12월 1일 시작 주" in korean
    assert "data was written by the simulator (omnikpi demo)" in english  # no loads
    assert "시뮬레이터(omnikpi demo)가 만들었습니다" in korean
    assert "1 day ago" in english
    assert "1일 전" in korean


def test_status_page_offers_the_period_picker_with_the_view_selected(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    html = in_language(signed_in_clients, ANALYST, "en").get(DECEMBER).text
    assert '<option value="week" selected>' in html
    assert 'name="start" type="date" value="2025-12-01"' in html
    assert 'hx-push-url="true"' in html
    assert re.search(r'<div class="chart" data-chart=\'\{[^\']*"labels"', html)


def test_home_says_who_you_are_and_what_you_can_open(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    executive = text_of(in_language(signed_in_clients, EXECUTIVE, "en").get("/home").text)
    assert "Hello, executive" in executive
    assert "Your role: Executive" in executive
    assert "Data up to December 31, 2025" in executive
    assert "You start on Scorecard after signing in." in executive
    assert "API" not in executive.split("What you can open")[1]
    analyst = text_of(in_language(signed_in_clients, ANALYST, "ko").get("/home").text)
    assert "내 역할: 분석가" in analyst
    assert "API 문서" not in analyst
    assert "도구와 스크립트에서 쓰는 JSON API" in analyst


def test_api_errors_are_json_problems_in_the_callers_language(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    executive = in_language(signed_in_clients, EXECUTIVE, "en")
    denied = executive.get("/api/v1/openapi.json")
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    body = denied.json()
    assert body["title"] == "Access denied"
    assert body["detail"].startswith("As Executive, you may not read the API documentation")
    missing = executive.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    choose(executive.app, "executive", "ko")  # type: ignore[arg-type]
    assert executive.get("/api/v1/nothing-here").json()["title"] == "페이지를 찾을 수 없음"


def test_bad_view_values_get_a_translated_400(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    client = in_language(signed_in_clients, ANALYST, "en")
    page = client.get("/status?grain=fortnight")
    assert page.status_code == 400
    assert "grain “fortnight” cannot be used. Allowed: day, week, month, quarter, year" in page.text
    table = in_language(signed_in_clients, ANALYST, "ko").get("/status?table=secrets")
    assert table.status_code == 400
    assert "table 값 “secrets”은(는) 쓸 수 없습니다" in table.text


def test_openapi_documents_the_permission_of_each_endpoint(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    spec = signed_in_clients[ANALYST].get("/api/v1/openapi.json").json()
    status = spec["paths"]["/api/v1/status"]["get"]
    assert status["x-omnikpi-permission"] == "view_data_status"
    assert set(status["responses"]) >= {"200", "401", "403"}
    assert "/login" not in spec["paths"]  # pages are not part of the API


#: The headers every response carries, error pages and problems included (`web/app.py`).
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.fixture(scope="module")
def failing_app(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app with a page and an API route that fail with an unexpected exception."""
    store = AppStateStore.open(tmp_path_factory.mktemp("failing") / "state.sqlite")
    app = create_app(load_settings(warehouse=sim_path), store=store, now=fixed_now)

    @app.get("/test-only/fails", openapi_extra=requires(None))
    def failing_page() -> None:
        raise RuntimeError("internal detail /srv/secret.conf")

    @app.get("/api/v1/test-only/fails", openapi_extra=requires(None))
    def failing_endpoint() -> None:
        raise RuntimeError("internal detail /srv/secret.conf")

    return app


def raw_get(connection: HTTPConnection, path: str) -> tuple[int, dict[str, str], str]:
    """GET `path` exactly as written (no client normalises `..` away) on a kept connection:
    the status, the headers (lower-case names) and the body."""
    connection.request("GET", path, headers={"Cookie": "omnikpi_locale=en"})
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    return response.status, {name.lower(): value for name, value in response.getheaders()}, body


def test_errors_keep_the_security_headers_and_the_connection_and_show_nothing_internal(
    failing_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with serving(failing_app) as url, caplog.at_level(logging.ERROR, logger="omnikpi.web"):
        connection = HTTPConnection(urlsplit(url).netloc, timeout=30)
        traversal = raw_get(connection, "/static/../../etc/passwd")
        kept = connection.sock
        encoded = raw_get(connection, "/static/..%2f..%2f..%2fetc%2fpasswd")
        page = raw_get(connection, "/test-only/fails")
        api = raw_get(connection, "/api/v1/test-only/fails")
        # Every answer came on the one connection: none was dropped after an error.
        assert raw_get(connection, "/login")[0] == 200
        assert connection.sock is kept
        connection.close()
    for status, headers, body in (traversal, encoded, page, api):
        assert SECURITY_HEADERS.items() <= headers.items(), (status, headers)
        assert "root:" not in body
        assert "secret.conf" not in body
    assert (traversal[0], encoded[0]) == (404, 404)
    assert "Page not found" in traversal[2]
    assert page[0] == 500
    assert page[1]["content-type"].startswith("text/html")
    assert "Something went wrong" in page[2]
    assert page[1]["cache-control"] == api[1]["cache-control"] == "no-store"
    problem = json.loads(api[2])
    assert (api[0], problem["status"], problem["code"]) == (500, 500, "internal")
    assert api[1]["content-type"] == "application/problem+json"
    # The exception itself is in the log, for the people who run the app.
    logged = [r for r in caplog.records if r.exc_info and "secret.conf" in str(r.exc_info[1])]
    assert len(logged) == 2


def korean_view_form(view: ViewParams, choices: FilterChoices, labels: Labels) -> str:
    """The shared view form as a Korean page renders it."""
    return TEMPLATES.env.from_string(
        '{% from "macros/view.html" import view_form %}'
        '{{ view_form(t, view, choices, "/x", fmt, labels) }}'
    ).render(
        t=lambda key, **params: t(key, "ko", **params),
        view=view,
        choices=choices,
        fmt=LocaleFormat("ko", "KRW", "Asia/Seoul"),
        labels=labels,
    )


def test_the_shared_view_form_offers_every_filter_with_the_view_selected() -> None:
    choices = FilterChoices(
        stores=(("S001", StoreName("Myeongdong Flagship")),),
        regions=("Busan", "Seoul"),
        channels=("app", "web"),
    )
    query = {"channel": "app", "store": "S001", "region": "Seoul", "member": "member"}
    view = parse_view_params(query, role=parse_role("team_lead").role, today=TODAY)
    form = korean_view_form(view, choices, Labels("ko", load_catalog(), dict(choices.stores)))
    for label in ("단위", "시작", "종료", "비교 기준", "채널", "매장", "지역", "고객", "적용"):
        assert f">{label}</label>" in form or f">{label}</button>" in form
    assert '<option value="app" selected>앱</option>' in form
    assert '<option value="S001" selected>Myeongdong Flagship</option>' in form
    assert '<option value="Seoul" selected>서울</option>' in form
    assert '<option value="member" selected>회원</option>' in form
    assert '<option value="week" selected>주</option>' in form


def test_status_page_says_when_kpi_rollups_wait_for_a_refresh_or_it_failed(
    sim_path: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import shutil

    from omnikpi.kpi.rollup_store import record_refresh_failure
    from tests.web.conftest import worker_store

    path = tmp_path / "w.duckdb"
    shutil.copy(sim_path, path)
    app = create_app(
        load_settings(warehouse=path), store=worker_store(tmp_path_factory), now=fixed_now
    )
    client = session_client(app, LOGIN_BY_ROLE[ANALYST])
    assert 'id="refresh-' not in client.get("/status").text
    with Warehouse.open(path) as warehouse:
        warehouse.mark_changed({"orders": date(2025, 12, 30)}, "b1")
    pending = client.get("/status").text
    assert 'id="refresh-pending"' in pending
    # The analyst reads Korean.
    assert "KPI 롤업을 새로 고친 뒤 orders이(가) 바뀌었습니다" in pending
    with Warehouse.open(path) as warehouse:
        record_refresh_failure(warehouse, ["orders"], "year 0 is out of range")
    failed = client.get("/status").text
    assert 'id="refresh-failure"' in failed
    assert "orders의 KPI 롤업을 새로 고치지 못했습니다" in failed
    assert "(year 0 is out of range)" in failed
    assert "omnikpi kpi refresh" in failed
