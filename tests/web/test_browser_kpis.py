"""The KPI pages in Debian's chromium: what each role sees, language, period and filter,
the channel breakdown, the KPI detail and its CSV — on the retailer with planted targets.

Every test records each request the browser makes and fails if one leaves 127.0.0.1.
Screenshots of each page in both languages land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from omnikpi.auth import UserRole, parse_role
from omnikpi.i18n import format_value
from omnikpi.kpi import load_catalog, query
from tests.web.browser import (
    DESKTOP,
    PHONE,
    OpenPage,
    assert_fits,
    shoot,
    sign_in,
    switch_language,
)
from tests.web.kpi_targets import planted_status, tier_kpis

pytestmark = pytest.mark.browser

CATALOG = load_catalog()
TOTAL = len(CATALOG.kpis)  # every KPI, companions included
AFTER_SALES = len([kpi for kpi in CATALOG.kpis.values() if kpi.stage == "after_sales"])
MEMBER_JOBS = (
    "cs_agent", "performance_marketer", "merchandiser", "crm_marketer", "site_operator",
    "logistics", "crm_loyalty",
)  # fmt: skip
SIZES = [(DESKTOP, "1280"), (PHONE, "390")]
RAG = {"green": "On target", "amber": "Near target", "red": "Off target"}


@pytest.fixture
def base_url(kpi_server: str) -> str:
    return kpi_server


@pytest.fixture(scope="module", autouse=True)
def warm_pages(kpi_clients: dict[UserRole, TestClient]) -> None:
    """Compute each page's default view once, so the browser never waits on a cold cache."""
    for role, url in [
        (parse_role("executive"), "/scorecard"),
        (parse_role("team_lead"), "/stages"),
        *((parse_role(f"member:{job}"), "/my-kpis") for job in MEMBER_JOBS),
    ]:
        assert kpi_clients[role].get(url).status_code == 200


def cards(page: Page) -> list[str]:
    return page.locator("[data-kpi]").evaluate_all("nodes => nodes.map(n => n.dataset.kpi)")


@pytest.mark.parametrize(("viewport", "size"), SIZES)
def test_the_executive_sees_ten_kpi_cards_with_values_and_status(
    open_page: OpenPage, viewport: dict[str, int], size: str
) -> None:
    page = open_page("/scorecard", viewport=viewport)
    sign_in(page, "executive")
    expect(page.get_by_role("heading", level=1)).to_have_text("Executive scorecard")
    expect(page.locator("article.kpicard")).to_have_count(10)
    assert cards(page) == [k.id for k in CATALOG.select(tier="cxo")]
    planted = tier_kpis("cxo")
    for kpi in CATALOG.select(tier="cxo"):
        card = page.locator(f'article[data-kpi="{kpi.id}"]')
        expect(card.get_by_role("heading", name=kpi.name.en)).to_be_visible()
        expect(card.locator(".kpicard__value")).not_to_have_text("No data")
        expect(card.locator(".rag")).to_contain_text(RAG[planted_status(planted, kpi.id)])
    expect(page.locator(".chart--spark svg")).to_have_count(10)
    assert_fits(page)
    shoot(page, f"scorecard-en-{size}")
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("경영진 스코어카드")
    expect(page.locator('article[data-kpi="revenue"] h3')).to_have_text("총 매출")
    expect(page.locator('article[data-kpi="revenue"] .rag')).to_contain_text("목표")
    expect(page.locator(".chart--spark svg")).to_have_count(10)
    assert_fits(page)
    shoot(page, f"scorecard-ko-{size}")


@pytest.mark.parametrize(("viewport", "size"), SIZES)
def test_the_lead_sees_the_lead_kpis_under_the_six_stages(
    open_page: OpenPage, viewport: dict[str, int], size: str
) -> None:
    page = open_page("/stages", viewport=viewport)
    sign_in(page, "lead")
    stages = page.locator("section.stage h2")
    expect(stages).to_have_count(6)
    names = ["Awareness", "Browsing", "Purchase", "Delivery", "After-sales", "Loyalty"]
    for heading, name in zip(stages.all(), names, strict=True):
        expect(heading).to_contain_text(name)
    assert cards(page) == [k.id for k in CATALOG.select(tier="lead")]
    for stage, name in [("awareness", "Impressions"), ("after_sales", "Call center tickets")]:
        expect(page.locator(f"#stage-{stage}")).to_contain_text(name)
    assert_fits(page)
    shoot(page, f"stages-en-{size}")
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("단계별 대시보드")
    expect(page.locator("section.stage h2").first).to_contain_text("인지")
    assert_fits(page)
    shoot(page, f"stages-ko-{size}")


def test_a_channel_breakdown_opens_on_demand_by_keyboard(
    open_page: OpenPage, targets_path: Path
) -> None:
    page = open_page("/stages")
    sign_in(page, "lead")
    toggle = page.locator('[data-disclosure="breakdown-orders"]')
    expect(toggle).to_have_text("By Sales channel")
    expect(page.locator("#breakdown-orders")).to_be_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    region = page.locator("#breakdown-orders")
    expect(region.locator("caption")).to_have_text("Orders by Sales channel, Week of Dec 22, 2025")
    expect(region.locator("tbody tr")).to_have_count(5)
    week = query(
        "orders", "week", "2025-12-22", "2025-12-28", by=["channel"], warehouse=targets_path
    )
    web = next(r for r in week.to_dict("records") if r["channel"] == "web")
    expect(region.locator("tbody tr", has_text="Web")).to_contain_text(
        format_value(web["value"], "count", "en", currency="KRW")
    )
    expect(toggle).to_be_focused()
    shoot(page, "stages-breakdown-en-1280")
    page.keyboard.press("Enter")
    expect(region).to_be_hidden()
    expect(page.locator("#row-clv")).to_contain_text("No channel breakdown")


@pytest.mark.parametrize("job", MEMBER_JOBS)
def test_each_member_sees_exactly_the_kpis_of_their_role(open_page: OpenPage, job: str) -> None:
    page = open_page("/my-kpis")
    sign_in(page, f"member_{job}")
    expected = [k.id for k in CATALOG.select(tier=f"member:{job}")]
    expect(page.locator("article.kpicard")).to_have_count(len(expected))
    assert cards(page) == expected
    expect(page.locator(".periodbar__period")).to_have_text("Dec 31, 2025")
    expect(page.locator(".kpicard__change dt").first).to_have_text("vs same day last week")
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Scorecard")).to_have_count(0)
    expect(menu.get_by_role("link", name="Stages")).to_have_count(0)
    if job == "cs_agent":
        for viewport, size in SIZES:
            page.set_viewport_size(viewport)
            assert_fits(page)
            shoot(page, f"my-kpis-en-{size}")
        switch_language(page, "한국어")
        expect(page.locator(".kpicard__change dt").first).to_have_text("전주 같은 요일 대비")
        for viewport, size in SIZES:
            page.set_viewport_size(viewport)
            assert_fits(page)
            shoot(page, f"my-kpis-ko-{size}")


def test_the_analyst_explores_the_catalog_in_both_languages(open_page: OpenPage) -> None:
    page = open_page("/kpis")
    sign_in(page, "analyst")
    expect(page.locator("#catalog-count")).to_have_text(f"{TOTAL} of {TOTAL} KPIs")
    menu = page.get_by_role("navigation", name="Main menu")
    for name in ("Scorecard", "Stages", "KPI catalog"):
        expect(menu.get_by_role("link", name=name)).to_have_count(1)
    expect(menu.get_by_role("link", name="My KPIs")).to_have_count(0)
    shoot(page, "catalog-en-1280")
    page.set_viewport_size(PHONE)
    assert_fits(page)
    shoot(page, "catalog-en-390")
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.samePage = true")
    page.get_by_label("Search").fill("average order")
    expect(page.locator("#catalog-count")).to_have_text(re.compile(rf"^\d of {TOTAL} KPIs$"))
    expect(page.locator(".catalogtable tbody")).to_contain_text("Average order value")
    expect(page).to_have_url(re.compile(r"q=average\+order"))
    expect(page.get_by_label("Search")).to_be_focused()  # typing goes on
    assert page.evaluate("window.samePage === true"), "results should swap in place"
    page.get_by_label("Stage").select_option("after_sales")
    expect(page.locator("#catalog-count")).to_have_text(f"0 of {TOTAL} KPIs")
    page.goto("/kpis?stage=after_sales")
    switch_language(page, "한국어")
    expect(page.locator("#catalog-count")).to_have_text(f"KPI {TOTAL}개 중 {AFTER_SALES}개")
    expect(page.locator(".catalogtable")).to_contain_text("사후 관리")
    for viewport, size in SIZES:
        page.set_viewport_size(viewport)
        assert_fits(page)
        shoot(page, f"catalog-ko-{size}")


def test_changing_the_period_and_a_filter_keeps_them_in_the_url(
    open_page: OpenPage, targets_path: Path
) -> None:
    page = open_page("/scorecard")
    sign_in(page, "executive")
    page.get_by_label("Dates").select_option(label="Custom dates")
    page.get_by_label("To", exact=True).fill("2025-11-30")
    page.get_by_label("Channel").select_option("app")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"end=2025-11-30.*channel=app"))
    expect(page.locator(".periodbar__period")).to_have_text("Nov 2025")
    november = query(
        "orders", "month", "2025-11-01", "2025-11-30", filters={"channel": ["app"]},
        warehouse=targets_path,
    )  # fmt: skip
    expected = format_value(november["value"][0], "count", "en", currency="KRW")
    expect(page.locator('article[data-kpi="orders"] .kpicard__value')).to_have_text(expected)
    expect(page.locator('article[data-kpi="complaint_ratio"]')).to_contain_text(
        "Not split by Sales channel"
    )
    expect(page.locator(".chart--spark svg")).to_have_count(10)
    shoot(page, "scorecard-app-november-en-1280")


def test_a_kpi_detail_opens_from_its_card_and_downloads_its_csv(
    open_page: OpenPage, targets_path: Path, tmp_path: Path
) -> None:
    page = open_page("/scorecard")
    sign_in(page, "executive")
    page.get_by_role("link", name="Total revenue (sales)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Total revenue (sales)")
    expect(page.locator(".chart--trend svg")).to_have_count(1)
    expect(page.locator(".chart--breakdown svg")).to_have_count(1)  # by sales channel
    expect(page.get_by_text(CATALOG.get("revenue").definition.ko)).to_be_visible()
    page.get_by_text("Compiled query (DuckDB)").click()
    expect(page.locator(".sql pre").first).to_contain_text("SELECT")
    shoot(page, "kpi-detail-en-1280")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV", exact=True).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "omnikpi-revenue-trend-month-2024-12-01--2025-12-31.csv"
    with saved.open(newline="", encoding="utf-8-sig") as handle:  # the mark Excel reads UTF-8 by
        rows = list(csv.DictReader(handle))
    expected = query("revenue", "month", "2024-12-01", "2025-12-31", warehouse=targets_path)
    # The engine's columns in their order, with formatted ones (value_text, ...) beside.
    assert [c for c in rows[0] if c in expected.columns] == [str(c) for c in expected.columns]
    assert len(rows) == 13
    assert [float(r["value"]) for r in rows] == pytest.approx(list(expected["value"]))
    assert [r["status"] for r in rows[-3:]] == list(expected["status"][-3:])
    page.get_by_label("Break down by").select_option("member")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#breakdown caption")).to_contain_text("by Member / non-member")
    expect(page).to_have_url(re.compile(r"by=member"))
    switch_language(page, "한국어")
    expect(page.get_by_role("heading", level=1)).to_have_text("총 매출")
    expect(page.locator("#breakdown tbody")).to_contain_text("비회원")
    for viewport, size in SIZES:
        page.set_viewport_size(viewport)
        assert_fits(page)
        shoot(page, f"kpi-detail-ko-{size}")
    page.set_viewport_size(PHONE)
    switch_language(page, "English")
    assert_fits(page)
    shoot(page, "kpi-detail-en-390")


def test_a_share_kpi_shows_its_shares(open_page: OpenPage) -> None:
    page = open_page("/kpis/payment_type_share?grain=month")
    sign_in(page, "analyst")
    latest = page.locator(".latest-shares li")
    expect(latest).to_have_count(6)
    expect(latest.first).to_contain_text("Card")
    expect(page.locator(".chart--trend svg")).to_have_count(1)
    shoot(page, "kpi-detail-share-en-1280")
