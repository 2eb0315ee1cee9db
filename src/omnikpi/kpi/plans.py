"""Targets planned from history: the same period a year before, improved by a growth rate.

A first plan many retailers start from (and what `omnikpi demo` imports, so the demo's
scorecard shows targets and RAG status): for a KPI where higher is better the target is
last year's value times (1 + growth), where lower is better times (1 - growth). Targets
are rounded the way the KPI is reported: whole counts and money, percents to 0.1 point.

    >>> planned_target(1000.0, "up", "count", 0.05), planned_target(0.2, "down", "percent", 0.05)
    (1050.0, 0.19)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.periods import Grain
from omnikpi.kpi.targets import TargetRow

#: Decimal places a planned target keeps, by unit (percents are fractions).
DIGITS = {"count": 0, "currency": 0, "percent": 3}


def planned_target(last_year: float, direction: str, unit: str, growth: float) -> float:
    """Last year's value moved by `growth` in the KPI's good direction, rounded."""
    factor = 1 + growth if direction == "up" else 1 - growth
    return round(last_year * factor, DIGITS.get(unit, 2))


def demo_periods(catalog: Catalog, last_day: date) -> dict[str, tuple[Grain, date, date]]:
    """What the demo plans: 13 months for executives, 26 weeks for team leads, 60 days for
    members, up to `last_day`."""
    periods = {
        "cxo": (Grain.MONTH, date(last_day.year - 1, last_day.month, 1), last_day),
        "lead": (Grain.WEEK, last_day - timedelta(weeks=26), last_day),
    }
    members = {t for k in catalog.kpis.values() for t in k.tiers if t.startswith("member:")}
    for tier in sorted(members):
        periods[tier] = (Grain.DAY, last_day - timedelta(days=59), last_day)
    return periods


def plan_targets(
    engine: KpiQuery,
    periods: Mapping[str, tuple[Grain, date, date]],
    growth: float = 0.05,
) -> list[TargetRow]:
    """Targets for the KPIs of each tier in `periods` (tier -> grain, start, end) from the
    same periods a year before; periods without last year's value get none.

    Share KPIs (one value per dimension value) are left out: their targets are per value.
    """
    catalog: Catalog = engine.catalog
    rows: list[TargetRow] = []
    planned: set[tuple[str, str]] = set()
    for tier, (grain, start, end) in periods.items():
        kpis = [
            k
            for k in catalog.select(tier=tier)
            if k.measure.type != "share"
            and (k.id, grain.value) not in planned
            and grain.order >= k.min_grain.order
        ]
        if not kpis:
            continue
        planned |= {(k.id, grain.value) for k in kpis}
        frame = engine.run([k.id for k in kpis], grain, start, end, compare="yoy")
        by_id = {k.id: k for k in kpis}
        for kpi_id, period, last_year in zip(
            frame["kpi"], frame["period_start"], frame["comparison_value"], strict=True
        ):
            if last_year is None:
                continue
            kpi = by_id[str(kpi_id)]
            target = planned_target(float(last_year), kpi.direction, kpi.unit, growth)
            rows.append(TargetRow(kpi.id, grain.value, period, "", target, None))
    return rows
