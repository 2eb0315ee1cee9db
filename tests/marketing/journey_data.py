"""A tiny hand-made warehouse for the journey tests (times UTC, period March 2025,
lookback 7 days).

| person | touches (channel, kind)                                  | orders                  |
|--------|----------------------------------------------------------|-------------------------|
| C1     | 03-01 10:00 display impression, 03-03 10:00 search click | O1 web 03-05 10:00, 100 |
|        | (+ its visit 10:00:05, the same contact), email opened    |                         |
|        | 03-04 12:00 (also as a touchpoint: counted once)          |                         |
|        | 03-10 10:00 direct visit                                 | O2 store 03-12 10:00, 50|
|        | 03-20 display impression                                 | -                       |
| C2     | 02-10 display (before the window), 03-01 09:00 email      | O3 store 03-15, 80      |
|        | delivered, not opened (14 days before O3)                 |                         |
| V9     | 03-02 organic visit, 03-25 10:00 direct visit (anonymous) | O4 guest web 03-25     |
|        |                                                           | 10:30, 30               |
| V5=C3  | 03-06 09:30 social impression as visitor V5, 03-07 09:00  | O5 app 03-07 09:30, 40; |
|        | referral visit signed in as C3                            | O6 cancelled 03-20      |
| C4     | 02-25 display, 03-02 10:00 search click                   | O8 02-27 (before the    |
|        |                                                           | period), O9 web 03-04   |
|        |                                                           | 10:00, 60               |
| guest  | -                                                         | O7 store guest, 20      |
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from omnikpi.marketing.journeys import TouchSources
from omnikpi.settings import DataSettings
from omnikpi.warehouse import Warehouse

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2025-{text}", tz="UTC")


def frame(rows: list[tuple[object, ...]], schema: dict[str, str]) -> ir.Table:
    data = pd.DataFrame(rows, columns=list(schema))
    return ibis.memtable(data, schema=ibis.schema(schema))


TS = "timestamp('UTC')"
TOUCHPOINTS = {
    "customer_id": "string", "visitor_id": "string", "occurred_at": TS,
    "channel": "string", "campaign_id": "string", "kind": "string",
}  # fmt: skip
MESSAGES = {
    "customer_id": "string", "campaign_id": "string", "channel": "string", "sent_at": TS,
    "delivered": "boolean", "bounced": "boolean", "opened_at": TS, "clicked_at": TS,
}  # fmt: skip
SESSIONS = {
    "session_id": "string", "visitor_id": "string", "customer_id": "string",
    "started_at": TS, "traffic_source": "string", "campaign_id": "string",
}  # fmt: skip
ORDERS = {
    "order_id": "string", "customer_id": "string", "channel": "string",
    "session_id": "string", "placed_at": TS, "status": "string", "net_amount": "float64",
}  # fmt: skip


def sources() -> TouchSources:
    touchpoints = frame(
        [
            ("C1", None, t("03-01 10:00"), "display", "K1", "impression"),
            ("C1", "V1", t("03-03 10:00"), "search", "K2", "click"),
            ("C1", None, t("03-04 12:00"), "email", "K3", "message_open"),
            ("C1", None, t("03-20 10:00"), "display", "K1", "impression"),
            ("C2", None, t("02-10 10:00"), "display", "K1", "impression"),
            (None, "V5", t("03-06 09:30"), "social", "K4", "impression"),
            ("C4", None, t("02-25 10:00"), "display", "K1", "impression"),
            ("C4", None, t("03-02 10:00"), "search", "K2", "click"),
        ],
        TOUCHPOINTS,
    )
    messages = frame(
        [
            ("C1", "K3", "email", t("03-04 09:00"), True, False, t("03-04 12:00"), None),
            ("C2", "K3", "email", t("03-01 09:00"), True, False, None, None),
        ],
        MESSAGES,
    )
    sessions = frame(
        [
            ("S1", "V1", "C1", t("03-03 10:00:05"), "paid_search", "K2"),
            ("S2", "V1", "C1", t("03-10 10:00"), "direct", None),
            ("S9a", "V9", None, t("03-02 10:00"), "organic_search", None),
            ("S9b", "V9", None, t("03-25 10:00"), "direct", None),
            ("S5", "V5", "C3", t("03-07 09:00"), "referral", None),
        ],
        SESSIONS,
    )
    orders = frame(
        [
            ("O1", "C1", "web", "S1", t("03-05 10:00"), "paid", 100.0),
            ("O2", "C1", "store", None, t("03-12 10:00"), "completed", 50.0),
            ("O3", "C2", "store", None, t("03-15 10:00"), "completed", 80.0),
            ("O4", None, "web", "S9b", t("03-25 10:30"), "paid", 30.0),
            ("O5", "C3", "app", "S5", t("03-07 09:30"), "completed", 40.0),
            ("O6", "C3", "web", None, t("03-20 10:00"), "cancelled", 70.0),
            ("O7", None, "store", None, t("03-16 10:00"), "completed", 20.0),
            ("O8", "C4", "web", None, t("02-27 10:00"), "completed", 25.0),
            ("O9", "C4", "web", None, t("03-04 10:00"), "completed", 60.0),
        ],
        ORDERS,
    )
    return TouchSources(
        orders=orders, sessions=sessions, touchpoints=touchpoints, messages=messages
    )


def write_warehouse(path: Path) -> Path:
    """The tables above in a warehouse file in UTC (the rest of the schema empty)."""
    data = sources()
    tables = {
        "orders": data.orders,
        "sessions": data.sessions,
        "touchpoints": data.touchpoints,
        "messages": data.messages,
    }
    with Warehouse.create(path, settings=DataSettings(time_zone="UTC")) as warehouse:
        for name, table in tables.items():
            assert table is not None
            with warehouse.registered(f"new_{name}", table.execute()) as source:
                warehouse.run_sql(f'DROP TABLE "{name}"')
                warehouse.run_sql(f'CREATE TABLE "{name}" AS SELECT * FROM "{source}"')
    return path
