"""The audience pages in Debian's chromium, on a copy of the simulated retailer (building
and saving write the warehouse): an analyst writes a rule in the builder and sees the live
size change, saves it, builds it with a holdout and downloads the treated list; a
business-unit user files a request, the analyst attaches the audience, and the
business-unit user sees its aggregate view — with no customer id on the page.

Screenshots land in test-artifacts/screenshots/audiences-*.png.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from omnikpi.services.warehouse import read_warehouse
from omnikpi.services.writer import owned_warehouse
from omnikpi.settings import Settings, load_settings
from omnikpi.web import create_app
from tests.web.browser import OpenPage, shoot, sign_in
from tests.web.conftest import fixed_now, serving, worker_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def audience_server(
    sim_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    """The app on a copy of the simulated retailer (the module's one extra app), owning
    it as `omnikpi serve` does: the live preview reads while a save writes."""
    copy = tmp_path_factory.mktemp("audiences") / "retailer.duckdb"
    shutil.copy(sim_path, copy)
    settings = load_settings(warehouse=copy)
    app = create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)
    with owned_warehouse(settings), serving(app) as url:
        yield url, settings


@pytest.fixture
def base_url(audience_server: tuple[str, Settings]) -> str:
    return audience_server[0]


def size_of(page: Page, element: str) -> int:
    expect(page.locator(element)).to_have_attribute("data-size", re.compile(r"\d+"))
    return int(page.locator(element).get_attribute("data-size") or "-1")


def test_an_analyst_builds_saves_builds_and_exports_an_audience_and_a_bu_user_sees_it(
    open_page: OpenPage, audience_server: tuple[str, Settings], tmp_path: Path
) -> None:
    _, settings = audience_server
    bu = open_page()
    sign_in(bu, "bu_user")
    bu.goto("/audiences/requests")
    bu.get_by_label("Goal").fill("Win back lapsed customers in January")
    bu.get_by_label("Audience idea").fill("Bought twice or more, nothing for two months")
    bu.get_by_label("Desired size").fill("1000")
    bu.get_by_role("button", name="Send the request").click()
    expect(bu.locator("#request-notice")).to_be_visible()
    request_id = bu.locator("h1 .muted").inner_text().lstrip("#")

    page = open_page()
    sign_in(page, "analyst")
    page.get_by_role("link", name="Audiences", exact=True).click()
    page.get_by_role("link", name="New audience").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audience builder")
    page.get_by_label("Name", exact=True).fill("January win-back")
    first = size_of(page, "#preview-size")
    # A third condition narrows the rule: the live preview (HTMX) answers a smaller size.
    page.locator("#field_3").select_option("days_since_last_order")
    page.locator("#op_3").select_option("<=")
    page.locator("#value_3").fill("120")
    expect(page.locator("#preview-size")).not_to_have_attribute("data-size", str(first))
    narrowed = size_of(page, "#preview-size")
    consented = size_of(page, "#preview-consented")
    assert 0 < consented <= narrowed < first
    shoot(page, "audiences-builder")

    page.get_by_role("button", name="Save audience").click()
    expect(page).to_have_url(re.compile(r"/audiences/january-win-back$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("v1")
    page.get_by_label("Holdout share (0–1)").fill("0.2")
    page.get_by_role("button", name="Build with this holdout").click()
    expect(page.locator("#audience-notice")).to_contain_text("Built")
    # a changed holdout share is saved as version 2 before it is built
    expect(page.get_by_role("heading", level=1)).to_contain_text("v2")
    treated, holdout = (
        int(
            page.locator(f'#profile-groups tr[data-group="{group}"] td').first.get_attribute(
                "data-customers"
            )
            or "0"
        )
        for group in ("treated", "holdout")
    )
    assert treated + holdout == consented
    strata = page.locator("#profile-segments tbody tr").count()
    assert abs(holdout - 0.2 * consented) <= strata  # rounded per segment
    shoot(page, "audiences-detail")

    page.get_by_label("Purpose (required)").fill("January win-back e-mail")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export treated (CSV)").click()
    path = tmp_path / "treated.csv"
    download_info.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "customer_id"
    assert len(lines) - 1 == treated
    ids = lines[1:]

    page.goto(f"/audiences/requests/{request_id}")
    page.get_by_label("Audience", exact=True).select_option("january-win-back")
    page.get_by_role("button", name="Attach").click()
    expect(page.locator("#request-notice")).to_be_visible()

    bu.goto(f"/audiences/requests/{request_id}")
    expect(bu.locator("#request-status")).to_have_attribute("data-status", "attached")
    expect(bu.locator('#profile-groups tr[data-group="treated"]')).to_contain_text(f"{treated:,}")
    shoot(bu, "audiences-request")
    html = bu.content()
    assert not [customer for customer in ids if customer in html]
    # and the business-unit user cannot open the audience's own page
    refused = bu.goto("/audiences/january-win-back")
    assert refused is not None
    assert refused.status == 403
    with read_warehouse(settings) as warehouse:
        members = warehouse.fetch_rows(
            'SELECT customer_id FROM audience_members WHERE audience_id = ? AND "group" = ? '
            "ORDER BY 1",
            ["january-win-back", "treated"],
        )
    assert sorted(ids) == [str(row[0]) for row in members]
