"""A rule compiled to one Ibis expression: the customer ids of the customer 360 that meet
it, with the audience channel's consent required. Pure: Ibis tables in, an Ibis table
out; the caller executes it (or counts it, for the size preview).

Windows ("in the last N days") are the N local days through `as_of` in the warehouse's
time zone, as the customer 360's recent window: from the end of day `as_of - N` to the
end of day `as_of`. Purchases are orders of known customers that were not cancelled,
worth their net amount (order lines' net amount when a category or product is asked).

    >>> expr = select_customers(rule, "email", profiles, warehouse, date(2025, 6, 30))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from omnikpi.audiences.rules import (
    CONSENT_COLUMNS,
    AllOf,
    AnyOf,
    BoughtCondition,
    ColumnCondition,
    ConsentCondition,
    EventCondition,
    Not,
    RfmCondition,
    Rule,
    SegmentCondition,
)
from omnikpi.customers.profile import day_end
from omnikpi.warehouse import Tables

__all__ = ["count_customers", "select_customers"]


def select_customers(
    rule: Rule,
    channel: str,
    profiles: ir.Table,
    tables: Tables,
    as_of: date,
    *,
    keep: Sequence[str] = (),
) -> ir.Table:
    """The `customer_id`s of `profiles` (the customer 360 as of `as_of`) meeting `rule`
    and consenting to `channel` (no consent asked for `none`), with the profile columns
    `keep` beside them."""
    predicate = _predicate(rule, profiles, tables, as_of)
    consent = CONSENT_COLUMNS.get(channel)
    if consent is not None:
        predicate = predicate & profiles[consent].fill_null(False)
    return profiles.filter(predicate).select("customer_id", *keep)


def count_customers(
    rule: Rule, channel: str, profiles: ir.Table, tables: Tables, as_of: date
) -> ir.IntegerScalar:
    """How many customers `select_customers` gives (the size preview)."""
    return select_customers(rule, channel, profiles, tables, as_of).count()


def _predicate(rule: Rule, profiles: ir.Table, tables: Tables, as_of: date) -> ir.BooleanValue:
    """`rule` as a boolean over `profiles`' rows; never null (a condition on an empty value
    is false, so `not` of it is true)."""
    match rule:
        case AllOf(rules):
            return functools.reduce(
                operator.and_, (_predicate(r, profiles, tables, as_of) for r in rules)
            )
        case AnyOf(rules):
            return functools.reduce(
                operator.or_, (_predicate(r, profiles, tables, as_of) for r in rules)
            )
        case Not(inner):
            return ~_predicate(inner, profiles, tables, as_of)
        case ColumnCondition():
            return _compare(profiles[rule.column], rule).fill_null(False)
        case SegmentCondition(segments):
            return profiles.segment.isin(list(segments)).fill_null(False)
        case RfmCondition(groups):
            return profiles.rfm_group.isin(list(groups)).fill_null(False)
        case ConsentCondition(channel):
            return profiles[CONSENT_COLUMNS[channel]].fill_null(False)
        case BoughtCondition():
            buyers = _buyers(rule, tables, as_of)
            return profiles.customer_id.isin(buyers.customer_id)
        case EventCondition():
            actors = _event_customers(rule, tables, as_of)
            return profiles.customer_id.isin(actors.customer_id)
    raise TypeError(f"not a rule: {rule!r}")


def _compare(column: ir.Value, rule: ColumnCondition) -> ir.BooleanValue:
    value = rule.value
    match rule.op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "in":
            return column.isin(list(value))
        case "not_in":
            return column.notin(list(value))
        case "between":
            return column.between(value[0], value[1])
        case "is_null":
            return column.isnull()
        case "not_null":
            return column.notnull()
    raise ValueError(f"unknown operator {rule.op!r}")


def _window(tables: Tables, as_of: date, days: int) -> tuple[ir.Value, ir.Value]:
    """The instants the last `days` local days through `as_of` start and end."""
    zone = tables.time_zone
    start = day_end(as_of - timedelta(days=days), zone)
    return ibis.literal(start), ibis.literal(day_end(as_of, zone))


def _buyers(rule: BoughtCondition, tables: Tables, as_of: date) -> ir.Table:
    """Customers with at least `min_orders` purchases (and `min_amount` net) matching the
    condition in its window."""
    start, end = _window(tables, as_of, rule.days)
    orders = tables.table("orders")
    orders = orders.filter(
        orders.customer_id.notnull(),
        orders.status != "cancelled",
        orders.placed_at >= start,
        orders.placed_at < end,
    )
    if rule.channels:
        orders = orders.filter(orders.channel.isin(list(rule.channels)))
    if rule.categories or rule.products:
        lines = tables.table("order_lines")
        lines = lines.select("order_id", "product_id", "net_amount").join(
            orders.select("order_id", "customer_id"), "order_id"
        )
        if rule.products:
            lines = lines.filter(lines.product_id.isin(list(rule.products)))
        if rule.categories:
            products = tables.table("products").select("product_id", "category")
            lines = lines.join(products, "product_id")
            lines = lines.filter(lines.category.isin(list(rule.categories)))
        if rule.min_orders == 1 and rule.min_amount is None:  # any line will do: no counting
            return lines.select("customer_id")
        bought = lines.group_by("customer_id").aggregate(
            orders=lines.order_id.nunique(), amount=lines.net_amount.sum().cast("float64")
        )
    elif rule.min_orders == 1 and rule.min_amount is None:
        return orders.select("customer_id")
    else:
        bought = orders.group_by("customer_id").aggregate(
            orders=orders.count(), amount=orders.net_amount.sum().cast("float64")
        )
    keep = bought.orders >= rule.min_orders
    if rule.min_amount is not None:
        keep = keep & (bought.amount >= rule.min_amount)
    return bought.filter(keep).select("customer_id")


def _event_customers(rule: EventCondition, tables: Tables, as_of: date) -> ir.Table:
    start, end = _window(tables, as_of, rule.days)
    events = tables.table("events")
    events = events.filter(
        events.customer_id.notnull(),
        events.event_type.isin(list(rule.event_types)),
        events.occurred_at >= start,
        events.occurred_at < end,
    )
    if rule.min_count == 1:
        return events.select("customer_id")
    counted = events.group_by("customer_id").aggregate(events=events.count())
    return counted.filter(counted.events >= rule.min_count).select("customer_id")
