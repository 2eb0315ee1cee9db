"""Journeys read from the warehouse, for attribution, the journey explorer and offline
conversion matching. Journeys are built per customer inside this module and only their
aggregates leave it (paths with counts, distributions, per-channel totals), so no
customer-level guard applies to what it returns.

The period is of local days (the warehouse's time zone): conversions are the orders placed
in it; by default the last 90 days of orders.

>>> explore_journeys(settings, JourneyRequest(lookback_days=14), top=10).top_paths  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis.expr.types as ir

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.journey_summary import (
    offline_matching,
    path_lengths,
    time_to_convert,
    top_paths,
)
from omnikpi.marketing.journeys import (
    JourneySettings,
    TouchSources,
    build_journeys,
    conversions,
    journey_touches,
    journeys_from_touches,
    path_counts,
    paths_from_counts,
)
from omnikpi.marketing.paths import JourneyPaths
from omnikpi.services.touch_sources import touch_sources
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "LONGEST_PATH",
    "JourneyAnalysis",
    "JourneyReport",
    "JourneyRequest",
    "JourneySettings",
    "OfflineReport",
    "analyse_journeys",
    "explore_journeys",
    "match_offline",
    "read_journey_paths",
    "touch_sources",
]

#: Days of orders a request without a start reads (ending on the last day with orders).
DEFAULT_PERIOD_DAYS = 90
#: The path-length distribution's last row counts journeys of this many touches or more.
LONGEST_PATH = 10


@dataclass(frozen=True)
class JourneyRequest:
    """Which journeys: local days `first` to `last` (None: the last 90 days of orders) and
    how they are cut (`JourneySettings`)."""

    first: date | None = None
    last: date | None = None
    journey: JourneySettings = field(default_factory=JourneySettings)

    def __post_init__(self) -> None:
        if self.first and self.last and self.last < self.first:
            raise ConfigError(
                f"--end {self.last} is before --start {self.first} (give an end on or after "
                "the start)"
            )


def _period(warehouse: Warehouse, request: JourneyRequest) -> tuple[date, date]:
    last = request.last
    if last is None:
        last = warehouse.fetch_value(
            "SELECT CAST(timezone(?, max(placed_at)) AS DATE) FROM orders", [warehouse.time_zone]
        )
        if last is None:
            raise DataError("the warehouse has no orders (load orders to build journeys)")
    first = request.first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if last < first:
        raise ConfigError(f"the period {first} to {last} is empty (give --end after --start)")
    return first, last


def _bounds(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    info = ZoneInfo(zone)
    start = datetime.combine(first, time(), info).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), info).astimezone(UTC)
    return start, end


@dataclass(frozen=True)
class _Opened:
    sources: TouchSources
    first: date
    last: date
    start: datetime
    end: datetime


def _open(warehouse: Warehouse, request: JourneyRequest) -> _Opened:
    sources = touch_sources(warehouse)
    first, last = _period(warehouse, request)
    start, end = _bounds(first, last, warehouse.time_zone)
    return _Opened(sources, first, last, start, end)


def read_journey_paths(
    settings: Settings, request: JourneyRequest, *, with_days: bool = False
) -> JourneyPaths:
    """The warehouse's journeys aggregated to paths, the attribution models' input
    (`with_days`: each touch's whole days before the journey's end, for time decay).

    Raises DataError when the period has no journey with a touch."""
    with read_warehouse(settings) as warehouse:
        opened = _open(warehouse, request)
        journeys = build_journeys(opened.sources, opened.start, opened.end, request.journey)
        frame = warehouse.execute(path_counts(journeys, with_days=with_days))
    if frame.empty:
        raise _no_journeys(opened)
    return paths_from_counts(frame)


def _no_journeys(opened: _Opened) -> DataError:
    return DataError(
        f"no journeys from {opened.first} to {opened.last} (no touches in the lookback "
        "of any order or after; widen the period with --start/--end)"
    )


@dataclass(frozen=True)
class JourneyReport:
    """The journey explorer: totals, top paths, path lengths and time to convert."""

    first: date
    last: date
    lookback_days: float
    include_offline: bool
    journeys: int
    converting: int
    orders: int
    revenue: float
    orders_without_touch: int
    revenue_without_touch: float
    top_paths: list[dict[str, Any]]
    lengths: list[dict[str, Any]]
    median_days_to_convert: float | None
    p90_days_to_convert: float | None
    mean_touches_to_convert: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "lookback_days": self.lookback_days,
            "include_offline": self.include_offline,
            "journeys": self.journeys,
            "converting_journeys": self.converting,
            "non_converting_journeys": self.journeys - self.converting,
            "orders": self.orders,
            "revenue": self.revenue,
            "orders_without_touch": self.orders_without_touch,
            "revenue_without_touch": self.revenue_without_touch,
            "time_to_convert": {
                "median_days": self.median_days_to_convert,
                "p90_days": self.p90_days_to_convert,
                "mean_touches": self.mean_touches_to_convert,
            },
            "top_paths": self.top_paths,
            "path_lengths": self.lengths,
            "path_lengths_last_row": f"{LONGEST_PATH} touches or more",
        }


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def explore_journeys(
    settings: Settings, request: JourneyRequest, *, top: int = 10
) -> JourneyReport:
    """Top `top` paths, path lengths and time to convert of the warehouse's journeys."""
    if top < 1:
        raise ConfigError(f"--top {top} is not valid (give 1 or more)")
    with read_warehouse(settings) as warehouse:
        opened = _open(warehouse, request)
        journeys = build_journeys(opened.sources, opened.start, opened.end, request.journey)
        return _explore(warehouse, opened, journeys, request, top)


def _explore(
    warehouse: Warehouse, opened: _Opened, journeys: ir.Table, request: JourneyRequest, top: int
) -> JourneyReport:
    orders = conversions(opened.sources, request.journey)
    orders = orders.filter((orders.placed_at >= opened.start) & (orders.placed_at < opened.end))
    totals = warehouse.execute(
        orders.aggregate(orders=orders.count(), revenue=orders.revenue.sum().fill_null(0.0))
    ).iloc[0]
    counted = warehouse.execute(
        journeys.aggregate(
            journeys=journeys.count(),
            converting=journeys.converted.cast("int64").sum().fill_null(0),
            revenue=journeys.revenue.sum(where=journeys.converted).fill_null(0.0),
        )
    ).iloc[0]
    paths = warehouse.execute(top_paths(journeys, top)).to_dict("records")
    lengths = warehouse.execute(path_lengths(journeys, LONGEST_PATH)).to_dict("records")
    timing = warehouse.execute(time_to_convert(journeys)).iloc[0]
    converting = int(counted.converting)
    return JourneyReport(
        first=opened.first,
        last=opened.last,
        lookback_days=request.journey.lookback_days,
        include_offline=request.journey.include_offline,
        journeys=int(counted.journeys),
        converting=converting,
        orders=int(totals.orders),
        revenue=float(totals.revenue),
        orders_without_touch=int(totals.orders) - converting,
        revenue_without_touch=float(totals.revenue) - float(counted.revenue),
        top_paths=[_plain(row) for row in paths],
        lengths=[_plain(row) for row in lengths],
        median_days_to_convert=_number(timing.median_days),
        p90_days_to_convert=_number(timing.p90_days),
        mean_touches_to_convert=_number(timing.mean_touches),
    )


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row with numpy scalars as Python numbers (for JSON)."""
    return {
        str(key): value.item() if hasattr(value, "item") else value for key, value in row.items()
    }


@dataclass(frozen=True)
class OfflineReport:
    """Store orders matched to prior touches of the same customer, and per channel the
    matched orders it touched and their revenue (influenced: channels overlap)."""

    first: date
    last: date
    lookback_days: float
    store_orders: int
    store_revenue: float
    identified_orders: int
    matched_orders: int
    matched_revenue: float
    channels: list[dict[str, Any]]

    @property
    def matched_share(self) -> float | None:
        return self.matched_orders / self.store_orders if self.store_orders else None

    @property
    def matched_revenue_share(self) -> float | None:
        return self.matched_revenue / self.store_revenue if self.store_revenue else None

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "lookback_days": self.lookback_days,
            "store_orders": self.store_orders,
            "store_revenue": self.store_revenue,
            "identified_orders": self.identified_orders,
            "matched_orders": self.matched_orders,
            "matched_revenue": self.matched_revenue,
            "matched_share": self.matched_share,
            "matched_revenue_share": self.matched_revenue_share,
            "channels": self.channels,
        }


def match_offline(settings: Settings, request: JourneyRequest) -> OfflineReport:
    """Store (POS) orders of the period linked to prior ad, message and site touches of
    the same customer within the lookback."""
    if not request.journey.include_offline:
        raise ConfigError("offline matching reads store orders (drop --online-only)")
    with read_warehouse(settings) as warehouse:
        opened = _open(warehouse, request)
        touches = journey_touches(opened.sources, opened.start, opened.end, request.journey)
        return _offline(warehouse, opened, touches, request)


def _offline(
    warehouse: Warehouse, opened: _Opened, touches: ir.Table, request: JourneyRequest
) -> OfflineReport:
    summary, channels = offline_matching(
        opened.sources, touches, opened.start, opened.end, request.journey
    )
    row = warehouse.execute(summary).iloc[0]
    rows = warehouse.execute(channels).to_dict("records")
    return OfflineReport(
        first=opened.first,
        last=opened.last,
        lookback_days=request.journey.lookback_days,
        store_orders=int(row.store_orders),
        store_revenue=float(row.store_revenue),
        identified_orders=int(row.identified_orders),
        matched_orders=int(row.matched_orders),
        matched_revenue=float(row.matched_revenue),
        channels=[_plain(r) for r in rows],
    )


@dataclass(frozen=True)
class JourneyAnalysis:
    """Everything the attribution page reads of one period's journeys: the paths (`timed`
    with each touch's days before the journey's end, for time decay), the explorer and the
    offline matching (None when store orders are left out)."""

    paths: JourneyPaths
    timed: JourneyPaths
    report: JourneyReport
    offline: OfflineReport | None


def analyse_journeys(
    settings: Settings, request: JourneyRequest, *, top: int = 10
) -> JourneyAnalysis:
    """`read_journey_paths` (plain and timed), `explore_journeys` and `match_offline` of
    one request from journeys built once (materialized for the connection), not four
    times. Raises DataError when the period has no journey with a touch."""
    if top < 1:
        raise ConfigError(f"--top {top} is not valid (give 1 or more)")
    with read_warehouse(settings) as warehouse:
        opened = _open(warehouse, request)
        tag = uuid.uuid4().hex[:12]
        touches = warehouse.materialize(
            journey_touches(opened.sources, opened.start, opened.end, request.journey),
            f"_journey_touches_{tag}",
        )
        journeys = warehouse.materialize(journeys_from_touches(touches), f"_journeys_{tag}")
        frame = warehouse.execute(path_counts(journeys, with_days=True))
        if frame.empty:
            raise _no_journeys(opened)
        counts = ["conversions", "non_conversions", "value"]
        plain = frame.groupby("path", as_index=False, sort=False)[counts].sum()
        report = _explore(warehouse, opened, journeys, request, top)
        offline = (
            _offline(warehouse, opened, touches, request)
            if request.journey.include_offline
            else None
        )
    return JourneyAnalysis(paths_from_counts(plain), paths_from_counts(frame), report, offline)
