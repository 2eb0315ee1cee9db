"""Small-cell suppression on the simulated retailer's pages, API and downloads: a store's
day has fewer than 10 customers, so a team lead sees those values withheld ("<10", null
with a reason, an empty cell), while an analyst sees them all."""

from __future__ import annotations

import csv
import html
import io
import json
import re

from fastapi.testclient import TestClient

from omnikpi.auth import UserRole, parse_role
from tests.web.test_pages import in_language

LEAD = parse_role("team_lead")
EXECUTIVE = parse_role("executive")
ANALYST = parse_role("analyst")
ADMIN = parse_role("admin")
#: The last day of the simulated retailer, by store: most stores sell to a few customers.
BY_STORE = "grain=day&start=2025-12-30&end=2025-12-30&compare=previous&by=store"
#: A small store's days of December.
SMALL_STORE = "grain=day&start=2025-12-01&end=2025-12-30&store=S013"
#: A store with days of fewer and days of more than 10 customers in December.
MIXED_STORE = "grain=day&start=2025-12-01&end=2025-12-30&store=S001"
MARKER = "&lt;10"


def _get(clients: dict[UserRole, TestClient], role: UserRole, url: str) -> str:
    response = in_language(clients, role, "en").get(url)  # other tests change the language
    assert response.status_code == 200, response.text
    return response.text


def test_the_series_api_gives_null_with_a_reason_and_analysts_the_values(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    url = f"/api/v1/kpis/revenue/series?{BY_STORE}"
    checked = signed_in_clients[LEAD].get(url).json()
    seen = signed_in_clients[ANALYST].get(url).json()
    values = {row["dimensions"]["store"]: row["value"] for row in seen["rows"]}
    withheld = [row for row in checked["rows"] if row["suppressed"]]
    assert withheld
    for row in withheld:
        assert row["value"] is None
        assert row["change"] is None
        assert row["reason"] == "fewer than 10 customers" or "withheld" in row["reason"]
        assert values[row["dimensions"]["store"]] is not None
    assert not any(row["suppressed"] for row in seen["rows"])
    assert "suppressed" in checked["columns"]
    shown = [row for row in checked["rows"] if not row["suppressed"]]
    assert all(row["value"] == values[row["dimensions"]["store"]] for row in shown)


def test_the_csv_leaves_a_withheld_value_empty_and_says_why(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    rows = list(
        csv.DictReader(io.StringIO(_get(signed_in_clients, LEAD, f"/kpis/revenue/csv?{BY_STORE}")))
    )
    withheld = [row for row in rows if row["suppressed"]]
    assert withheld
    assert {row["suppressed"] for row in withheld} <= {"small_cell", "complementary"}
    assert all(row["value"] == "" for row in withheld)
    sheet = _get(signed_in_clients, LEAD, f"/kpis/revenue/csv?{BY_STORE}&layout=sheet")
    people = list(csv.DictReader(io.StringIO(sheet.lstrip("\ufeff"))))
    assert any(row["value_text"] == "<10" and row["value"] == "" for row in people)
    analyst = _get(signed_in_clients, ANALYST, f"/kpis/revenue/csv?{BY_STORE}")
    assert "suppressed" not in analyst.splitlines()[0]


def test_the_detail_page_shows_the_marker_to_a_lead_and_values_to_an_analyst(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    url = f"/kpis/revenue?{BY_STORE}"
    lead = _get(signed_in_clients, LEAD, url)
    assert 'data-suppressed="small_cell"' in lead
    assert MARKER in lead
    assert "Fewer than 10 customers" in lead
    for role in (ANALYST, ADMIN):
        page = _get(signed_in_clients, role, url)
        assert "data-suppressed" not in page


def test_scorecards_withhold_a_small_store_s_values_but_not_from_analysts(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    url = f"/api/v1/scorecard?tier=cxo&{SMALL_STORE}"
    checked = signed_in_clients[EXECUTIVE].get(url).json()
    seen = {c["kpi"]: c for c in signed_in_clients[ANALYST].get(url).json()["kpis"]}
    withheld = [card for card in checked["kpis"] if card["suppressed"]]
    assert withheld
    for card in withheld:
        assert card["value"] is None
        assert card["reason"] == "fewer than 10 customers"
        assert seen[card["kpi"]]["value"] is not None
        assert not seen[card["kpi"]]["suppressed"]
    points = [p for card in checked["kpis"] for p in card["trend"] if p["suppressed"]]
    assert points
    assert all(p["value"] is None for p in points)
    page = _get(signed_in_clients, EXECUTIVE, f"/scorecard?{SMALL_STORE}")
    assert MARKER in page
    assert "data-suppressed" in page
    # The same view's page for an analyst is not the executive's (pages are cached by
    # view): it has every value.
    assert "data-suppressed" not in _get(signed_in_clients, ANALYST, f"/scorecard?{SMALL_STORE}")


def test_a_chart_does_not_plot_a_withheld_value(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    page = _get(signed_in_clients, EXECUTIVE, f"/scorecard?{MIXED_STORE}")
    specs = [
        json.loads(html.unescape(found)) for found in re.findall(r"data-chart='([^']*)'", page)
    ]
    points = [
        (value, text)
        for spec in specs
        for series in spec["series"]
        for value, text in zip(series["values"], series["text"], strict=True)
    ]
    withheld = [value for value, text in points if text == "<10"]
    assert withheld
    assert all(value is None for value in withheld)
    assert any(value is not None for value, text in points if text != "<10")
