"""Small-cell suppression on hand-made tables (what is withheld, and why), and on the
simulated retailer for the roles that do and do not see customer-level data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from omnikpi.auth import Role, UserRole
from omnikpi.kpi import Grain, KpiQuery
from omnikpi.kpi.request import KpiRequest
from omnikpi.services import build_dashboard, query_kpis
from omnikpi.services.suppression import checked_request, sees_customers, suppress

DAY = date(2025, 12, 1)
NEXT = date(2025, 12, 2)
LEAD = UserRole(Role.TEAM_LEAD)
ANALYST = UserRole(Role.ANALYST)


def _table(rows: list[tuple[object, ...]], dims: list[str]) -> pd.DataFrame:
    """An engine answer: kpi, period_start, dims, value, parts, population columns."""
    columns = [
        "kpi", "period_start", *dims, "value", "numerator", "denominator", "comparison_value",
        "change", "target", "status", "base", "population", "comparison_population",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype(object)


def _reasons(frame: pd.DataFrame, column: str = "suppressed") -> list[object]:
    return frame[column].tolist()


def test_a_lone_small_cell_takes_its_smallest_sibling_with_it() -> None:
    # Revenue by store, k = 10: B describes 4 customers (withheld). The total shown on the
    # card minus A, C and D would give B back, so the sibling with the fewest customers
    # (C: 12) is withheld too; A (25) and D (30) stay.
    table = _table(
        [
            ("revenue", DAY, "A", 1000.0, None, None, 900.0, 0.11, 950.0, "green", None, 25, 20),
            ("revenue", DAY, "B", 100.0, None, None, 90.0, 0.11, 95.0, "green", None, 4, 12),
            ("revenue", DAY, "C", 300.0, None, None, 280.0, 0.07, 310.0, "amber", None, 12, 15),
            ("revenue", DAY, "D", 2000.0, None, None, 1800.0, 0.11, 1900.0, "green", None, 30, 25),
        ],
        ["store"],
    )
    found = suppress(table, 10, ["store"])
    assert _reasons(found) == [None, "small_cell", "complementary", None]
    assert found["value"].tolist() == [1000.0, None, None, 2000.0]
    # The change and status go with the value; the target is no data and stays.
    assert found["change"].tolist() == [0.11, None, None, 0.11]
    assert found["status"].tolist() == ["green", None, None, "green"]
    assert found["target"].tolist() == [950.0, 95.0, 310.0, 1900.0]
    # The compared period: every cell has 12 or more customers, so all are shown.
    assert _reasons(found, "comparison_suppressed") == [None] * 4
    assert found["comparison_value"].tolist() == [900.0, 90.0, 280.0, 1800.0]
    # The counts of customers never leave the service.
    assert "population" not in found.columns
    assert "comparison_population" not in found.columns


def test_two_small_cells_need_no_complement_and_ties_take_the_smaller_value() -> None:
    table = _table(
        [
            # Two cells withheld: the total minus the others gives only their sum.
            ("orders", DAY, "A", 3.0, None, None, None, None, None, None, None, 3, None),
            ("orders", DAY, "B", 5.0, None, None, None, None, None, None, None, 5, None),
            ("orders", DAY, "C", 40.0, None, None, None, None, None, None, None, 40, None),
            # Next day, one withheld: E and F tie on customers (20), F's value is smaller.
            ("orders", NEXT, "D", 2.0, None, None, None, None, None, None, None, 2, None),
            ("orders", NEXT, "E", 30.0, None, None, None, None, None, None, None, 20, None),
            ("orders", NEXT, "F", 25.0, None, None, None, None, None, None, None, 20, None),
        ],
        ["store"],
    )  # fmt: skip
    found = suppress(table, 10, ["store"])
    assert _reasons(found) == [
        "small_cell", "small_cell", None, "small_cell", None, "complementary",
    ]  # fmt: skip


def test_complements_are_found_along_every_dimension_of_a_grid() -> None:
    # Orders by store x channel, k = 10: only (A, app) is small.
    #        web  app
    #   A     50    3   The app column has a lone withheld cell: its sibling with the
    #   B     40   20   fewest customers, (B, app) (20 < 25), goes. Then rows A and B each
    #   C     60   25   have a lone one: (A, web) and (B, web) go. Every row and column
    #                   then holds two withheld cells or none; store C stays shown.
    cells = [("A", "web", 50), ("A", "app", 3), ("B", "web", 40), ("B", "app", 20)]
    cells += [("C", "web", 60), ("C", "app", 25)]
    table = _table(
        [
            ("orders", DAY, store, channel, float(n), None, None, None, None, None, None, None, n,
             None)
            for store, channel, n in cells
        ],
        ["store", "channel"],
    )  # fmt: skip
    found = suppress(table, 10, ["store", "channel"])
    assert _reasons(found) == [
        "complementary", "small_cell", "complementary", "complementary", None, None,
    ]  # fmt: skip


def test_a_ratio_takes_its_parts_and_base_and_no_population_means_never_withheld() -> None:
    table = _table(
        [
            # Conversion rate by channel: 6 buyers out of 500 visits is withheld with the
            # orders and visits it is the ratio of, and its sample size.
            ("conversion_rate", DAY, "web", 0.012, 6.0, 500.0, 0.02, -0.008, None, None, 500.0,
             6, 11),
            ("conversion_rate", DAY, "app", 0.05, 20.0, 400.0, 0.04, 0.01, None, None, 400.0,
             20, 15),
            # Media spend describes no customer: no population, never withheld.
            ("ad_spend", DAY, "web", 10.0, None, None, None, None, None, None, None, None,
             None),
            # No data is no data, not a withheld value.
            ("conversion_rate", date(2025, 12, 2), "web", None, None, None, None, None, None,
             None, None, 0, 0),
        ],
        ["channel"],
    )  # fmt: skip
    found = suppress(table, 10, ["channel"])
    assert _reasons(found) == ["small_cell", "complementary", None, None]
    first = found.iloc[0]
    assert [first["numerator"], first["denominator"], first["base"]] == [None, None, None]
    assert found.iloc[2]["value"] == 10.0


def test_analysts_and_admins_see_every_value_others_are_checked() -> None:
    request = KpiRequest.parse("revenue", "day", "2025-12-01", "2025-12-01")
    for role in (ANALYST, UserRole(Role.ADMIN), None):
        assert sees_customers(role)
        assert checked_request(request, role) is request
    for role in (LEAD, UserRole(Role.EXECUTIVE), UserRole(Role.BU_USER)):
        assert not sees_customers(role)
        assert checked_request(request, role).population


def test_a_store_day_breakdown_shows_analysts_values_and_others_the_marker(
    engine: KpiQuery,
) -> None:
    request = KpiRequest.parse(
        "revenue", "day", "2025-12-30", "2025-12-30", by=["store"], compare="previous"
    )
    seen = query_kpis(engine, request, ANALYST)
    checked = query_kpis(engine, request, LEAD)
    assert seen.min_customers is None
    assert checked.min_customers == engine.settings.min_cell_customers
    assert "suppressed" in checked.columns
    assert "suppressed" not in seen.columns
    by_store = {row.keys: row for row in seen.rows}
    withheld = [row for row in checked.rows if row.suppressed]
    # A store sells to a handful of customers a day: most store cells are withheld.
    assert len(withheld) >= len(checked.rows) // 2
    for row in checked.rows:
        shown = by_store[row.keys]
        if row.suppressed:
            assert row.value is None
            assert shown.value is not None
        else:
            assert row.value == shown.value
    records = checked.records()
    assert any(r["suppressed"] == "small_cell" and r["value"] is None for r in records)


def test_scorecard_cards_of_a_small_store_are_withheld_for_a_team_lead(
    engine: KpiQuery,
) -> None:
    view = (Grain.DAY, date(2025, 12, 1), date(2025, 12, 30))
    store = {"store": ["S013"]}
    lead = build_dashboard(engine, LEAD, "cxo", *view, filters=store)
    analyst = build_dashboard(engine, ANALYST, "cxo", *view, filters=store)
    hidden = [card for card in lead.cards if card.suppressed]
    assert hidden, "a store's day has fewer than 10 customers for some cxo KPI"
    for card in hidden:
        assert card.value is None
        assert analyst.card(card.kpi.id).value is not None
        assert not analyst.card(card.kpi.id).suppressed
    trend = [p for card in lead.cards for p in card.trend if p.suppressed]
    assert trend
    assert all(p.value is None for p in trend)


@pytest.mark.parametrize("minimum", [1, 10_000])
def test_the_threshold_is_a_setting(engine: KpiQuery, minimum: int) -> None:
    engine.settings = replace(engine.settings, min_cell_customers=minimum)
    december = KpiRequest.parse("revenue", "month", "2025-12-01", "2025-12-31")
    try:
        result = query_kpis(engine, december, LEAD)
    finally:
        engine.settings = replace(engine.settings, min_cell_customers=10)
    (row,) = result.rows
    assert (row.suppressed is None) == (minimum == 1)
