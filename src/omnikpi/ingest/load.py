"""Loading validated rows: upsert by primary key and record the batch with its report.

A load is idempotent (rows equal to what the warehouse holds are left alone, changed rows
replace the old ones by key) and atomic (the caller runs it in one DuckDB transaction,
so a crash leaves the warehouse exactly as it was).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from omnikpi.ingest.quarantine import QUARANTINE, ReasonCount
from omnikpi.ingest.sql import ident, idents
from omnikpi.model import Table
from omnikpi.model.schema import Column as C
from omnikpi.warehouse import Warehouse

LOAD_LOG = Table(
    name="load_log",
    description="One row per ingest batch: what was read, loaded and quarantined.",
    primary_key=("batch_id",),
    kind="system",
    group="ingest",
    time_column="started_at",
    columns=(
        C("batch_id", "string", "Batch id."),
        C("source", "string", "Files, preset, database table or query loaded."),
        C("checksum", "string", "SHA-256 of the files; for a database, a hash of its rows."),
        C("status", "string", "loaded, or rejected when too many rows failed validation."),
        C("started_at", "timestamp", "When the load started (UTC)."),
        C("duration_seconds", "float", "Wall-clock duration of the load."),
        C("rows_read", "int", "Source rows read."),
        C("rows_loaded", "int", "Valid rows now in the warehouse (inserted, updated or equal)."),
        C("rows_inserted", "int", "Rows added."),
        C("rows_updated", "int", "Rows that replaced a changed row with the same key."),
        C("rows_quarantined", "int", "Source rows with at least one problem."),
        C(
            "tables",
            "string",
            "Per table (JSON): source rows, inserted, updated, unchanged, merged, quarantined, "
            "set aside, and the rows not loaded per reason.",
        ),
    ),
)
INGEST_TABLES = (LOAD_LOG, QUARANTINE)


@dataclass(frozen=True)
class TableLoad:
    """What one load did to one canonical table.

    Its `source_rows` each became a row (`inserted`, `updated` or `unchanged`), were
    `merged` into another row with the same key, `quarantined` or `set_aside`; `reasons`
    counts the last three per reason.
    """

    table: str
    source_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    merged: int = 0
    set_aside: int = 0
    reasons: tuple[ReasonCount, ...] = ()
    earliest: date | None = None

    @property
    def loaded(self) -> int:
        """Valid rows now in the table: inserted, updated or already equal."""
        return self.inserted + self.updated + self.unchanged

    @property
    def valid(self) -> int:
        """Source rows that passed validation (what a dry run would load)."""
        return self.source_rows - self.quarantined - self.set_aside - self.merged

    def as_record(self) -> dict[str, object]:
        """The counts as load_log keeps them (its `tables` JSON)."""
        return {
            "source_rows": self.source_rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "quarantined": self.quarantined,
            "set_aside": self.set_aside,
            "reasons": [reason.as_record() for reason in self.reasons],
        }

    @property
    def changed(self) -> bool:
        """Whether the load inserted or updated any row."""
        return bool(self.inserted or self.updated)


def ensure_ingest_tables(warehouse: Warehouse) -> None:
    """Create load_log and quarantine if this warehouse has none yet."""
    warehouse.create_tables(INGEST_TABLES)


def upsert(
    warehouse: Warehouse,
    table: Table,
    good: str,
    *,
    time_zone: str,
    keep_existing: bool = False,
) -> TableLoad:
    """Insert new rows and replace changed ones (same key, other values) from `good`.

    With `keep_existing`, rows whose key is already in the warehouse are left as they are.
    The earliest change is dated in `time_zone` (the warehouse's local dates).
    """
    target = f"main.{ident(table.name)}"
    columns = idents(table.column_names)
    time = table.time_column
    local_date = _local_date(table, time_zone)
    existing = _scalar(warehouse, f"SELECT count(*) FROM {target}")
    if existing == 0:
        insert = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {ident(good)}"
        inserted = _scalar(warehouse, insert)  # an INSERT returns its row count
        earliest = (
            _earliest(warehouse, f"SELECT {ident(time)} FROM {ident(good)}", local_date)
            if time
            else None
        )
        return TableLoad(table.name, inserted=inserted, earliest=earliest)
    keys = table.primary_key
    on = " AND ".join(f"w.{ident(k)} = g.{ident(k)}" for k in keys)
    same = " AND ".join(
        f"g.{ident(c)} IS NOT DISTINCT FROM w.{ident(c)}" for c in table.column_names
    )
    changed = f"_changed_{table.name}"
    select = ", ".join(f"g.{ident(c)}" for c in table.column_names)
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(changed)} AS SELECT {select}, "
        f"w.{ident(keys[0])} IS NOT NULL AS _existing FROM {ident(good)} g "
        f"LEFT JOIN {target} w ON {on} WHERE w.{ident(keys[0])} IS NULL"
        + ("" if keep_existing else f" OR NOT ({same})")
    )
    total = _scalar(warehouse, f"SELECT count(*) FROM {ident(good)}")
    counts = warehouse.fetch_row(
        f"SELECT count(*), count(*) FILTER (WHERE _existing) FROM {ident(changed)}"
    )
    touched, updated = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    earliest = None
    if time and touched:
        replaced = (
            f"SELECT w.{ident(time)} FROM {target} w JOIN {ident(changed)} g ON {on} "
            f"WHERE g._existing UNION ALL SELECT {ident(time)} FROM {ident(changed)}"
        )
        earliest = _earliest(warehouse, replaced, local_date)
    if updated:
        match = " AND ".join(f"{target}.{ident(k)} = g.{ident(k)}" for k in keys)
        warehouse.run_sql(
            f"DELETE FROM {target} USING {ident(changed)} g WHERE g._existing AND {match}"
        )
    if touched:
        warehouse.run_sql(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {ident(changed)}"
        )
    return TableLoad(
        table.name,
        inserted=touched - updated,
        updated=updated,
        unchanged=total - touched,
        earliest=earliest,
    )


def record_load(
    warehouse: Warehouse,
    *,
    batch_id: str,
    source: str,
    checksum: str,
    status: str,
    started_at: datetime,
    duration_seconds: float,
    rows_read: int,
    rows_quarantined: int,
    tables: Mapping[str, TableLoad],
) -> None:
    """Append the batch to load_log."""
    summary = {name: t.as_record() for name, t in tables.items()}
    warehouse.run_sql(
        "INSERT INTO main.load_log VALUES ($batch, $source, $checksum, $status, $started, "
        "$duration, $read, $loaded, $inserted, $updated, $quarantined, $tables)",
        {
            "batch": batch_id,
            "source": source,
            "checksum": checksum,
            "status": status,
            "started": started_at,
            "duration": duration_seconds,
            "read": rows_read,
            "loaded": sum(t.loaded for t in tables.values()),
            "inserted": sum(t.inserted for t in tables.values()),
            "updated": sum(t.updated for t in tables.values()),
            "quarantined": rows_quarantined,
            "tables": json.dumps(summary, sort_keys=True),
        },
    )


def _scalar(warehouse: Warehouse, sql: str) -> int:
    return int(warehouse.fetch_value(sql) or 0)


def _local_date(table: Table, time_zone: str) -> tuple[str, dict[str, object]]:
    """SQL (over `t`) of the local date of the table's time column, and its parameters."""
    if table.time_column and table.column(table.time_column).type == "timestamp":
        return "CAST(timezone($zone, min(t)) AS DATE)", {"zone": time_zone}
    return "CAST(min(t) AS DATE)", {}


def _earliest(
    warehouse: Warehouse, times: str, local_date: tuple[str, dict[str, object]]
) -> date | None:
    sql, params = local_date
    value = warehouse.fetch_value(f"SELECT {sql} FROM ({times}) AS x(t)", params)
    return value if isinstance(value, date) else None
