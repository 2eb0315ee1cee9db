"""Customer 360: one row per customer with its order, visit, service and loyalty features
as of a date, computed from the canonical tables by pure Ibis expressions.

`customer_features` is what lifecycle segments and RFM scores read; `customer_profiles`
adds the segment, the RFM scores and group, and the CLV and P(alive) the CLV models wrote
to `customer_scores` (when they have run). Everything counts what happened up to the end
of the local day `as_of` (in the warehouse's time zone), so a profile of an earlier date
is the profile the customer had then — except the loyalty tier, which the data only holds
as it is now.

Definitions:
- an order counts unless cancelled; revenue is its `net_amount` (merchandise after
  discounts); gross profit is the lines' net amount minus quantity x unit cost (lines
  without a unit cost are left out);
- a delivery is late when its promised local date has passed and it was not delivered by
  then (delivered later, or still not delivered at `as_of`);
- "recent" features count the last `recent_days` local days up to `as_of`; the "window"
  ones the last `value_window_days`;
- a cart is abandoned when the customer's latest add-to-cart of the recent window comes
  after their latest order.

>>> profiles = customer_profiles(warehouse, date(2025, 12, 31), rules)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from omnikpi.customers.rfm import rfm_scores
from omnikpi.customers.segments import SegmentRules, Windows, assign_segments
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.warehouse import Tables

__all__ = ["CUSTOMER_PROFILES", "customer_features", "customer_profiles", "day_end"]


def day_end(day: date, zone: str) -> datetime:
    """The instant the local day `day` ends in `zone` (the next local midnight).

    >>> day_end(date(2025, 3, 31), "Asia/Seoul").isoformat()
    '2025-03-31T15:00:00+00:00'
    """
    midnight = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(zone))
    return midnight.astimezone(UTC)


def _dates(as_of: Sequence[date], zone: str, windows: Windows) -> ir.Table:
    """One row per date: `as_of`, the instant it ends and the starts of its windows."""
    rows = {
        "as_of": list(as_of),
        "_end": [day_end(d, zone) for d in as_of],
        "_recent_start": [day_end(d - timedelta(days=windows.recent_days), zone) for d in as_of],
        "_window_start": [
            day_end(d - timedelta(days=windows.value_window_days), zone) for d in as_of
        ],
        "_recent_first_day": [d - timedelta(days=windows.recent_days - 1) for d in as_of],
    }
    instant = "timestamp('UTC', 6)"
    schema = {
        "as_of": "date",
        "_end": instant,
        "_recent_start": instant,
        "_window_start": instant,
        "_recent_first_day": "date",
    }
    return ibis.memtable(rows, schema=schema)


def _days(as_of: ir.DateValue, value: ir.Value) -> ir.IntegerValue:
    """Local days from the instant or date `value` to `as_of`."""
    day = value if value.type().is_date() else value.date()
    return as_of.delta(day, unit="day")


def _until(table: ir.Table, column: str, dates: ir.Table) -> ir.Table:
    """`table`'s rows paired with each date they happened before the end of."""
    return table.join(dates, table[column] < dates._end)


def customer_features(
    tables: Tables, as_of: date | Sequence[date], windows: Windows = Windows()
) -> ir.Table:
    """One row per customer signed up by the end of `as_of` (per date, when several are
    given: then each row is the customer as of its `as_of`), with the features of the
    module docstring (every column of CUSTOMER_PROFILES up to `push_consent`)."""
    days = [as_of] if isinstance(as_of, date) else list(as_of)
    dates = _dates(days, tables.time_zone, windows)
    keys = ["customer_id", "as_of"]

    customers = _until(tables.table("customers"), "created_at", dates)
    orders = tables.table("orders")
    orders = orders.filter(orders.customer_id.notnull(), orders.status != "cancelled")
    dated = _until(orders, "placed_at", dates)
    in_window = dated.placed_at >= dated._window_start
    per_order = dated.group_by(keys).aggregate(
        orders=dated.count(),
        revenue=dated.net_amount.sum(),
        first_order_at=dated.placed_at.min(),
        last_order_at=dated.placed_at.max(),
        orders_window=dated.count(where=in_window),
        revenue_window=dated.net_amount.sum(where=in_window),
    )
    # The first order never changes once placed: one per customer, kept where it came first.
    ranked = orders.mutate(
        _rank=ibis.row_number().over(
            group_by=orders.customer_id, order_by=[orders.placed_at, orders.order_id]
        )
    )
    first = ranked.filter(ranked._rank == 0).select(
        "customer_id", first_channel="channel", first_store_id="store_id", _first_at="placed_at"
    )
    lines = tables.table("order_lines")
    products = tables.table("products")
    sold = dated.select("order_id", *keys).join(lines, "order_id")
    margin = sold.group_by(keys).aggregate(
        gross_profit=(sold.net_amount - sold.quantity * sold.unit_cost).sum()
    )
    categories = _listed(
        sold.join(products.select("product_id", "category"), "product_id"), "category", "categories"
    )
    channels = _listed(dated, "channel", "channels")
    stores = _listed(dated.filter(dated.store_id.notnull()), "store_id", "stores")

    sessions = tables.table("sessions")
    sessions = _until(sessions.filter(sessions.customer_id.notnull()), "started_at", dates)
    visits = sessions.group_by(keys).aggregate(
        visits=sessions.count(),
        visits_recent=sessions.count(where=sessions.started_at >= sessions._recent_start),
        last_visit_at=sessions.started_at.max(),
    )
    tickets = tables.table("tickets")
    tickets = _until(tickets.filter(tickets.customer_id.notnull()), "opened_at", dates)
    complaint = tickets.kind == "complaint"
    service = tickets.group_by(keys).aggregate(
        tickets=tickets.count(),
        complaints=tickets.count(where=complaint),
        complaints_recent=tickets.count(
            where=complaint & (tickets.opened_at >= tickets._recent_start)
        ),
    )
    late = _late_deliveries(tables, orders, dates)
    reviews = tables.table("reviews")
    reviews = _until(reviews.filter(reviews.customer_id.notnull()), "created_at", dates)
    rated = reviews.group_by(keys).aggregate(
        reviews=reviews.count(),
        average_rating=reviews.rating.mean(),
        bad_reviews_recent=reviews.count(
            where=(reviews.rating <= windows.bad_review_max_rating)
            & (reviews.created_at >= reviews._recent_start)
        ),
    )
    nps = _last_nps(tables, dates, windows.detractor_max_score)
    carts = _last_cart(tables, dates)
    points = _points(tables, dates)

    joined = customers.left_join(first, "customer_id").drop("customer_id_right")
    for part in (per_order, margin, categories, channels, stores, visits, service, late, rated):
        joined = joined.left_join(part, keys).drop("customer_id_right", "as_of_right")
    for part in (nps, carts, points):
        joined = joined.left_join(part, keys).drop("customer_id_right", "as_of_right")
    j = joined
    end = j._end
    zero = ibis.literal(0)
    has_ordered = j._first_at < end
    member = (
        j.member_since.notnull()
        & (j.member_since < end)
        & (j.member_until.isnull() | (j.member_until >= end))
    )
    features = j.select(
        customer_id=j.customer_id,
        as_of=j.as_of,
        signed_up_at=j.created_at,
        acquisition_channel=j.acquisition_channel,
        region=j.region,
        home_store_id=j.home_store_id,
        orders=j.orders.fill_null(zero),
        revenue=j.revenue.fill_null(zero),
        gross_profit=j.gross_profit,
        average_order_value=(j.revenue.cast("float64") / j.orders.nullif(0)),
        first_order_at=j.first_order_at,
        last_order_at=j.last_order_at,
        days_since_signup=_days(j.as_of, j.created_at),
        days_since_first_order=_days(j.as_of, j.first_order_at),
        days_since_last_order=_days(j.as_of, j.last_order_at),
        orders_window=j.orders_window.fill_null(zero),
        revenue_window=j.revenue_window.fill_null(zero),
        first_channel=ibis.ifelse(has_ordered, j.first_channel, ibis.null(str)),
        first_store_id=ibis.ifelse(has_ordered, j.first_store_id, ibis.null(str)),
        channels=j.channels,
        stores=j.stores,
        categories=j.categories,
        visits=j.visits.fill_null(zero),
        visits_recent=j.visits_recent.fill_null(zero),
        last_visit_at=j.last_visit_at,
        tickets=j.tickets.fill_null(zero),
        complaints=j.complaints.fill_null(zero),
        complaints_recent=j.complaints_recent.fill_null(zero),
        late_deliveries=j.late_deliveries.fill_null(zero),
        late_deliveries_recent=j.late_deliveries_recent.fill_null(zero),
        reviews=j.reviews.fill_null(zero),
        average_rating=j.average_rating,
        bad_reviews_recent=j.bad_reviews_recent.fill_null(zero),
        last_nps_score=j.last_nps_score,
        last_nps_at=j.last_nps_at,
        detractor_recent=j.detractor_recent.fill_null(False),
        last_cart_at=j.last_cart_at,
        cart_abandoned=(
            j.last_cart_at.notnull()
            & (j.last_order_at.isnull() | (j.last_cart_at > j.last_order_at))
        ).fill_null(False),
        is_member=member.fill_null(False),
        member_tier=ibis.ifelse(member, j.member_tier, ibis.null(str)),
        points_balance=j.points_balance.fill_null(zero),
        email_consent=_consent(j.email_opt_in_at, j.email_opt_out_at, end),
        sms_consent=_consent(j.sms_opt_in_at, j.sms_opt_out_at, end),
        push_consent=_consent(j.push_opt_in_at, j.push_opt_out_at, end),
    )
    # Share of the date's customers who spent less in the value window (ties: the share
    # below them).
    percentile = ibis.percent_rank().over(group_by=features.as_of, order_by=features.revenue_window)
    return features.mutate(revenue_window_percentile=percentile.cast("float64"))


def _listed(table: ir.Table, column: str, name: str) -> ir.Table:
    """Per customer and date, the distinct values of `column`, sorted, comma-separated."""
    distinct = table.select("customer_id", "as_of", _value=table[column].cast("string")).distinct()
    return distinct.group_by("customer_id", "as_of").aggregate(
        **{name: distinct._value.group_concat(",", order_by=distinct._value)}
    )


def _late_deliveries(tables: Tables, orders: ir.Table, dates: ir.Table) -> ir.Table:
    shipments = tables.table("shipments")
    parcels = shipments.join(orders.select("order_id", "customer_id"), "order_id")
    parcels = parcels.join(dates, parcels.promised_date < dates.as_of)
    on_time = (
        parcels.delivered_at.notnull()
        & (parcels.delivered_at < parcels._end)
        & (parcels.delivered_at.date() <= parcels.promised_date)
    )
    return parcels.group_by("customer_id", "as_of").aggregate(
        late_deliveries=parcels.count(where=~on_time),
        late_deliveries_recent=parcels.count(
            where=~on_time & (parcels.promised_date >= parcels._recent_first_day)
        ),
    )


def _last_nps(tables: Tables, dates: ir.Table, detractor: int) -> ir.Table:
    surveys = tables.table("surveys")
    answers = surveys.filter(surveys.kind == "nps", surveys.customer_id.notnull())
    answers = _until(answers, "responded_at", dates)
    ranked = answers.mutate(
        _rank=ibis.row_number().over(
            group_by=[answers.customer_id, answers.as_of],
            order_by=[answers.responded_at.desc(), answers.response_id.desc()],
        )
    )
    last = ranked.filter(ranked._rank == 0)
    return last.select(
        "customer_id",
        "as_of",
        last_nps_score=last.score,
        last_nps_at=last.responded_at,
        detractor_recent=(last.score <= detractor) & (last.responded_at >= last._recent_start),
    )


def _last_cart(tables: Tables, dates: ir.Table) -> ir.Table:
    events = tables.table("events")
    carts = events.filter(events.event_type == "add_to_cart", events.customer_id.notnull())
    carts = carts.select("customer_id", "occurred_at")
    carts = carts.join(
        dates, (carts.occurred_at >= dates._recent_start) & (carts.occurred_at < dates._end)
    )
    return carts.group_by("customer_id", "as_of").aggregate(last_cart_at=carts.occurred_at.max())


def _points(tables: Tables, dates: ir.Table) -> ir.Table:
    ledger = _until(tables.table("loyalty_ledger"), "occurred_at", dates)
    signed = ibis.cases((ledger.kind.isin(["burn", "expire"]), -ledger.points), else_=ledger.points)
    return ledger.group_by("customer_id", "as_of").aggregate(points_balance=signed.sum())


def _consent(opt_in: ir.Value, opt_out: ir.Value, end: ir.Value) -> ir.BooleanValue:
    """Consent at `end`: given before it and not withdrawn after it was given."""
    given = opt_in.notnull() & (opt_in < end)
    withdrawn = opt_out.notnull() & (opt_out < end) & (opt_out >= opt_in)
    return (given & ~withdrawn).fill_null(False)


def customer_profiles(tables: Tables, as_of: date, rules: SegmentRules) -> ir.Table:
    """The customer 360 as of `as_of`: `customer_features` with the lifecycle segment,
    the RFM scores and group, and the latest CLV (`clv_3y`) and `p_alive` the CLV models
    wrote to `customer_scores` by then; the columns of
    CUSTOMER_PROFILES, in order and of its types."""
    features = customer_features(tables, as_of, rules.windows)
    profiles = rfm_scores(assign_segments(features, rules), rules.rfm)
    scores = _scores(tables, as_of)
    if scores is None:
        profiles = profiles.mutate(clv=ibis.null("float64"), p_alive=ibis.null("float64"))
    else:
        profiles = profiles.left_join(scores, "customer_id").drop("customer_id_right")
    profiles = profiles.mutate(rules=ibis.literal(rules.fingerprint))
    return profiles.select(
        **{c.name: profiles[c.name].cast(c.ibis_type) for c in CUSTOMER_PROFILES.columns}
    )


def _scores(tables: Tables, as_of: date) -> ir.Table | None:
    """Latest `clv_3y` and `p_alive` per customer from `customer_scores` scored by the end
    of `as_of` (none when the table or the column is not there)."""
    if not tables.has_table("customer_scores"):
        return None
    scores = tables.table("customer_scores")
    if "customer_id" not in scores.columns:
        return None
    order = [scores[c].desc() for c in ("scored_at",) if c in scores.columns]
    if "scored_at" in scores.columns:
        scores = scores.filter(scores.scored_at < ibis.literal(day_end(as_of, tables.time_zone)))
        order = [scores.scored_at.desc()]
    ranked = scores.mutate(
        _rank=ibis.row_number().over(group_by=scores.customer_id, order_by=order or None)
    )
    latest = ranked.filter(ranked._rank == 0)
    null = ibis.null("float64")
    return latest.select(
        "customer_id",
        clv=latest.clv_3y.cast("float64") if "clv_3y" in latest.columns else null,
        p_alive=latest.p_alive.cast("float64") if "p_alive" in latest.columns else null,
    )
