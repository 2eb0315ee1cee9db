"""What a page says when it shows a value it does not rate: a total under a filter the KPI
cannot take, a rate over too few units, a KPI whose data is not there yet."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from omnikpi.auth import UserRole
from omnikpi.i18n import t
from omnikpi.settings import Settings
from tests.web.test_kpi_pages import ANALYST, EXECUTIVE, LEAD, RAG, card_html, page
from tests.web.test_pages import text_of


def row_html(html: str, kpi_id: str) -> str:
    """The stage board row of `kpi_id`."""
    found = re.search(rf'<tr [^>]*id="row-{kpi_id}".*?</tr>', html, re.S)
    assert found, kpi_id
    return found.group(0)


def test_a_total_under_a_store_filter_says_so_once_and_is_not_rated(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    html = page(kpi_clients, LEAD, "/stages?store=S001", "en")
    for kpi_id in ("visits", "conversion_rate"):  # online visits belong to no store
        row = text_of(row_html(html, kpi_id))
        assert row.count("Not split by Store: the total is shown, without a status.") == 1
        assert "Not rated" in row
        assert not any(label in row for label in RAG["en"].values()), kpi_id
    for kpi_id in ("orders", "complaints", "on_time_delivery_rate", "nps"):  # by store
        assert "Not split by" not in text_of(row_html(html, kpi_id)), kpi_id
    rated = page(kpi_clients, LEAD, "/stages", "en")
    assert any(label in text_of(row_html(rated, "visits")) for label in RAG["en"].values())


def test_a_rate_over_too_few_units_shows_its_n_and_no_status(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    """CSAT by day: some days have fewer answers than a status needs; the series says how
    many, the page flags the day and rates none of them."""
    minimum = Settings().min_base
    query = "grain=day&start=2025-12-01&end=2025-12-31"
    client = kpi_clients[ANALYST]
    page(kpi_clients, ANALYST, "/home", "en")
    rows = client.get(f"/api/v1/kpis/csat/series?{query}").json()["rows"]
    small = [row for row in rows if row["base"] is not None and row["base"] < minimum]
    assert small, "every December day had enough answers: pick a finer KPI"
    assert all(row["status"] is None for row in small)
    html = page(kpi_clients, ANALYST, f"/kpis/csat?{query}", "en")
    assert '<abbr title="' in html  # the trend table's n column
    if rows[-1] in small:
        n = f"{rows[-1]['base']:.0f}"
        assert f"n = {n}: too few for a status." in text_of(html)


def test_no_data_says_what_it_waits_for(kpi_clients: dict[UserRole, TestClient]) -> None:
    waiting = t("kpi.missing_table.customer_scores", "en")
    assert waiting in text_of(page(kpi_clients, ANALYST, "/kpis/clv", "en"))
    assert waiting in text_of(row_html(page(kpi_clients, LEAD, "/stages", "en"), "clv"))
    assert t("kpi.missing_table.customer_scores", "ko") in text_of(
        page(kpi_clients, ANALYST, "/kpis/clv", "ko")
    )
    scorecard = page(kpi_clients, EXECUTIVE, "/scorecard", "en")
    assert waiting not in text_of(card_html(scorecard, "revenue"))
