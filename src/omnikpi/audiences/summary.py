"""An audience in aggregate: customers per group and segment, and the means of their
customer 360 (what a business unit may see of an audience built for it; the service
withholds small cells). Pure Ibis over the members and the customer 360.

    >>> mix = segment_mix(members, profiles)  # doctest: +SKIP
"""

from __future__ import annotations

import ibis.expr.types as ir

__all__ = ["MEAN_COLUMNS", "profile_means", "segment_mix"]

#: Customer 360 columns averaged over an audience's members.
MEAN_COLUMNS = (
    "clv",
    "p_alive",
    "orders",
    "revenue",
    "average_order_value",
    "days_since_last_order",
)


def _joined(members: ir.Table, profiles: ir.Table) -> ir.Table:
    return members.select("customer_id", "group").left_join(
        profiles.select("customer_id", "segment", *MEAN_COLUMNS), "customer_id"
    )


def segment_mix(members: ir.Table, profiles: ir.Table) -> ir.Table:
    """Customers per `group` and lifecycle `segment` (null: not in the customer 360 of
    the date read, e.g. forgotten since), as `customers`."""
    joined = _joined(members, profiles)
    return joined.group_by("group", "segment").aggregate(customers=joined.count())


def profile_means(members: ir.Table, profiles: ir.Table) -> ir.Table:
    """Per `group`: `customers`, and the mean of each MEAN_COLUMNS column over the members
    that have a value (as floats)."""
    joined = _joined(members, profiles)
    return joined.group_by("group").aggregate(
        customers=joined.count(),
        **{f"mean_{c}": joined[c].cast("float64").mean() for c in MEAN_COLUMNS},
    )
