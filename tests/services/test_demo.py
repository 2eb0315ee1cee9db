"""The demo warehouse (`omnikpi demo`, the shared simulated retailer): its KPI values and its
plan of targets stay inside every KPI's bounds, and the plan reads only whole data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_DAYS, SIM_END, query


@pytest.fixture(scope="module")
def targets(engine: KpiQuery) -> list[tuple[object, ...]]:
    """The demo's target rows: kpi, grain, period_start, dimension, target."""
    warehouse = engine.engine
    assert isinstance(warehouse, Warehouse)
    return query(warehouse, "SELECT kpi, grain, period_start, dimension, target FROM kpi_targets")


@pytest.fixture(scope="module")
def plan(targets: list[tuple[object, ...]]) -> dict[tuple[str, str, date], float]:
    """The demo's targets for the total: (kpi, grain, period_start) -> target."""
    return {
        (str(kpi), str(grain), start): float(str(target))
        for kpi, grain, start, dimension, target in targets
        if isinstance(start, date) and dimension == ""
    }


def test_the_demo_plans_each_store_region_and_channel_from_its_own_year_before(
    targets: list[tuple[object, ...]], engine: KpiQuery
) -> None:
    catalog = load_catalog()
    cut = {str(d).split("=")[0] for *_, d, _ in targets if d}
    assert cut == {"store", "region", "channel"}
    assert all(catalog.get(str(k)).within_bounds(float(str(t))) for k, *_, t in targets)
    assert {g for _, g, _, d, _ in targets if d} <= {"week", "month"}  # days: totals only
    december = date(2025, 12, 1)
    stores = {
        str(d): float(str(t))
        for k, g, p, d, t in targets
        if (k, g, p) == ("revenue", "month", december) and str(d).startswith("store=")
    }
    last_year = engine.run(["revenue"], "month", "2024-12-01", "2024-12-31", by=["store"])
    expected = {
        f"store={s}": round(float(v) * 1.05)
        for s, v in zip(last_year["store"], last_year["value"], strict=True)
        if s is not None
    }
    assert stores == expected


def test_the_demo_plan_has_no_target_outside_any_kpis_bounds(
    plan: dict[tuple[str, str, date], float],
) -> None:
    catalog = load_catalog()
    assert len(plan) > 2_000
    outside = {key: t for key, t in plan.items() if not catalog.get(key[0]).within_bounds(t)}
    assert outside == {}
    # Rates close to 100% last year (planned +5% they were 103.4%, 105% and 105%).
    for kpi, grain in [
        ("order_completion_rate", "month"),
        ("shop_availability", "week"),
        ("csat", "day"),
    ]:
        targets = [t for (k, g, _), t in plan.items() if (k, g) == (kpi, grain)]
        assert targets, kpi
        assert max(targets) <= 1.0


def test_the_demo_plans_only_from_periods_the_data_wholly_covers(
    plan: dict[tuple[str, str, date], float], engine: KpiQuery
) -> None:
    first_day = SIM_END - timedelta(days=SIM_DAYS - 1)
    assert first_day == date(2024, 9, 8)
    # The scorecard plans December 2024 to December 2025 from a year before; the data
    # covers October 2024 onwards wholly, September 2024 only from the 8th: no target for
    # September 2025 (it would have been planned from 23 days of revenue).
    months = sorted(p for (k, g, p) in plan if (k, g) == ("revenue", "month"))
    assert months == [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)]
    last_year = engine.run(["revenue"], "month", "2024-12-01", "2024-12-31")
    december = float(last_year["value"].iloc[0])
    assert plan[("revenue", "month", date(2025, 12, 1))] == round(december * 1.05)
    # Active customers look back 365 days from last year's period: never wholly in 480 days.
    assert not any(k == "active_customers" for (k, _, _) in plan)


def test_a_demo_day_target_averages_the_same_weekday_of_four_weeks_a_year_before(
    plan: dict[tuple[str, str, date], float], engine: KpiQuery
) -> None:
    # Wed 2025-12-03 plans from the Wednesdays 364, 371, 378 and 385 days before.
    day = date(2025, 12, 3)
    before = [day - timedelta(days=n) for n in (364, 371, 378, 385)]
    assert before == [date(2024, 12, 4), date(2024, 11, 27), date(2024, 11, 20), date(2024, 11, 13)]
    assert {d.weekday() for d in [day, *before]} == {2}
    values = engine.run(["service_tickets"], "day", before[-1], before[0])
    by_day = dict(zip(values["period_start"], values["value"], strict=True))
    mean = sum(float(by_day[d]) for d in before) / 4
    # Service tickets: lower is better, a whole count: the mean less 5%, rounded.
    assert plan[("service_tickets", "day", day)] == round(mean * 0.95)
    # the four days differ, so the mean is not any one of them (a count near 2 a day may
    # still round to one day's plan, which the simulated data once did)
    assert len({float(by_day[d]) for d in before}) > 1


def test_every_kpi_of_the_demo_lies_within_its_bounds(engine: KpiQuery) -> None:
    catalog = load_catalog()
    monthly = [k.id for k in catalog.kpis.values()]
    values = engine.run(monthly, "month", "2024-09-01", "2025-12-31")
    outside = [
        (kpi, str(period), value)
        for kpi, period, value in zip(
            values["kpi"], values["period_start"], values["value"], strict=True
        )
        if value is not None and not catalog.get(str(kpi)).within_bounds(float(value))
    ]
    assert outside == []
    assert values["value"].notna().sum() > 1_500


def test_the_demo_stores_the_customer_360_of_its_last_day(sim: Warehouse) -> None:
    """The customer pages read stored profiles when they describe the data's last day with
    the rules in effect: the demo builds them, one row per customer."""
    as_of, rows, rules = query(
        sim, "SELECT max(as_of), count(*), count(DISTINCT rules) FROM customer_profiles"
    )[0]
    customers = query(sim, "SELECT count(*) FROM customers")[0][0]
    assert (as_of, rows, rules) == (SIM_END, customers, 1)
