"""Targets planned from last year: hand-computed on the golden data, then used by queries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from omnikpi.kpi import Grain, KpiQuery, load_catalog, query
from omnikpi.kpi.plans import demo_periods, plan_targets, planned_target
from omnikpi.kpi.targets import import_targets
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick


@pytest.mark.parametrize(
    ("kpi", "last_year", "expected"),
    [
        ("revenue", 40_000.0, 42_000.0),  # [0, ∞), up: +5%
        ("orders", 1_001.0, 1_051.0),  # 1,051.05 rounds to a whole count
        ("bounce_rate", 0.2, 0.19),  # [0, 1], down: -5% (also 5% of the room to 0)
        ("conversion_rate", 0.123456, 0.13),  # +5% = 0.1296 (room 0.877 * 5% is more), 0.1 pt
        # Near the bound: 5% of the room left, 0.98 + 0.02 * 5% = 0.981 (not 1.029).
        ("order_completion_rate", 0.98, 0.981),
        ("shop_availability", 1.0, 1.0),  # at its bound: last year's value
        ("csat", 1.02, 1.0),  # beyond its bound (bad data): the bound
        ("nps", -10.0, -9.5),  # up from a negative score is towards 0, by 5% of 10
        ("nps", 96.0, 96.2),  # room to 100 is 4: 5% of it
        ("first_response_hours", 2.0, 1.9),  # hours, down: -5%, kept to 0.01
        ("gross_profit", -1_000.0, -950.0),  # no bounds: a loss shrinks by 5%
    ],
)
def test_planned_target_moves_last_year_in_the_good_direction_within_the_bounds(
    kpi: str, last_year: float, expected: float
) -> None:
    spec = load_catalog().get(kpi)
    assert planned_target(last_year, spec, 0.05) == pytest.approx(expected)


def test_plan_weeks_from_the_golden_year_before(golden_copy: Path) -> None:
    catalog = load_catalog()
    with Warehouse.open(golden_copy) as warehouse:
        engine = KpiQuery(catalog, warehouse)
        periods = {"cxo": (Grain.WEEK, date(2025, 2, 24), date(2025, 3, 9))}
        rows = plan_targets(engine, periods)
        import_targets(warehouse, rows)
    targets = {(r.kpi, r.period_start): r.target for r in rows}
    # The week of Mon 2025-03-03 plans from the week 52 weeks before, Mon 2024-03-04 to
    # Sun 2024-03-10: completed O1 10,000 + O2 30,000 (O3 cancelled) = 40,000, * 1.05.
    # The week of 2025-02-24 compares with 2024-02-26, before the first order: no target.
    assert {p: t for (k, p), t in targets.items() if k == "revenue"} == {date(2025, 3, 3): 42_000.0}
    # Order completion that week: 2 completed of 3 orders = 0.6667; +5% (0.7) would leave
    # 5% of the room to 100%: 0.6667 + 0.3333 * 5% = 0.6833, 0.683 to 0.1 point.
    assert targets[("order_completion_rate", date(2025, 3, 3))] == 0.683
    assert all(r.grain == "week" and r.dimension == "" for r in rows)
    result = query(["revenue"], "week", "2025-02-24", "2025-03-09", warehouse=golden_copy)
    # Week of 2025-03-03: O6 27,000 + O7 22,000 + O8 12,000 = 61,000 (O9 cancelled).
    assert pick(result, "revenue", "2025-03-03") == 61_000
    assert pick(result, "revenue", "2025-03-03", "target") == 42_000
    assert pick(result, "revenue", "2025-03-03", "status") == "green"
    assert pick(result, "revenue", "2025-02-24", "target") is None


def test_no_plan_from_a_period_the_data_covers_in_part(golden: Warehouse) -> None:
    # The golden orders start on 2024-03-04, so March 2024 (40,000 of revenue) is covered
    # from its 4th day only: March 2025 gets no target rather than one planned from part of
    # a month. The same holds for every KPI of the tier.
    engine = KpiQuery(load_catalog(), golden)
    periods = {"cxo": (Grain.MONTH, date(2025, 2, 1), date(2025, 3, 31))}
    assert plan_targets(engine, periods) == []


def test_day_targets_average_the_same_weekday_of_four_weeks_a_year_before(
    golden: Warehouse,
) -> None:
    engine = KpiQuery(load_catalog(), golden)
    rows = plan_targets(engine, {"cxo": (Grain.DAY, date(2025, 3, 23), date(2025, 3, 26))})
    targets = {(r.kpi, r.period_start): r.target for r in rows}
    revenue = {p: t for (k, p), t in targets.items() if k == "revenue"}
    # Each day plans from the days 364, 371, 378 and 385 days before (the same weekday):
    # Mon 2025-03-24: 2024-03-25, 03-18, 03-11, 03-04 -> O1 10,000 on 03-04, 0 on the
    #   others: (10,000 + 0 + 0 + 0) / 4 = 2,500, * 1.05 = 2,625.
    # Tue 2025-03-25: 2024-03-26, 03-19, 03-12, 03-05 -> O2 30,000: 7,500 * 1.05 = 7,875.
    # Wed 2025-03-26: 2024-03-27, 03-20, 03-13, 03-06 -> only O3, cancelled: 0.
    # Sun 2025-03-23: its fourth day, 2024-03-03, is before the first order: no target.
    assert revenue == {
        date(2025, 3, 24): 2_625.0,
        date(2025, 3, 25): 7_875.0,
        date(2025, 3, 26): 0.0,
    }
    # A rate averages the days that have one: of the four Mondays only 2024-03-04 had
    # visits (SS1 ordered, SS2 did not): 0.5; + 5% = 0.525 (the room to 100% gives as much).
    assert targets[("conversion_rate", date(2025, 3, 24))] == 0.525
    # Wed 2024-03-06: SS3 ordered, the one visit: 100%, at its bound, so kept at 100%.
    assert targets[("conversion_rate", date(2025, 3, 26))] == 1.0


def test_demo_plans_every_tier_at_its_grain() -> None:
    periods = demo_periods(load_catalog(), date(2025, 12, 31))
    assert periods["cxo"] == (Grain.MONTH, date(2024, 12, 1), date(2025, 12, 31))
    assert periods["lead"][0] is Grain.WEEK
    members = [t for t in periods if t.startswith("member:")]
    assert len(members) == 7
    assert all(periods[t] == (Grain.DAY, date(2025, 11, 2), date(2025, 12, 31)) for t in members)


def test_a_plan_per_store_region_and_channel_from_each_ones_year_before(
    golden: Warehouse,
) -> None:
    engine = KpiQuery(load_catalog(), golden)
    periods = {"cxo": (Grain.WEEK, date(2025, 3, 3), date(2025, 3, 9))}
    rows = plan_targets(engine, periods, dimensions=["store", "region", "channel"])
    revenue = {r.dimension: r.target for r in rows if r.kpi == "revenue"}
    # The week of Mon 2024-03-04: O1 (web, C1 of Seoul) 10,000 and O2 (store S1, in Seoul)
    # 30,000 completed, O3 cancelled; each value's plan is its own last year * 1.05.
    assert revenue == {
        "": 42_000.0,
        "store=S1": 31_500.0,
        "region=Seoul": 42_000.0,
        "channel=web": 10_500.0,
        "channel=store": 31_500.0,
    }
    # Online visits belong to no store: a total target, none per store.
    visits = {r.dimension for r in rows if r.kpi == "visits"}
    assert "" in visits
    assert not any(d.startswith("store=") for d in visits)
    daily = plan_targets(
        engine, {"cxo": (Grain.DAY, date(2025, 3, 24), date(2025, 3, 25))}, dimensions=["store"]
    )
    assert {r.dimension for r in daily} == {""}  # a store's day is too noisy to plan
