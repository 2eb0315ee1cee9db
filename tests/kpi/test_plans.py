"""Targets planned from last year: hand-computed on the golden data, then used by queries."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from omnikpi.kpi import Grain, KpiQuery, load_catalog, query
from omnikpi.kpi.plans import demo_periods, plan_targets, planned_target
from omnikpi.kpi.targets import import_targets
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick


@pytest.mark.parametrize(
    ("last_year", "direction", "unit", "expected"),
    [
        (40_000.0, "up", "currency", 42_000.0),
        (1_001.0, "up", "count", 1_051.0),  # 1,051.05 rounds to a whole count
        (0.2, "down", "percent", 0.19),
        (0.123456, "up", "percent", 0.13),  # 0.1296 to 0.1 point
        (2.0, "down", "hours", 1.9),
    ],
)
def test_planned_target_moves_last_year_in_the_good_direction(
    last_year: float, direction: str, unit: str, expected: float
) -> None:
    assert planned_target(last_year, direction, unit, 0.05) == pytest.approx(expected)


def test_plan_from_the_golden_year_before(golden_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_path, path)
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        engine = KpiQuery(catalog, warehouse)
        periods = {"cxo": (Grain.MONTH, date(2025, 2, 1), date(2025, 3, 31))}
        rows = plan_targets(engine, periods)
        import_targets(warehouse, rows)
    revenue = {r.period_start: r.target for r in rows if r.kpi == "revenue"}
    # March 2024: completed O1 10,000 + O2 30,000 (O3 cancelled) -> 40,000 * 1.05.
    # February 2024 is before the first order: no value, so no target.
    assert revenue == {date(2025, 3, 1): 42_000.0}
    assert all(r.grain == "month" and r.dimension == "" for r in rows)
    result = query(["revenue"], "month", "2025-02-01", "2025-03-31", warehouse=path)
    # March 2025: O6 27,000 + O7 22,000 + O8 12,000 + O10 5,000 + O11 5,000 = 71,000.
    assert pick(result, "revenue", "2025-03-01") == 71_000
    assert pick(result, "revenue", "2025-03-01", "target") == 42_000
    assert pick(result, "revenue", "2025-03-01", "status") == "green"
    assert pick(result, "revenue", "2025-02-01", "target") is None


def test_demo_plans_every_tier_at_its_grain() -> None:
    periods = demo_periods(load_catalog(), date(2025, 12, 31))
    assert periods["cxo"] == (Grain.MONTH, date(2024, 12, 1), date(2025, 12, 31))
    assert periods["lead"][0] is Grain.WEEK
    members = [t for t in periods if t.startswith("member:")]
    assert len(members) == 7
    assert all(periods[t] == (Grain.DAY, date(2025, 11, 2), date(2025, 12, 31)) for t in members)
