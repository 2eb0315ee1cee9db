"""The customer pages in Debian's chromium, on a copy of the simulated retailer whose CLV
model has been fitted (`omnikpi customers clv predict`): an analyst opens each page from
the menu and the sub-menu and every chart draws, then opens a customer from the search
box; a team lead sees the aggregate segment sizes with small cells withheld and gets 403
on the customer-level pages. Korean on a phone fits the screen.

Screenshots land in test-artifacts/screenshots/customers-*.png.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from omnikpi.auth.audit import Actor
from omnikpi.services.clv import predict_clv
from omnikpi.services.customers import list_customers
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.web.browser import PHONE, OpenPage, assert_fits, shoot, sign_in
from tests.web.conftest import fixed_now, serving, worker_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clv_app(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A copy of the simulated retailer with CLV scores, served; yields its URL and the id
    of its customer with the highest revenue."""
    copy = tmp_path_factory.mktemp("customers") / "retailer.duckdb"
    shutil.copy(sim_path, copy)
    settings = load_settings(warehouse=copy)
    store = worker_store(tmp_path_factory)
    predict_clv(settings, store, Actor.cli())
    top = list_customers(settings, store, Actor.cli(), limit=1).rows[0]["customer_id"]
    with serving(create_app(settings, store=store, now=fixed_now)) as url:
        yield url, str(top)


@pytest.fixture
def base_url(clv_app: tuple[str, str]) -> str:
    return clv_app[0]


def charts_drawn(page: Page, *ids: str) -> None:
    for chart in ids:
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true", timeout=60_000)
        expect(page.locator(f"#{chart} svg").first).to_be_visible()


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text, timeout=120_000)


def test_an_analyst_opens_each_customer_page_and_the_charts_draw(
    open_page: OpenPage, clv_app: tuple[str, str]
) -> None:
    customer = clv_app[1]
    page = open_page("/home")
    sign_in(page, "analyst")
    page.get_by_role("link", name=re.compile("^Customers")).first.click()
    heading(page, "Customer segments")
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Customers")).to_have_attribute("aria-current", "page")
    charts_drawn(page, "segment-chart")
    expect(page.locator("#transition-matrix tbody tr").first).to_be_visible()
    expect(page.locator("#segment-sizes .suppressed")).to_have_count(0)
    shoot(page, "customers-segments-en")

    tabs = page.get_by_role("navigation", name="Customer pages")
    tabs.get_by_role("link", name="Cohorts").click()
    heading(page, "Acquisition cohorts")
    charts_drawn(page, "cohort-chart")
    page.get_by_label("Split by").select_option("acquisition_channel")
    expect(page).to_have_url(re.compile(r"by=acquisition_channel"), timeout=60_000)
    expect(page.locator("table.cohortmap")).to_have_count(5)  # web, store, app, ...
    charts_drawn(page, "cohort-chart")
    shoot(page, "customers-cohorts-en")

    tabs = page.get_by_role("navigation", name="Customer pages")
    tabs.get_by_role("link", name="Customer lifetime value").click()
    heading(page, "Customer lifetime value")
    charts_drawn(page, "clv-histogram", "alive-histogram", "holdout-chart")
    expect(page.locator("#holdout-table tbody tr")).to_have_count(8)  # 0 … 6, 7+
    expect(page.locator("#clv-models")).to_contain_text("BG/NBD")
    shoot(page, "customers-clv-en")

    tabs = page.get_by_role("navigation", name="Customer pages")
    tabs.get_by_role("link", name="Top customers").click()
    heading(page, "Top customers")
    charts_drawn(page, "top-chart-channel", "top-chart-membership")
    shoot(page, "customers-top-en")

    page.get_by_label("Open a customer").fill(customer)
    page.get_by_label("Open a customer").press("Enter")
    heading(page, f"Customer {customer}")
    expect(page.locator('[data-field="clv"]')).not_to_have_text("—")
    expect(page.locator("#profile-audited")).to_be_visible()
    shoot(page, "customers-profile-en")


def test_a_lead_sees_segment_sizes_withheld_and_gets_403_on_customer_level_pages(
    open_page: OpenPage, clv_app: tuple[str, str]
) -> None:
    customer = clv_app[1]
    page = open_page("/customers")
    sign_in(page, "lead")
    heading(page, "Customer segments")
    charts_drawn(page, "segment-chart")
    expect(page.locator("#customers-suppressed")).to_be_visible()
    expect(page.locator("#transition-matrix .suppressed").first).to_have_text(re.compile(r"^<10"))
    expect(page.locator("#customer-search")).to_have_count(0)
    tabs = page.get_by_role("navigation", name="Customer pages")
    expect(tabs.get_by_role("link", name="Customer lifetime value")).to_have_count(0)
    shoot(page, "customers-segments-lead-en")
    for path in (f"/customers/{customer}", "/customers/clv"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403
        heading(page, "Access denied")
        expect(page.get_by_text(customer)).to_have_count(0)
    shoot(page, "customers-profile-lead-403-en")


def test_the_segments_page_in_korean_on_a_phone(open_page: OpenPage) -> None:
    page = open_page("/customers", lang="ko-KR", viewport=PHONE)
    sign_in(page, "analyst", language="한국어")
    heading(page, "고객 세그먼트")
    charts_drawn(page, "segment-chart")
    expect(page.get_by_role("heading", name="월간 세그먼트 이동")).to_be_visible()
    assert_fits(page)
    shoot(page, "customers-segments-ko-390")
