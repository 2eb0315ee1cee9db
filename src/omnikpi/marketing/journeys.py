"""Customer journeys from the warehouse's touchpoints: ordered channel paths per person,
each ending in a conversion (an online or store order) or not, as Ibis expressions.

A *touch* is one contact of a person with a channel: an ad impression or click
(`touchpoints`), a message (`messages`: at its click, else its open, else its delivery)
or a site visit (`sessions`, by traffic source). A visit opened by a click of the same
channel within `click_minutes` is that click, not a second touch. A *person* is the
customer, else the customer a visitor signed in as (when exactly one), else the visitor
(`visitor:<id>`).

A *converting journey* is the touches of a person in the `lookback_days` before one of
their orders (paid or completed; store orders too unless `include_offline` is off) and
after their previous order. The other touches form *non-converting journeys*: between two
orders, a gap longer than the lookback starts a new one. Conversions are the orders
placed in [start, end); non-converting journeys are those whose last touch falls there.

>>> settings = JourneySettings(lookback_days=14)
>>> journeys = build_journeys(tables, start, end, settings)  # doctest: +SKIP
>>> path_counts(journeys).execute()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.paths import JourneyPaths, PathRecord, paths_from_records

#: Joins the channels of a path (as in the paths file).
PATH_SEPARATOR = " > "
#: A session's traffic source as a journey channel: paid sources take their campaign
#: channel's name (touchpoints and campaigns say "search", not "paid_search").
SESSION_CHANNELS = {
    "direct": "direct",
    "organic_search": "organic_search",
    "paid_search": "search",
    "display": "display",
    "paid_social": "social",
    "organic_social": "organic_social",
    "email": "email",
    "sms": "sms",
    "app_push": "app_push",
    "affiliate": "affiliate",
    "referral": "referral",
}
#: A message's channel as a journey channel (campaign channels have one app channel).
MESSAGE_CHANNELS = {"email": "email", "sms": "sms", "push": "app_push", "app_message": "app_push"}
#: Touch kinds that open a visit (a visit right after one of them is the same contact).
CLICK_KINDS = ("click", "message_click")
#: Order statuses that count as a conversion (as the catalog's revenue).
CONVERTED_STATUSES = ("paid", "completed")
#: The sales channel of store (POS) orders: the offline conversions.
OFFLINE_CHANNEL = "store"
_DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class JourneySettings:
    """How journeys are cut: lookback window in days, whether store orders convert,
    whether impressions and unopened messages count as touches (`views`), whether a run of
    the same channel is one touch (`collapse_repeats`) and how soon after a click a visit
    is that click's (`click_minutes`)."""

    lookback_days: float = 30.0
    include_offline: bool = True
    views: bool = True
    collapse_repeats: bool = False
    click_minutes: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.lookback_days <= 366:
            raise ConfigError(
                f"lookback of {self.lookback_days} days is not valid (give 1 to 366 days)"
            )
        if self.click_minutes < 0:
            raise ConfigError(f"click window {self.click_minutes} minutes must be ≥ 0")


@dataclass(frozen=True)
class TouchSources:
    """The warehouse tables journeys read; a missing table contributes no touches."""

    orders: ir.Table
    sessions: ir.Table | None = None
    touchpoints: ir.Table | None = None
    messages: ir.Table | None = None


def identities(sessions: ir.Table | None) -> ir.Table | None:
    """Visitors who signed in as exactly one customer: `visitor_id`, `customer_id`."""
    if sessions is None:
        return None
    known = sessions.filter(sessions.customer_id.notnull())
    by_visitor = known.group_by("visitor_id").aggregate(
        customer_id=known.customer_id.min(), customers=known.customer_id.nunique()
    )
    return by_visitor.filter(by_visitor.customers == 1).select("visitor_id", "customer_id")


def _with_person(table: ir.Table, known: ir.Table | None) -> ir.Table:
    """`table` (customer_id, visitor_id) with `person_id`, the stitched identity."""
    if known is None:
        joined = table.mutate(stitched_customer=ibis.null("string"))
    else:
        ids = known.rename(stitched_customer="customer_id", stitched_visitor="visitor_id")
        joined = table.left_join(ids, table.visitor_id == ids.stitched_visitor).drop(
            "stitched_visitor"
        )

    def person(t: ir.Table) -> ir.StringValue:
        visitor = ibis.literal("visitor:") + t.visitor_id.cast("string")
        return ibis.coalesce(t.customer_id.cast("string"), t.stitched_customer, visitor)

    return joined.mutate(person_id=person).drop("stitched_customer")


def touches(sources: TouchSources, settings: JourneySettings) -> ir.Table:
    """Every touch: `person_id`, `occurred_at`, `channel`, `campaign_id`, `kind`."""
    known = identities(sources.sessions)
    parts: list[ir.Table] = []
    if sources.touchpoints is not None:
        parts.append(_touchpoint_touches(sources.touchpoints, sources.messages, settings, known))
    if sources.messages is not None:
        parts.append(_message_touches(sources.messages, settings))
    clicks = ibis.union(*parts) if parts else None
    if sources.sessions is not None:
        parts.append(_visit_touches(sources.sessions, clicks, settings, known))
    if not parts:
        raise DataError(
            "no touchpoints, messages or sessions in the warehouse (load at least one to "
            "build journeys)"
        )
    return ibis.union(*parts)


def _touch_columns(table: ir.Table, at: ir.Value, channel: ir.Value, kind: ir.Value) -> ir.Table:
    return table.select(
        person_id=table.person_id,
        occurred_at=at.cast("timestamp('UTC')"),
        channel=channel.cast("string"),
        campaign_id=table.campaign_id.cast("string"),
        kind=kind.cast("string"),
    )


def _touchpoint_touches(
    touchpoints: ir.Table,
    messages: ir.Table | None,
    settings: JourneySettings,
    known: ir.Table | None,
) -> ir.Table:
    kinds = ["click", "message_click", "message_open"] + (["impression"] if settings.views else [])
    table = touchpoints.filter(touchpoints.kind.isin(kinds))
    if messages is not None:
        # A message's open and click come from `messages`, so they are not counted twice.
        sent = messages.select(sent_customer="customer_id", sent_campaign="campaign_id").distinct()
        is_message = table.kind.isin(["message_open", "message_click"])
        opened = table.filter(is_message)
        opened = opened.anti_join(
            sent,
            [opened.customer_id == sent.sent_customer, opened.campaign_id == sent.sent_campaign],
        )
        return ibis.union(
            _as_touches(table.filter(~is_message), known),
            _as_touches(opened, known),
            distinct=False,
        )
    return _as_touches(table, known)


def _as_touches(touchpoints: ir.Table, known: ir.Table | None) -> ir.Table:
    table = _with_person(touchpoints, known)
    return _touch_columns(table, table.occurred_at, table.channel, table.kind)


def _message_touches(messages: ir.Table, settings: JourneySettings) -> ir.Table:
    delivered = messages.delivered & ~messages.bounced
    at = ibis.cases(
        (messages.clicked_at.notnull(), messages.clicked_at),
        (messages.opened_at.notnull(), messages.opened_at),
        (delivered if settings.views else ibis.literal(False), messages.sent_at),
        else_=ibis.null("timestamp('UTC')"),
    )
    kind = ibis.cases(
        (messages.clicked_at.notnull(), "message_click"),
        (messages.opened_at.notnull(), "message_open"),
        else_="message_delivered",
    )
    channel = messages.channel.substitute(MESSAGE_CHANNELS, else_=messages.channel)
    table = messages.mutate(person_id=messages.customer_id.cast("string"))
    return _touch_columns(table, at, channel, kind).filter(lambda t: t.occurred_at.notnull())


def _visit_touches(
    sessions: ir.Table, clicks: ir.Table | None, settings: JourneySettings, known: ir.Table | None
) -> ir.Table:
    table = _with_person(sessions, known)
    channel = table.traffic_source.substitute(SESSION_CHANNELS, else_=table.traffic_source)
    visits = _touch_columns(table, table.started_at, channel, ibis.literal("visit"))
    if clicks is None:
        return visits
    opened = clicks.filter(clicks.kind.isin(CLICK_KINDS)).select(
        click_person="person_id", click_channel="channel", click_at="occurred_at"
    )
    window = ibis.interval(seconds=int(settings.click_minutes * 60))
    return visits.anti_join(
        opened,
        [
            visits.person_id == opened.click_person,
            visits.channel == opened.click_channel,
            visits.occurred_at >= opened.click_at,
            visits.occurred_at <= opened.click_at + window,
        ],
    )


def conversions(sources: TouchSources, settings: JourneySettings) -> ir.Table:
    """Orders that convert: `order_id`, `person_id` (null for a guest without a visit),
    `placed_at`, `revenue` (net amount), `offline` (a store order)."""
    orders = sources.orders
    keep = orders.status.isin(CONVERTED_STATUSES)
    if not settings.include_offline:
        keep &= orders.channel != OFFLINE_CHANNEL
    orders = orders.filter(keep)
    if sources.sessions is None:
        table = orders.mutate(visitor_id=ibis.null("string"))
    else:
        visits = sources.sessions.select(visit_id="session_id", visitor_id="visitor_id")
        table = orders.left_join(visits, orders.session_id == visits.visit_id)
    table = _with_person(table, identities(sources.sessions))
    person = ibis.cases(
        (table.customer_id.notnull() | table.visitor_id.notnull(), table.person_id),
        else_=ibis.null("string"),
    )
    return table.select(
        order_id=table.order_id.cast("string"),
        person_id=person,
        placed_at=table.placed_at.cast("timestamp('UTC')"),
        revenue=table.net_amount.cast("float64"),
        offline=table.channel == OFFLINE_CHANNEL,
    )


def journey_touches(
    sources: TouchSources, start: datetime, end: datetime, settings: JourneySettings
) -> ir.Table:
    """Every touch of a journey in the period with `journey_id` (the order's id for a
    converting journey), `converted`, `order_id`, `placed_at`, `revenue`, `offline`."""
    if end <= start:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})")
    lookback = timedelta(days=settings.lookback_days)
    orders = conversions(sources, settings)
    orders = orders.filter(orders.person_id.notnull() & (orders.placed_at < end))
    ranked = orders.mutate(
        seq=ibis.row_number().over(group_by="person_id", order_by=["placed_at", "order_id"])
    )
    found = touches(sources, settings)
    found = found.filter((found.occurred_at >= start - lookback) & (found.occurred_at < end))
    events = ibis.union(
        found.select(
            "person_id",
            at="occurred_at",
            channel="channel",
            campaign_id="campaign_id",
            is_order=ibis.literal(0),
        ),
        ranked.select(
            "person_id",
            at="placed_at",
            channel=ibis.null("string"),
            campaign_id=ibis.null("string"),
            is_order=ibis.literal(1),
        ),
        distinct=False,
    )
    # A touch's segment = the orders at or before it, so it belongs to order `seq == segment`.
    segment = events.is_order.sum().over(
        group_by="person_id", order_by=[events.at, ibis.desc(events.is_order)], rows=(None, 0)
    )
    marked = events.mutate(segment=segment).filter(lambda t: t.is_order == 0)
    joined = marked.left_join(
        ranked, [marked.person_id == ranked.person_id, marked.segment == ranked.seq]
    ).select(
        person_id=marked.person_id,
        occurred_at=marked.at,
        channel=marked.channel,
        campaign_id=marked.campaign_id,
        segment=marked.segment,
        order_id=ranked.order_id,
        placed_at=ranked.placed_at,
        revenue=ranked.revenue,
        offline=ranked.offline,
    )
    within = joined.placed_at.notnull() & (
        joined.placed_at.epoch_seconds() - joined.occurred_at.epoch_seconds()
        <= settings.lookback_days * _DAY_SECONDS
    )
    converting = joined.filter(within & (joined.placed_at >= start)).mutate(
        journey_id=lambda t: t.order_id, converted=ibis.literal(True)
    )
    idle = joined.filter(~within)
    previous = idle.occurred_at.lag().over(
        group_by=["person_id", "segment"], order_by=["occurred_at", "channel"]
    )
    gap = idle.occurred_at.epoch_seconds() - previous.epoch_seconds()
    opens = (previous.isnull() | (gap > settings.lookback_days * _DAY_SECONDS)).cast("int64")
    idle = idle.mutate(opens=opens)
    number = idle.opens.sum().over(
        group_by=["person_id", "segment"], order_by=["occurred_at", "channel"], rows=(None, 0)
    )
    idle = idle.mutate(
        journey_id=ibis.literal("open:")
        + idle.person_id
        + ":"
        + idle.segment.cast("string")
        + ":"
        + number.cast("string"),
        converted=ibis.literal(False),
        order_id=ibis.null("string"),
        placed_at=ibis.null("timestamp('UTC')"),
        revenue=ibis.null("float64"),
        offline=ibis.null("boolean"),
    ).drop("opens")
    last = idle.occurred_at.max().over(group_by="journey_id")
    idle = idle.mutate(last_touch=last).filter(lambda t: t.last_touch >= start).drop("last_touch")
    columns = [
        "journey_id", "person_id", "occurred_at", "channel", "campaign_id", "converted",
        "order_id", "placed_at", "revenue", "offline",
    ]  # fmt: skip
    both = ibis.union(converting.select(*columns), idle.select(*columns), distinct=False)
    if not settings.collapse_repeats:
        return both
    before = both.channel.lag().over(group_by="journey_id", order_by=["occurred_at", "channel"])
    return both.filter(before.isnull() | (before != both.channel))


def build_journeys(
    sources: TouchSources, start: datetime, end: datetime, settings: JourneySettings
) -> ir.Table:
    """One row per journey: `journey_id`, `converted`, `path` (channels joined by " > "),
    `days` (each touch's whole days before the journey's end, " > "-joined), `touches`,
    `revenue`, `offline`, `days_to_convert` (first touch to order, converting only)."""
    return journeys_from_touches(journey_touches(sources, start, end, settings))


def journeys_from_touches(table: ir.Table) -> ir.Table:
    """`build_journeys`' rows from the touches `journey_touches` gave (for a caller that
    materialized them once to read them several ways)."""
    ended = ibis.coalesce(table.placed_at, table.occurred_at.max().over(group_by="journey_id"))
    days = ((ended.epoch_seconds() - table.occurred_at.epoch_seconds()) / _DAY_SECONDS).round()
    table = table.mutate(days_before=days.cast("int64").cast("string"))
    order = [table.occurred_at, table.channel]
    return table.group_by("journey_id").aggregate(
        converted=table.converted.any(),
        path=table.channel.group_concat(PATH_SEPARATOR, order_by=order),
        days=table.days_before.group_concat(PATH_SEPARATOR, order_by=order),
        touches=table.count(),
        revenue=table.revenue.max(),
        offline=table.offline.any().fill_null(False),
        days_to_convert=(
            table.placed_at.epoch_seconds().max() - table.occurred_at.epoch_seconds().min()
        )
        / _DAY_SECONDS,
    )


def path_counts(journeys: ir.Table, *, with_days: bool = False) -> ir.Table:
    """Journeys aggregated to paths: `path` [, `days`], `conversions`, `non_conversions`,
    `value` (revenue of the conversions); the form of the paths file."""
    keys = ["path", "days"] if with_days else ["path"]
    converted = journeys.converted.cast("int64")
    return journeys.group_by(keys).aggregate(
        conversions=converted.sum(),
        non_conversions=(1 - converted).sum(),
        value=journeys.revenue.sum(where=journeys.converted).fill_null(0.0),
    )


def paths_from_counts(frame: pd.DataFrame) -> JourneyPaths:
    """The executed `path_counts` as the models' input (touch times when it has `days`)."""
    paths = [str(path).split(PATH_SEPARATOR) for path in frame["path"]]
    days: list[tuple[float, ...] | None] = (
        [tuple(float(x) for x in str(text).split(PATH_SEPARATOR)) for text in frame["days"]]
        if "days" in frame.columns
        else [None] * len(frame)
    )
    records = [
        PathRecord(tuple(path), float(conversions), float(non_conversions), float(value), touch)
        for path, conversions, non_conversions, value, touch in zip(
            paths, frame["conversions"], frame["non_conversions"], frame["value"], days, strict=True
        )
    ]
    return paths_from_records(records)
