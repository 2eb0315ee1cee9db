"""What `omnikpi ingest status` shows: the recent loads and what sits in quarantine."""

from __future__ import annotations

import json
from typing import Any

from omnikpi.ingest.load import LOAD_LOG
from omnikpi.ingest.quarantine import QUARANTINE
from omnikpi.warehouse import Warehouse


def recent_loads(warehouse: Warehouse, limit: int = 20) -> list[dict[str, Any]]:
    """The latest batches from load_log, newest first.

    `started_at` is text, "%Y-%m-%d %H:%M:%S" in the warehouse's time zone; `tables` the
    load's report per table (`TableLoad.as_record`).
    """
    if LOAD_LOG.name not in warehouse.table_set():
        return []
    loads = warehouse.fetch_arrow(
        "SELECT batch_id, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started_at, status, "
        "source, rows_read, "
        "rows_loaded, rows_inserted, rows_updated, rows_quarantined, "
        "round(duration_seconds, 2) AS seconds, tables "
        "FROM main.load_log ORDER BY started_at DESC, batch_id DESC LIMIT $limit",
        {"limit": limit},
    )
    records: list[dict[str, Any]] = loads.to_pylist()
    for record in records:  # per table: rows loaded, merged, quarantined, set aside, why
        record["tables"] = json.loads(record["tables"] or "{}")
    return records


def quarantine_counts(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Quarantined values per source, table, column and reason, most frequent first."""
    if QUARANTINE.name not in warehouse.table_set():
        return []
    problems = warehouse.fetch_arrow(
        "SELECT source, table_name, column_name, count(*) AS problems, "
        "count(DISTINCT row_number) AS rows, min(row_number) AS first_row, any_value(reason) "
        "AS reason FROM main.quarantine GROUP BY source, table_name, column_name "
        "ORDER BY problems DESC, source, table_name, column_name"
    )
    records: list[dict[str, Any]] = problems.to_pylist()
    return records
