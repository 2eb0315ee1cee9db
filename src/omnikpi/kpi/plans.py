"""Targets planned from history: last year's value, improved by a growth rate within bounds.

A first plan many retailers start from (and what `omnikpi demo` imports, so the demo's
dashboards show targets and RAG status). The rules:

- **Last year.** Months, quarters and years plan from the same calendar period a year
  before, weeks from the week 52 weeks before. Days plan from the mean of the same weekday
  in the four weeks ending 52 weeks before (days -364, -371, -378 and -385): one day is
  too noisy to plan from.
- **Improved within the bounds.** The target moves last year's value in the KPI's good
  direction by `growth` of the value, or by `growth` of the room left to the KPI's bound
  in that direction, whichever is smaller. Far from the bound this is +5%; near it the
  target closes 5% of the gap (98.0% order completion aims at 98.1%, not 102.9%); a KPI
  already at its bound (100% shop availability) keeps last year's value. A target never
  lies outside the KPI's bounds.
- **Per store, region and channel too.** With `dimensions`, weeks and longer periods also
  get a target per value of each dimension a KPI can be cut by (`store=S001`), planned the
  same way from that value's own last year, so a dashboard filtered to one store is held
  to that store's plan. Days are planned for the total only: one store's day is too noisy.
- **Only from whole data.** A period gets a target only when the data covers everything
  last year's value reads: the whole period (all four days for a day), the window of a
  trailing measure (active customers look back 365 days) and the previous period of a
  retention rate. A month the data covers only in part would plan from a few days.

Targets are rounded the way the KPI is reported: whole counts and money, percents to 0.1
point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.periods import Grain, period_end, period_start, shift
from omnikpi.kpi.spec import KpiSpec
from omnikpi.kpi.targets import TargetRow

#: Decimal places a planned target keeps, by unit (percents are fractions).
DIGITS = {"count": 0, "currency": 0, "percent": 3}
#: Days before a day whose same-weekday values its planned target averages.
SAME_WEEKDAY_LAST_YEAR = (364, 371, 378, 385)


def planned_target(last_year: float, kpi: KpiSpec, growth: float) -> float:
    """Last year's value moved in the KPI's good direction by `growth` of the value or of
    the room left to its bound, whichever is smaller; rounded, inside the bounds."""
    low, high = kpi.bounds or (None, None)
    up = kpi.direction == "up"
    step = abs(last_year) * growth
    bound = high if up else low
    if bound is not None:
        room = max(0.0, bound - last_year if up else last_year - bound)
        step = min(step, room * growth)
    moved = last_year + step if up else last_year - step
    return kpi.clamp(round(moved, DIGITS.get(kpi.unit, 2)))


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
    dimensions: Sequence[str] = (),
) -> list[TargetRow]:
    """Targets for the KPIs of each tier in `periods` (tier -> grain, start, end; the
    periods that overlap the range, whole) by the rules of this module; periods without a
    value last year, or whose last year the data covers only in part, get none. Weeks and
    longer also get targets per value of each of `dimensions` the KPI can be cut by.

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
        first = period_start(start, grain)
        last = period_end(period_start(end, grain), grain)
        history = _last_year(engine, [k.id for k in kpis], grain, first, last)
        for kpi in kpis:
            for (period, value_of), value in history.get(kpi.id, {}).items():
                target = planned_target(value, kpi, growth)
                rows.append(TargetRow(kpi.id, grain.value, period, value_of, target, None))
        for dimension in dimensions if grain is not Grain.DAY else ():
            cut = [k.id for k in kpis if dimension in engine.dimensions(k.id)]
            if not cut:
                continue
            history = _last_year(engine, cut, grain, first, last, dimension)
            for kpi_id, planned_values in history.items():
                kpi = catalog.get(kpi_id)
                for (period, value_of), value in planned_values.items():
                    target = planned_target(value, kpi, growth)
                    rows.append(TargetRow(kpi_id, grain.value, period, value_of, target, None))
    return rows


def _last_year(
    engine: KpiQuery,
    kpi_ids: list[str],
    grain: Grain,
    first: date,
    last: date,
    dimension: str | None = None,
) -> dict[str, dict[tuple[date, str], float]]:
    """KPI -> (period start, target dimension) -> last year's value, for the periods of
    [first, last] whose last year the data wholly covers and has a value for: the total
    ('') or, with `dimension`, each of its values ('store=S001')."""
    if grain is Grain.DAY:
        means = _same_weekday_means(engine, kpi_ids, first, last)
        return {k: {(day, ""): v for day, v in days.items()} for k, days in means.items()}
    by = [dimension] if dimension else []
    frame = engine.run(kpi_ids, grain, first, last, compare="yoy", by=by)
    keys = (
        [None if v is None else f"{dimension}={v}" for v in frame[dimension]]
        if dimension
        else [""] * len(frame)
    )
    history: dict[str, dict[tuple[date, str], float]] = {}
    for kpi_id, period, key, value in zip(
        frame["kpi"], frame["period_start"], keys, frame["comparison_value"], strict=True
    ):
        before = shift(period, grain, "yoy")
        if key is not None and value is not None and engine.covers(str(kpi_id), grain, [before]):
            history.setdefault(str(kpi_id), {})[(period, key)] = float(value)
    return history


def _same_weekday_means(
    engine: KpiQuery, kpi_ids: list[str], first: date, last: date
) -> dict[str, dict[date, float]]:
    """KPI -> day -> mean of its values on the days `SAME_WEEKDAY_LAST_YEAR` before (those
    with a value: a rate of a day without visits has none)."""
    earliest = first - timedelta(days=max(SAME_WEEKDAY_LAST_YEAR))
    latest = last - timedelta(days=min(SAME_WEEKDAY_LAST_YEAR))
    frame = engine.run(kpi_ids, Grain.DAY, earliest, latest)
    values: dict[tuple[str, date], float] = {
        (str(k), p): float(v)
        for k, p, v in zip(frame["kpi"], frame["period_start"], frame["value"], strict=True)
        if v is not None
    }
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    history: dict[str, dict[date, float]] = {}
    for kpi_id in kpi_ids:
        for day in days:
            before = [day - timedelta(days=n) for n in SAME_WEEKDAY_LAST_YEAR]
            found = [values[(kpi_id, d)] for d in before if (kpi_id, d) in values]
            if found and engine.covers(kpi_id, Grain.DAY, before):
                history.setdefault(kpi_id, {})[day] = math.fsum(found) / len(found)
    return history
