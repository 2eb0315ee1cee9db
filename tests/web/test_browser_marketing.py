"""The marketing pages in Debian's chromium on the simulated retailer: an executive opens the
RACE view from the menu and goes on to the attribution page, whose grouped bar chart draws
one series per model; in Korean on a phone the attribution page fits the screen.

Screenshots land in test-artifacts/screenshots/marketing-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in

pytestmark = pytest.mark.browser


def test_an_executive_reads_race_and_attribution(open_page: OpenPage) -> None:
    page = open_page("/home")
    sign_in(page, "executive")
    menu = page.get_by_role("navigation", name="Main menu")
    menu.get_by_role("link", name="Marketing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marketing (RACE)", timeout=120_000)
    expect(menu.get_by_role("link", name="Marketing")).to_have_attribute("aria-current", "page")
    expect(page.locator('tr[data-kpi="roas"]')).to_be_visible()
    shoot(page, "marketing-race-en")

    tabs = page.get_by_role("navigation", name="Marketing pages")
    tabs.get_by_role("link", name="Attribution").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attribution", timeout=180_000)
    chart = page.locator("#attribution-chart")
    expect(chart).to_have_attribute("data-drawn", "true", timeout=30_000)
    expect(chart.locator("svg")).to_be_visible()
    legend = chart.locator("svg text", has_text="Shapley")
    expect(legend.first).to_be_visible()
    expect(page.locator('#attribution-share tr[data-channel="email"]')).to_be_visible()
    expect(page.locator("#offline-channels")).to_be_visible()
    shoot(page, "marketing-attribution-en")


def test_attribution_fits_a_phone_in_korean(open_page: OpenPage) -> None:
    page = open_page("/login", viewport=PHONE, lang="ko-KR")
    sign_in(page, "lead", language="한국어")
    page.goto("/marketing/attribution", timeout=180_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("기여도 분석", timeout=180_000)
    expect(page.locator("#top-paths")).to_be_visible()
    assert_fits(page)
    shoot(page, "marketing-attribution-ko-phone")
