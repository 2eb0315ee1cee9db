"""Catalog sources built as Ibis tables: per-session facts instead of windows over events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from omnikpi.kpi import load_catalog
from omnikpi.kpi.sources import SourceBuilder
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
