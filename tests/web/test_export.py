"""Downloads from the pages: each dashboard as CSV and Excel with the page's permission, view
and cards, in the user's language; each KPI's trend and breakdown as CSVs for people with
names that say what they hold."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import expect

from omnikpi.auth import Action, UserRole, is_allowed, parse_role
from omnikpi.i18n import Locale
from omnikpi.kpi import load_catalog
from tests.services.xlsx import read_xlsx
from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in, switch_language
from tests.web.conftest import LOGIN_BY_ROLE
from tests.web.test_pages import choose

CATALOG = load_catalog()
EXECUTIVE = parse_role("executive")
LEAD = parse_role("team_lead")
ANALYST = parse_role("analyst")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Each dashboard page, its download and the action both need.
DASHBOARDS = [
    ("/scorecard", "/scorecard/export", Action.VIEW_SCORECARD),
    ("/stages", "/stages/export", Action.VIEW_STAGE_DASHBOARD),
    ("/my-kpis", "/my-kpis/export", Action.VIEW_MY_KPIS),
]
#: The last whole week of the simulated year, for one store.
STORE_WEEK = "grain=week&start=2025-09-29&end=2025-12-28&store=S001"


def client_in(clients: dict[UserRole, TestClient], role: UserRole, locale: Locale) -> TestClient:
    client = clients[role]
    choose(client.app, LOGIN_BY_ROLE[role], locale)  # type: ignore[arg-type]
    return client


def file_name(response: Response) -> str:
    """The file name a download is saved as."""
    disposition = response.headers["content-disposition"]
    found = re.search(r'filename="([^"]+)"', disposition)
    assert found, disposition
    return found.group(1)


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "a CSV for spreadsheets starts with a byte-order mark"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize(("page", "download", "action"), DASHBOARDS)
def test_a_dashboard_downloads_for_exactly_the_roles_that_open_it(
    kpi_clients: dict[UserRole, TestClient], page: str, download: str, action: Action
) -> None:
    answered = {}
    for role, client in kpi_clients.items():
        choose(client.app, LOGIN_BY_ROLE[role], "en")  # type: ignore[arg-type]
        expected = 200 if is_allowed(role, action) else 403
        got = client.get(f"{download}?format=csv").status_code
        assert got == client.get(page).status_code == expected, (role, got)
        answered[got] = role
    assert set(answered) == {200, 403}  # some roles may, some may not


def test_the_stage_dashboard_workbook_holds_the_cards_and_the_view_of_the_page(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = client_in(kpi_clients, LEAD, "en")
    response = client.get(f"/stages/export?{STORE_WEEK}&format=xlsx")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == XLSX
    assert file_name(response) == "omnikpi-stages-week-2025-12-22--2025-12-28-store-S001.xlsx"
    sheets = read_xlsx(response.content)
    assert list(sheets) == ["KPIs", "View"]
    assert sheets["KPIs"].frozen_header
    rows = sheets["KPIs"].records()
    # The same cards as every other interface of the dashboard service shows.
    cards = client.get(f"/api/v1/scorecard?tier=lead&{STORE_WEEK}").json()["kpis"]
    assert list(dict.fromkeys(str(r["KPI id"]) for r in rows)) == [c["kpi"] for c in cards]
    for card in cards:
        if card["shares"]:
            continue
        (row,) = [r for r in rows if r["KPI id"] == card["kpi"]]
        assert row["Value (number)"] == pytest.approx(card["value"]), card["kpi"]
        assert row["Target (number)"] == card["target"]
        assert row["Status (code)"] == card["status"]
    page = client.get(f"/stages?{STORE_WEEK}").text
    store = re.search(r'<option value="S001" selected>([^<]+)</option>', page)
    assert store
    view = {r["Setting"]: r["Value"] for r in sheets["View"].records()}
    assert view["Store"] == unescape(store.group(1))
    assert (view["Grain"], view["From"], view["To"]) == ("Week", "2025-09-29", "2025-12-28")


def test_each_dashboard_page_links_its_downloads_in_its_own_view(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = client_in(kpi_clients, LEAD, "en")
    html = client.get(f"/stages?{STORE_WEEK}&order=status").text
    query = f"{STORE_WEEK}&order=status".replace("&", "&amp;")
    assert f'href="/stages/export?{query}&amp;format=csv"' in html
    assert f'href="/stages/export?{query}&amp;format=xlsx"' in html
    assert ">Download CSV</a>" in html
    assert ">Download Excel</a>" in html
    response = client.get(f"/stages/export?{STORE_WEEK}&order=status&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert file_name(response) == "omnikpi-stages-week-2025-12-22--2025-12-28-store-S001.csv"
    rows = csv_rows(response.text)
    assert {r["View: Store"] for r in rows} != {"All stores"}
    assert {r["View: Grain"] for r in rows} == {"Week"}
    rank = {"red": 0, "amber": 1, "green": 2, "": 3}
    first_stage = [rank[r["Status (code)"]] for r in rows if r["Stage"] == rows[0]["Stage"]]
    assert first_stage == sorted(first_stage)  # off target first, as the page lists them
    member = kpi_clients[parse_role("member:cs_agent")]
    assert 'href="/my-kpis/export?format=xlsx"' in member.get("/my-kpis").text


def test_a_korean_user_downloads_the_scorecard_in_korean(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = client_in(kpi_clients, EXECUTIVE, "ko")
    try:
        response = client.get("/scorecard/export?grain=month&end=2025-12-31")
    finally:
        choose(client.app, LOGIN_BY_ROLE[EXECUTIVE], "en")  # type: ignore[arg-type]
    assert response.status_code == 200
    assert file_name(response) == "omnikpi-scorecard-month-2025-12-01--2025-12-31.csv"
    rows = csv_rows(response.text)
    assert len(rows) == 10
    for row in rows:
        assert row["KPI 이름"] == CATALOG.get(row["KPI ID"]).name.ko
        assert row["기간"] == "2025년 12월"
        assert row["보기 조건: 단위"] == "월"
    revenue = next(r for r in rows if r["KPI ID"] == "revenue")
    assert revenue["값"] == f"₩{float(revenue['값 (숫자)']):,.0f}"
    assert revenue["상태"] in {"목표 달성", "목표 근접", "목표 미달", "목표 없음", "평가 보류"}
    conversion = next(r for r in rows if r["KPI ID"] == "conversion_rate")
    assert re.fullmatch(r"[▲▼■] [+-]\d+\.\d%p", conversion["직전 기간: 변화"])


def test_an_unknown_download_format_or_layout_is_refused_with_the_choices(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = client_in(kpi_clients, EXECUTIVE, "en")
    response = client.get("/scorecard/export?format=pdf")
    assert response.status_code == 400
    assert "csv, xlsx" in unescape(response.text)
    response = client.get("/kpis/revenue/csv?layout=pretty")
    assert response.status_code == 400
    assert "rows, sheet" in unescape(response.text)


def test_the_kpi_detail_downloads_are_for_people_and_named_for_what_they_hold(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = client_in(kpi_clients, ANALYST, "en")
    view = "grain=month&start=2025-07-01&end=2025-12-31&store=S001&by=channel"
    html = client.get(f"/kpis/aov?{view}").text
    links = [unescape(link) for link in re.findall(r'href="(/kpis/aov/csv\?[^"]+)"', html)]
    assert len(links) == 2
    assert all(link.endswith("&layout=sheet") for link in links)
    trend, breakdown = (client.get(link) for link in links)
    assert file_name(trend) == "omnikpi-aov-trend-month-2025-07-01--2025-12-31-store-S001.csv"
    assert file_name(breakdown) == (
        "omnikpi-aov-by-channel-month-2025-12-01--2025-12-31-store-S001.csv"
    )
    for response, link in ((trend, links[0]), (breakdown, links[1])):
        rows = csv_rows(response.text)
        columns = list(rows[0])
        assert columns[columns.index("value") + 1] == "value_text"
        machine = list(csv.DictReader(io.StringIO(client.get(link[: -len("&layout=sheet")]).text)))
        assert len(rows) == len(machine) > 0
        for row, plain in zip(rows, machine, strict=True):
            assert {name: row[name] for name in plain} == plain  # the engine's rows, unchanged
            assert (row["view_grain"], row["view_store"], row["view_compare"]) == (
                "month",
                "S001",
                "previous",
            )
            if row["value"]:
                assert row["value_text"] == f"₩{float(row['value']):,.0f}"
    assert {r["channel_text"] for r in csv_rows(breakdown.text)} >= {"Web", "App"}


@pytest.fixture
def base_url(kpi_server: str) -> str:
    """Browser tests here open the app with targets (statuses on every row)."""
    return kpi_server


@pytest.mark.browser
def test_a_team_lead_downloads_the_stage_dashboard_as_shown_in_both_languages(
    open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"/stages?{STORE_WEEK}")
    sign_in(page, "lead")
    expect(page.get_by_role("group", name="Download this dashboard")).to_be_visible()
    shoot(page, "stages-downloads-en-1280")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Excel").click()
    assert download.value.suggested_filename == (
        "omnikpi-stages-week-2025-12-22--2025-12-28-store-S001.xlsx"
    )
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    sheets = read_xlsx(saved.read_bytes())
    shown = page.locator("tr.kpitable__row").evaluate_all("rows => rows.map(r => r.dataset.kpi)")
    assert list(dict.fromkeys(str(r["KPI id"]) for r in sheets["KPIs"].records())) == shown
    view = {r["Setting"]: r["Value"] for r in sheets["View"].records()}
    assert view["Store"] == page.locator("#view-store option:checked").inner_text()
    switch_language(page, "한국어")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV 내려받기").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    rows = csv_rows(saved.read_text(encoding="utf-8"))
    assert {r["보기 조건: 단위"] for r in rows} == {"주"}
    assert "전체 매장" not in {r["보기 조건: 매장"] for r in rows}
    names = {r["KPI 이름"] for r in rows}
    assert {CATALOG.get(kpi).name.ko for kpi in shown} == names
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shoot(page, "stages-downloads-ko-390")
