"""The 47 lead KPIs by day and channel, hand-written in pandas on DataFrames loaded beforehand.

The same definitions as `kpi_grid_sql.py`, step for step, written the way a pandas analyst
would: boolean masks summed per group, `groupby(..., dropna=False)` so a missing channel is a
group of its own, and levels (subscribers, active customers) as cumulative sums of daily
changes. Loading (`load_tables`) is timed apart from computing (`compute_grid`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

import kpi_grid_pandas_sales as sales
import kpi_grid_pandas_web as web
from kpi_grid_pandas_steps import GridFrames, Tables
from omnikpi.warehouse import Warehouse

#: The columns each table is loaded with; low-cardinality text becomes categorical.
COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    "events": (
        ["event_id", "session_id", "occurred_at", "event_type", "page_type", "page_path",
         "product_id", "search_results", "load_ms"],
        ["event_type", "page_type", "page_path", "product_id"],
    ),
    "sessions": (["session_id", "visitor_id", "channel", "started_at"], ["channel"]),
    "orders": (
        ["order_id", "customer_id", "channel", "placed_at", "status", "payment_method",
         "fulfilment", "campaign_id"],
        ["channel", "status", "payment_method", "fulfilment", "campaign_id"],
    ),
    "order_lines": (["order_id", "quantity", "net_amount", "discount_amount"], []),
    "campaigns": (["campaign_id", "channel"], ["channel"]),
    "marketing_daily": (["date", "channel", "impressions", "clicks", "spend"], ["channel"]),
    "touchpoints": (["customer_id", "occurred_at", "channel", "kind"], ["channel", "kind"]),
    "messages": (["channel", "sent_at", "delivered", "opened_at"], ["channel"]),
    "site_checks": (["checked_at", "is_up"], []),
    "invoices": (["order_id", "due_date", "amount", "paid_at"], []),
    "inventory_snapshots": (["snapshot_date", "product_id", "location_id", "on_hand"], []),
    "stores": (["store_id", "kind"], []),
    "shipments": (["order_id", "shipped_at", "delivered_at", "promised_date"], []),
    "returns": (
        ["order_id", "quantity", "requested_at", "received_at", "restocked_at",
         "refund_amount", "refunded_at"],
        [],
    ),
    "tickets": (["channel", "kind", "opened_at", "first_response_at", "sla_hours"],
                ["channel", "kind"]),
    "surveys": (["kind", "order_id", "responded_at", "score"], ["kind"]),
    "customers": (["customer_id", "created_at", "email_opt_in_at", "email_opt_out_at"], []),
}  # fmt: skip


def load_tables(warehouse: Warehouse) -> Tables:
    """The needed columns of every table the grid reads, as DataFrames."""
    tables: Tables = {}
    for name, (columns, categorical) in COLUMNS.items():
        frame = warehouse.fetch_frame(f"SELECT {', '.join(columns)} FROM {name}")
        for column in categorical:
            frame[column] = frame[column].astype("category")
        tables[name] = frame
    return tables


def compute_grid(tables: Tables, start: date, end: date) -> pd.DataFrame:
    """All grid KPIs: long table kpi, day, dim, payment_method, value."""
    grid = GridFrames(tables, start, end)
    web.marketing(grid)
    facts = web.session_facts(grid)
    web.sessions(grid, facts)
    web.funnels(grid, facts)
    web.events(grid)
    web.pages(grid)
    orders = sales.orders(grid)
    sales.sales(grid, orders)
    sales.delivery(grid)
    sales.service(grid)
    sales.customers(grid, sales.purchases(grid))
    return grid.result()
