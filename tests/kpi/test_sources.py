"""Catalog sources built as Ibis tables: per-session facts instead of windows over events,
and optional joins of tables a model writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from omnikpi.kpi import load_catalog
from omnikpi.kpi.sources import SourceBuilder
from omnikpi.kpi.spec import JoinSpec
from omnikpi.model import registry
from omnikpi.model.derived import PURCHASE_LOST_DATES
from omnikpi.warehouse import Warehouse


def _events(rows: list[tuple[str, str, str, str]]) -> pa.Table:
    """Events of (event id, session, type, UTC time 'HH:MM:SS' on 2024-03-04)."""
    moment = [datetime.fromisoformat(f"2024-03-04T{t}").replace(tzinfo=UTC) for _, _, _, t in rows]
    return pa.table(
        {
            "event_id": [r[0] for r in rows],
            "session_id": [r[1] for r in rows],
            "visitor_id": ["V1"] * len(rows),
            "customer_id": pa.nulls(len(rows), pa.string()),
            "occurred_at": pa.array(moment, pa.timestamp("us", tz="UTC")),
            "event_type": [r[2] for r in rows],
            "page_type": ["product"] * len(rows),
            "page_path": ["/p/P1"] * len(rows),
            "product_id": pa.nulls(len(rows), pa.string()),
            "search_query": pa.nulls(len(rows), pa.string()),
            "search_results": pa.nulls(len(rows), pa.int32()),
            "banner_id": pa.nulls(len(rows), pa.string()),
            "order_id": pa.nulls(len(rows), pa.string()),
            "load_ms": pa.nulls(len(rows), pa.int32()),
        }
    )


def test_a_sessions_exit_is_its_last_page_view_ties_broken_by_event_id(tmp_path: Path) -> None:
    events = _events(
        [
            ("E1", "S1", "page_view", "10:00:00"),
            ("E3", "S1", "page_view", "10:05:00"),  # the last moment, twice:
            ("E2", "S1", "page_view", "10:05:00"),  # the highest id (E3) is the exit
            ("E4", "S1", "add_to_cart", "10:06:00"),  # later, but not a page view
            ("E5", "S2", "page_view", "11:00:00"),  # a one-page session exits there
            ("E6", "S3", "search", "12:00:00"),  # no page view: no exit
        ]
    )
    with Warehouse.create(tmp_path / "w.duckdb") as warehouse:
        warehouse.append("events", events)
        table = SourceBuilder(load_catalog(), warehouse).build("events", {"event_id", "is_exit"})
        found = warehouse.execute(table.select("event_id", "is_exit"))
    exits = dict(zip(found["event_id"], found["is_exit"].fillna(False), strict=True))
    assert exits == {"E1": False, "E2": False, "E3": True, "E4": False, "E5": True, "E6": False}


ORDERS = registry.table("orders")


def test_an_optional_join_reads_nulls_until_the_model_writes_its_table(tmp_path: Path) -> None:
    placed = [datetime(2024, 3, d, 9, tzinfo=UTC) for d in (4, 5)]
    orders = pa.table(
        {
            "order_id": ["O1", "O2"],
            "customer_id": ["C1", "C1"],
            "channel": ["web", "web"],
            "placed_at": pa.array(placed, pa.timestamp("us", tz="UTC")),
            "status_changed_at": pa.array(placed, pa.timestamp("us", tz="UTC")),
            "status": ["completed", "paid"],
            "fulfilment": ["delivery", "delivery"],
            "currency": ["KRW", "KRW"],
            "gross_amount": pa.array([10_000, 20_000], pa.decimal128(18, 2)),
            "discount_amount": pa.array([0, 0], pa.decimal128(18, 2)),
            "net_amount": pa.array([10_000, 20_000], pa.decimal128(18, 2)),
            "shipping_amount": pa.array([0, 0], pa.decimal128(18, 2)),
            "tax_amount": pa.array([0, 0], pa.decimal128(18, 2)),
            "total_amount": pa.array([10_000, 20_000], pa.decimal128(18, 2)),
        }
    )
    for column in ORDERS.columns:
        if column.name not in orders.column_names:
            orders = orders.append_column(column.name, pa.nulls(2, pa.string()))
    orders = orders.select(list(ORDERS.column_names))
    with Warehouse.create(tmp_path / "w.duckdb") as warehouse:
        warehouse.append("orders", orders)
        builder = SourceBuilder(load_catalog(), warehouse)
        before = builder.build("purchase_risk", {"order_id", "lost_on"})
        assert before.schema()["lost_on"].is_date()
        assert warehouse.execute(before.select("lost_on"))["lost_on"].isna().all()
        warehouse.create_tables([PURCHASE_LOST_DATES])
        warehouse.append(
            PURCHASE_LOST_DATES.name,
            pa.table(
                {
                    "order_id": ["O2"],
                    "customer_id": ["C1"],
                    "purchased_on": [date(2024, 3, 5)],
                    "lost_on": [date(2024, 6, 1)],
                    "model": ["bgnbd"],
                }
            ),
            PURCHASE_LOST_DATES,
        )
        after = SourceBuilder(load_catalog(), warehouse).build(
            "purchase_risk", {"order_id", "lost_on"}
        )
        found = warehouse.execute(after.select("order_id", "lost_on").order_by("order_id"))
    assert found["order_id"].tolist() == ["O1", "O2"]
    assert pd.isna(found["lost_on"][0])
    assert pd.Timestamp(found["lost_on"][1]).date() == date(2024, 6, 1)


def test_only_a_table_join_may_be_optional() -> None:
    with pytest.raises(ValidationError, match="only a join of a `table`"):
        JoinSpec(source="orders", match={"order_id": "order_id"}, columns={}, optional=True)
