"""Charts in Debian's chromium: a tooltip shows the names it is given as text.

Names in charts come from the data and from a retailer's own catalog (a store's name, a
KPI's name); `static/app.js` builds each tooltip as HTML, so it must escape them. The
Content-Security-Policy would stop an injected script, but the page must not rely on it:
here a store and a KPI are named like markup, and the tooltips must show those names as
text, with no element made from them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page

from omnikpi.kpi.catalog import PACKAGE_CATALOG
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.web import create_app
from tests.web.browser import OpenPage, sign_in
from tests.web.conftest import fixed_now, serving, worker_store

pytestmark = pytest.mark.browser

#: A name that is markup: unescaped, it would become an <img> element (and, without the
#: Content-Security-Policy, run its handler).
MARKUP = "<img src=x onerror=\"document.title='injected'\">"
KPI_ID = "revenue_named_as_markup"
STORE = "S001"


def catalog_with_markup_name(folder: Path) -> Path:
    """A catalog folder adding a KPI that is revenue, but named with markup."""
    purchase = yaml.safe_load((PACKAGE_CATALOG / "kpis_purchase.yaml").read_text("utf-8"))
    revenue = next(k for k in purchase["kpis"] if k["id"] == "revenue")
    named = {**revenue, "id": KPI_ID, "name": {"en": f"Revenue {MARKUP}", "ko": MARKUP}}
    folder.mkdir()
    (folder / "named.yaml").write_text(yaml.safe_dump({"kpis": [named]}), "utf-8")
    return folder


@pytest.fixture(scope="module")
def markup_server(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The simulated retailer with store S001 and one KPI named with markup, served."""
    folder = tmp_path_factory.mktemp("markup")
    warehouse = folder / "retailer.duckdb"
    shutil.copy(sim_path, warehouse)
    with Warehouse.open(warehouse) as opened:
        opened.run_sql(
            "UPDATE stores SET name = $1, name_en = $1, name_ko = $1 WHERE store_id = $2",
            [MARKUP, STORE],
        )
    settings = load_settings(warehouse=warehouse, catalog=catalog_with_markup_name(folder / "c"))
    app = create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)
    with serving(app) as url:
        yield url


@pytest.fixture
def base_url(markup_server: str) -> str:
    return markup_server


#: The tooltip a chart shows now (ECharts puts it in a div of the chart): its HTML and text.
SHOWN_TOOLTIP = """chart => {
    const shown = [...chart.querySelectorAll("div")].find(
        div => div.style.display !== "none" && div.innerHTML.includes("<br>"));
    return shown ? [shown.innerHTML, shown.textContent] : ["", ""];
}"""


def tooltip_naming(page: Page, number: int, text: str) -> str:
    """Move the mouse across the `number`-th chart of the page (down its middle, then
    along it, passing each bar of a bar chart and each period of a line) until its tooltip's
    text holds `text`; that tooltip's HTML."""
    chart = page.locator(".chart[data-chart]").nth(number)
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    steps = 40
    down = [(box["width"] * 0.7, box["height"] * step / steps) for step in range(1, steps)]
    along = [(box["width"] * step / steps, box["height"] * 0.4) for step in range(1, steps)]
    for x, y in (*down, *along):
        page.mouse.move(box["x"] + x, box["y"] + y)
        html, shown = chart.evaluate(SHOWN_TOOLTIP)
        if text in shown:
            return str(html)
    pytest.fail(f"no tooltip of chart {number} named {text!r}")


def test_a_chart_tooltip_shows_names_from_the_data_and_the_catalog_as_text(
    open_page: OpenPage,
) -> None:
    page = open_page(f"/kpis/{KPI_ID}?grain=month&start=2025-07-01&end=2025-12-31&by=store")
    sign_in(page, "analyst")
    charts = page.locator(".chart[data-chart]")
    charts.nth(1).wait_for()
    # The trend's line is named after the KPI; the breakdown's bars after the stores.
    trend = tooltip_naming(page, 0, f"Revenue {MARKUP}")
    bars = tooltip_naming(page, 1, MARKUP)
    for html in (trend, bars):
        assert "&lt;img src=x onerror=" in html
    # Neither name became an element, and nothing ran.
    assert page.locator(".chart img").count() == 0
    assert page.title() != "injected"
