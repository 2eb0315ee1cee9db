"""What the journeys say in aggregate: the top paths, path lengths, time to convert, and
how many store (offline) orders prior touches explain, as Ibis expressions over
`omnikpi.marketing.journeys` (nothing here is per customer).

>>> top_paths(build_journeys(sources, start, end, settings), limit=10).execute()  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from omnikpi.marketing.journeys import (
    OFFLINE_CHANNEL,
    JourneySettings,
    TouchSources,
    conversions,
)


def top_paths(journeys: ir.Table, limit: int = 10) -> ir.Table:
    """The `limit` paths most journeys took: `path`, `journeys`, `conversions`,
    `conversion_rate` (conversions / journeys), `revenue`; ties by path."""
    converted = journeys.converted.cast("int64")
    counts = journeys.group_by("path").aggregate(
        journeys=journeys.count(),
        conversions=converted.sum(),
        revenue=journeys.revenue.sum(where=journeys.converted).fill_null(0.0),
    )
    counts = counts.mutate(conversion_rate=counts.conversions / counts.journeys)
    ordered = counts.order_by([ibis.desc("journeys"), ibis.desc("conversions"), "path"])
    return ordered.select("path", "journeys", "conversions", "conversion_rate", "revenue").limit(
        limit
    )


def path_lengths(journeys: ir.Table, longest: int = 10) -> ir.Table:
    """Journeys and conversions per number of touches: `touches`, `journeys`,
    `conversions`, `conversion_rate`, shortest first; the row `touches == longest` counts
    the journeys of `longest` touches or more."""
    touches = ibis.least(journeys.touches, longest)
    counts = (
        journeys.mutate(touches=touches)
        .group_by("touches")
        .aggregate(journeys=ibis._.count(), conversions=ibis._.converted.cast("int64").sum())
    )
    counts = counts.mutate(conversion_rate=counts.conversions / counts.journeys)
    return counts.order_by("touches")


def time_to_convert(journeys: ir.Table) -> ir.Table:
    """One row: converting `journeys` and days from the first touch to the order, their
    `median_days` and `p90_days` (linear interpolation between the ordered values) and
    `mean_touches`."""
    converting = journeys.filter(journeys.converted)
    days = converting.days_to_convert
    return converting.aggregate(
        journeys=converting.count(),
        median_days=days.quantile(0.5),
        p90_days=days.quantile(0.9),
        mean_touches=converting.touches.mean(),
    )


def offline_matching(
    sources: TouchSources,
    touches: ir.Table,
    start: datetime,
    end: datetime,
    settings: JourneySettings,
) -> tuple[ir.Table, ir.Table]:
    """Store orders in [start, end) linked to prior touches of the same customer.

    Returns (summary, channels): one row with `store_orders`, `store_revenue`,
    `identified_orders` (with a customer), `matched_orders` and `matched_revenue` (with a
    touch within the lookback); and per `channel` the matched `orders` it touched and the
    `revenue_influenced` (their whole revenue: a channel touching an order influenced all
    of it, so channels overlap and do not sum to the matched revenue).
    `touches` is `journey_touches(...)` with offline conversions included.
    """
    if not settings.include_offline:
        raise ValueError("offline matching needs journeys with offline conversions")
    orders = conversions(sources, settings)
    store = orders.filter(orders.offline & (orders.placed_at >= start) & (orders.placed_at < end))
    matched_ids = (
        touches.filter(touches.converted & touches.offline).select(matched="order_id").distinct()
    )
    marked = store.left_join(matched_ids, store.order_id == matched_ids.matched).mutate(
        is_matched=lambda t: t.matched.notnull()
    )
    summary = marked.aggregate(
        store_orders=marked.count(),
        store_revenue=marked.revenue.sum().fill_null(0.0),
        identified_orders=marked.person_id.notnull().cast("int64").sum().fill_null(0),
        matched_orders=marked.is_matched.cast("int64").sum().fill_null(0),
        matched_revenue=marked.revenue.sum(where=marked.is_matched).fill_null(0.0),
    )
    offline = touches.filter(touches.converted & touches.offline)
    pairs = offline.select("channel", "order_id", "revenue").distinct()
    channels = pairs.group_by("channel").aggregate(
        orders=pairs.count(), revenue_influenced=pairs.revenue.sum()
    )
    return summary, channels.order_by([ibis.desc("revenue_influenced"), "channel"])


__all__ = ["OFFLINE_CHANNEL", "offline_matching", "path_lengths", "time_to_convert", "top_paths"]
