"""One row per unit of a stored experiment (`experiments`, `experiment_assignments`) with
its outcome, read from the sessions, events and orders of the unit. Per-unit rows stay in
the service layer; readouts built from them are aggregates.

The outcome follows the experiment's `primary_metric`:

- `checkout_completion_rate` — the share of checkout sessions that end in a purchase. A
  checkout session is a session of an assigned visitor that started on one of the
  experiment's days (local time), at or after the visitor's assignment, and has a
  `begin_checkout` event; it converts when it also has a `purchase` event. A visitor's
  row counts its checkout sessions (`trials`) and those purchased (`conversions`).
- `conversion_<N>d` (e.g. `conversion_14d`) — a unit converts when it places an order that
  is not cancelled within N days of its assignment (assigned_at ≤ placed_at < assigned_at
  + N days; customers: any channel, store included; visitors: orders of their sessions'
  `purchase` events); `trials` is 1 and `conversions` 0 or 1.

Revenue is the net merchandise amount of those orders (0 for none); `pre_revenue`, the
CUPED covariate, the unit's revenue over as many days just before its assignment (the
test's length, or N).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from omnikpi.errors import DataError, NotFound
from omnikpi.warehouse import Warehouse

__all__ = ["CHECKOUT_COMPLETION", "read_experiment"]

CHECKOUT_COMPLETION = "checkout_completion_rate"
_CONVERSION = re.compile(r"conversion_(\d+)d")
_METRICS = f"{CHECKOUT_COMPLETION}, conversion_<N>d (e.g. conversion_14d)"

_DEFINITION = """
SELECT experiment_id, name, kind, unit, variants, start_date, end_date, primary_metric
FROM experiments WHERE experiment_id = ?
"""
# Per visitor: checkout sessions on the test's days after assignment, and those purchased;
# revenue of those purchases, and before assignment (the CUPED covariate) the revenue of the
# visitor's purchases over as many days as the test lasts.
_CHECKOUT_UNITS = """
WITH assigned AS (
    SELECT unit_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = ?
), visits AS MATERIALIZED (
    -- the assigned visitors' checkout and purchase events only (not every visitor's)
    SELECT e.session_id, e.visitor_id, e.event_type, e.order_id
    FROM events e SEMI JOIN assigned a ON e.visitor_id = a.unit_id
    WHERE e.event_type IN ('begin_checkout', 'purchase')
), steps AS (
    SELECT session_id,
           bool_or(event_type = 'begin_checkout') AS checkout,
           bool_or(event_type = 'purchase') AS purchased,
           any_value(order_id) FILTER (WHERE event_type = 'purchase') AS order_id
    FROM visits
    GROUP BY session_id
), checkouts AS (
    SELECT a.unit_id, st.purchased, o.net_amount
    FROM assigned a
    JOIN sessions s ON s.visitor_id = a.unit_id AND s.started_at >= a.assigned_at
    JOIN steps st ON st.session_id = s.session_id AND st.checkout
    LEFT JOIN orders o ON o.order_id = st.order_id AND o.status <> 'cancelled'
    WHERE CAST(timezone(?, s.started_at) AS DATE) BETWEEN ? AND ?
), bought AS (
    -- the window is a column, not a join condition: as a condition the planner joined
    -- the assignments to every order by range first (15 s for 4,470 visitors)
    SELECT DISTINCT a.unit_id, o.order_id, o.net_amount,
           o.placed_at < a.assigned_at AND o.placed_at >= a.assigned_at - to_days(?)
               AS in_window
    FROM visits e
    JOIN assigned a ON a.unit_id = e.visitor_id
    JOIN orders o ON o.order_id = e.order_id
    WHERE e.event_type = 'purchase' AND o.status <> 'cancelled'
), before AS (
    SELECT unit_id, sum(net_amount) FILTER (WHERE in_window) AS pre_revenue FROM bought
    GROUP BY unit_id
)
SELECT a.variant, a.unit_id,
       count(c.unit_id)::BIGINT AS trials,
       count(*) FILTER (WHERE c.purchased)::BIGINT AS conversions,
       coalesce(sum(c.net_amount) FILTER (WHERE c.purchased), 0)::DOUBLE AS revenue,
       coalesce(any_value(p.pre_revenue), 0)::DOUBLE AS pre_revenue
FROM assigned a
LEFT JOIN checkouts c ON c.unit_id = a.unit_id
LEFT JOIN before p ON p.unit_id = a.unit_id
GROUP BY a.variant, a.unit_id
ORDER BY a.variant, a.unit_id
"""
# Per unit: orders (not cancelled) within N days after the assignment, and within N days
# before it (the CUPED covariate).
_CONVERSION_ORDERS = {
    "customer": """
        SELECT a.unit_id, o.placed_at, o.net_amount FROM assigned a
        JOIN orders o ON o.customer_id = a.unit_id
    """,
    "visitor": """
        SELECT DISTINCT a.unit_id, o.order_id, o.placed_at, o.net_amount FROM assigned a
        JOIN events e ON e.visitor_id = a.unit_id AND e.event_type = 'purchase'
        JOIN orders o ON o.order_id = e.order_id
    """,
}
_CONVERSION_UNITS = """
WITH assigned AS (
    SELECT unit_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = ?
), bought AS (
    SELECT unit_id, placed_at, net_amount FROM ({orders}
        WHERE o.status <> 'cancelled' AND o.placed_at >= a.assigned_at - to_days(?)
          AND o.placed_at < a.assigned_at + to_days(?))
)
SELECT a.variant, a.unit_id, 1::BIGINT AS trials,
       (count(b.unit_id) FILTER (WHERE b.placed_at >= a.assigned_at) > 0)::BIGINT
           AS conversions,
       coalesce(sum(b.net_amount) FILTER (WHERE b.placed_at >= a.assigned_at), 0)::DOUBLE
           AS revenue,
       coalesce(sum(b.net_amount) FILTER (WHERE b.placed_at < a.assigned_at), 0)::DOUBLE
           AS pre_revenue
FROM assigned a LEFT JOIN bought b ON b.unit_id = a.unit_id
GROUP BY a.variant, a.unit_id, a.assigned_at
ORDER BY a.variant, a.unit_id
"""


def read_experiment(
    warehouse: Warehouse, experiment_id: str
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The experiment's definition and one row per assigned unit: variant, trials,
    conversions, revenue and pre-assignment revenue as the module docstring defines them,
    ordered by variant and unit so that a readout is the same on every run."""
    for table in ("experiments", "experiment_assignments"):
        if not warehouse.has_table(table):
            raise NotFound(f"the warehouse has no {table} table (load experiments first)")
    row = warehouse.fetch_row(_DEFINITION, [experiment_id])
    if row is None:
        known = [r[0] for r in warehouse.fetch_rows("SELECT experiment_id FROM experiments")]
        hint = ", ".join(sorted(known)[:10]) or "none stored"
        raise NotFound(f'experiment "{experiment_id}" does not exist (experiments: {hint})')
    keys = ("experiment_id", "name", "kind", "unit", "variants", "start_date", "end_date")
    definition = dict(zip((*keys, "primary_metric"), row, strict=True))
    metric = str(definition["primary_metric"])
    conversion = _CONVERSION.fullmatch(metric)
    if metric == CHECKOUT_COMPLETION:
        if definition["unit"] != "visitor":
            raise DataError(
                f'experiment "{experiment_id}": {metric} needs visitor units, not '
                f'"{definition["unit"]}"'
            )
        start, end = definition["start_date"], definition["end_date"]
        days = (end - start).days + 1
        units = warehouse.fetch_frame(
            _CHECKOUT_UNITS, [experiment_id, warehouse.time_zone, start, end, days]
        )
    elif conversion and definition["unit"] in _CONVERSION_ORDERS:
        sql = _CONVERSION_UNITS.format(orders=_CONVERSION_ORDERS[str(definition["unit"])])
        days = int(conversion.group(1))
        units = warehouse.fetch_frame(sql, [experiment_id, days, days])
    else:
        raise DataError(
            f'experiment "{experiment_id}": primary metric "{metric}" for {definition["unit"]} '
            f"units cannot be read (supported: {_METRICS})"
        )
    return definition, units
