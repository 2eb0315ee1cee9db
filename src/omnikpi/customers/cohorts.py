"""Acquisition cohorts: customers grouped by the local month of their first order, followed
month by month — retention (share of the cohort ordering in month k after acquisition)
and revenue per customer (the month's revenue over the cohort's size, and cumulated).

Orders count unless cancelled; month 0 is the acquisition month itself (retention 1).
`by` splits each cohort by the customer's acquisition channel (`acquisition_channel`), the
channel of the first order (`first_channel`) or its store (`first_store`; online first
orders have none and show as NO_STORE). The last month is cut at `as_of`
(`complete` = False).

>>> cohort_counts(warehouse, date(2025, 12, 31), by="first_channel")  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd

from omnikpi.customers.profile import day_end
from omnikpi.errors import InvalidChoice
from omnikpi.warehouse import Tables

__all__ = ["COHORT_BY", "NO_STORE", "cohort_counts", "cohort_metrics"]

#: What a cohort can be split by.
COHORT_BY = ("acquisition_channel", "first_channel", "first_store")
#: The first store of a customer whose first order was not placed in or collected at one.
NO_STORE = "(online)"


def cohort_counts(tables: Tables, as_of: date, by: str | None = None) -> ir.Table:
    """Per cohort month (first day), `by` value (when given) and months since
    acquisition: `cohort_customers`, `active_customers` (ordered that month) and
    `revenue` (net, that month), for orders placed up to the end of `as_of`."""
    if by is not None and by not in COHORT_BY:
        raise InvalidChoice("by", by, ", ".join(COHORT_BY))
    end = ibis.literal(day_end(as_of, tables.time_zone))
    orders = tables.table("orders")
    orders = orders.filter(
        orders.customer_id.notnull(), orders.status != "cancelled", orders.placed_at < end
    )
    day = orders.placed_at.date()
    orders = orders.mutate(_month=day.year() * 12 + day.month() - 1)
    ranked = orders.mutate(
        _rank=ibis.row_number().over(
            group_by=orders.customer_id, order_by=[orders.placed_at, orders.order_id]
        )
    )
    first = ranked.filter(ranked._rank == 0)
    acquired = first.select(
        "customer_id",
        _cohort=first._month,
        first_channel=first.channel,
        first_store=first.store_id.fill_null(NO_STORE),
    )
    if by == "acquisition_channel":
        customers = tables.table("customers").select("customer_id", "acquisition_channel")
        acquired = acquired.join(customers, "customer_id")
    acquired = acquired.select(
        "customer_id", "_cohort", *([acquired[by].name("_by")] if by else [])
    )
    keys = ["_cohort", *(["_by"] if by else [])]
    sizes = acquired.group_by(keys).aggregate(cohort_customers=acquired.count())
    joined = orders.join(acquired, "customer_id")
    monthly = joined.group_by([*keys, "_month"]).aggregate(
        active_customers=joined.customer_id.nunique(), revenue=joined.net_amount.sum()
    )
    result = monthly.join(sizes, keys)
    columns = {
        "cohort": ibis.date(result._cohort // 12, result._cohort % 12 + 1, 1),
        "months_since": result._month - result._cohort,
        "cohort_customers": result.cohort_customers,
        "active_customers": result.active_customers,
        "revenue": result.revenue.cast("float64"),
    }
    if by:
        columns = {"cohort": columns.pop("cohort"), by: result._by, **columns}
    return result.select(**columns)


def cohort_metrics(counts: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """`counts` (from `cohort_counts`, executed) completed to every month from acquisition
    to `as_of` (months without orders: 0 active, 0 revenue) with `retention`,
    `revenue_per_customer`, `cumulative_revenue_per_customer` and `complete` (False for
    the month `as_of` cuts short), sorted by cohort, group and month."""
    keys = [c for c in counts.columns if c not in _MEASURES and c != "months_since"]
    last = as_of.year * 12 + as_of.month - 1
    month_end = (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)).date()
    rows = []
    for key, group in counts.groupby(keys, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        first = values[0]
        cohort = pd.Timestamp(str(first)).date()  # a Timestamp (an instant) or a date
        start = cohort.year * 12 + cohort.month - 1
        by_month = group.set_index("months_since")
        size = int(group["cohort_customers"].iloc[0])
        cumulative = 0.0
        for months in range(last - start + 1):
            active = int(by_month["active_customers"].get(months, 0))
            revenue = float(by_month["revenue"].get(months, 0.0))
            cumulative += revenue
            rows.append(
                {
                    **dict(zip(keys, values, strict=True)),
                    "cohort": cohort,
                    "months_since": months,
                    "cohort_customers": size,
                    "active_customers": active,
                    "retention": active / size,
                    "revenue": revenue,
                    "revenue_per_customer": revenue / size,
                    "cumulative_revenue_per_customer": cumulative / size,
                    "complete": months < last - start or as_of == month_end,
                }
            )
    columns = [*keys, "months_since", *_MEASURES, *_DERIVED, "complete"]
    return pd.DataFrame(rows, columns=columns)


_MEASURES = ("cohort_customers", "active_customers", "revenue")
_DERIVED = ("retention", "revenue_per_customer", "cumulative_revenue_per_customer")
