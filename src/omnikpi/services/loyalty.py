"""The `loyalty_effects` table: loyalty-programme uplifts, rate multiplier and incremental
gross profit per month (`omnikpi.customers.loyalty`), rewritten after each load that changed
the orders, customers or programme costs, before the KPI rollups refresh. The catalog's
`loyalty_member_frequency_uplift`, `loyalty_member_spend_uplift` and `loyalty_program_roi`
read it (no data until it has been written).

    >>> write_loyalty_effects(warehouse, since=date(2025, 12, 1))  # doctest: +SKIP
    2
"""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd

from omnikpi.customers.loyalty import EFFECT_COLUMNS, monthly_effects
from omnikpi.warehouse import Warehouse

__all__ = [
    "INPUT_TABLES",
    "LOYALTY_EFFECTS",
    "read_loyalty_inputs",
    "write_loyalty_effects",
    "write_loyalty_effects_after",
]

LOYALTY_EFFECTS = "loyalty_effects"
#: Tables the effects are computed from: a load changing one of them rewrites them.
INPUT_TABLES = frozenset({"customers", "orders", "order_lines", "program_costs"})

_PURCHASES = """
SELECT o.customer_id, timezone(?, o.placed_at) AS placed_at,
       CAST(sum(l.net_amount) AS DOUBLE) AS revenue,
       CAST(sum(l.net_amount - l.quantity * l.unit_cost) AS DOUBLE) AS gross_profit
FROM orders o JOIN order_lines l ON l.order_id = o.order_id
WHERE o.status IN ('paid', 'completed') AND o.customer_id IS NOT NULL
GROUP BY o.order_id, o.customer_id, o.placed_at
"""
_CUSTOMERS = """
SELECT customer_id, timezone(?, created_at) AS created_at,
       timezone(?, member_since) AS member_since, timezone(?, member_until) AS member_until,
       region, acquisition_channel, is_business
FROM customers
"""
_COSTS = "SELECT month, CAST(cost AS DOUBLE) AS cost FROM program_costs WHERE program = 'loyalty'"


def read_loyalty_inputs(
    warehouse: Warehouse,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Completed orders of known customers (revenue and gross profit from their lines),
    customers and the loyalty programme's monthly costs, times in the warehouse's zone."""
    zone = warehouse.time_zone
    purchases = warehouse.fetch_frame(_PURCHASES, [zone])
    customers = warehouse.fetch_frame(_CUSTOMERS, [zone, zone, zone])
    costs = (
        warehouse.fetch_frame(_COSTS)
        if warehouse.has_table("program_costs")
        else pd.DataFrame({"month": [], "cost": []})
    )
    return purchases, customers, costs


def write_loyalty_effects(warehouse: Warehouse, since: date | None = None) -> int:
    """Recompute the months from `since`'s (all when None or when the table is missing),
    keep the earlier ones, mark the table changed for the rollups; returns months written.

    A month's effects read only data up to its end, so earlier months stay valid."""
    if not warehouse.has_table("orders") or not warehouse.has_table("customers"):
        return 0
    purchases, customers, costs = read_loyalty_inputs(warehouse)
    if purchases.empty:
        return 0
    placed = pd.to_datetime(purchases["placed_at"])
    through = placed.max().date()
    first = placed.min().to_period("M").to_timestamp()
    kept = pd.DataFrame(columns=list(EFFECT_COLUMNS))
    if since is not None and warehouse.has_table(LOYALTY_EFFECTS):
        first = max(first, pd.Timestamp(since).to_period("M").to_timestamp())
        kept = warehouse.fetch_frame(
            f"SELECT * FROM {LOYALTY_EFFECTS} WHERE month < ?", [first.date()]
        )
    months = [m.date() for m in pd.date_range(first, pd.Timestamp(through), freq="MS")]
    fresh = monthly_effects(purchases, customers, costs, months, through)
    table = pd.concat([kept, fresh], ignore_index=True) if len(kept) else fresh
    with warehouse.transaction(), warehouse.registered("_omnikpi_loyalty_effects", table) as view:
        warehouse.run_sql(
            f"CREATE OR REPLACE TABLE {LOYALTY_EFFECTS} AS SELECT "
            "program, CAST(month AS DATE) AS month, CAST(as_of AS DATE) AS as_of, "
            + ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in EFFECT_COLUMNS[3:])
            + f' FROM "{view}"'
        )
        warehouse.mark_changed({LOYALTY_EFFECTS: None}, f"loyalty-{uuid.uuid4().hex[:12]}")
    return len(fresh)


def write_loyalty_effects_after(warehouse: Warehouse, changed: set[str]) -> int:
    """After a load that changed `changed` tables: rewrite the months from the earliest
    input change (every month when a change has no date); 0 when no input changed."""
    marks = warehouse.changed_tables()
    dates = [marks.get(name) for name in changed & INPUT_TABLES]
    if not dates:
        return 0
    since = None if any(d is None for d in dates) else min(d for d in dates if d is not None)
    return write_loyalty_effects(warehouse, since)
