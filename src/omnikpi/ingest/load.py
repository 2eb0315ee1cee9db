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
    The earliest change is dated in `time_zone` (the warehouse's local dates). `good` may
    be a view converting its rows as it is read: all of it is read once to write the new
    and changed rows, and once more to compare when the table holds some of its keys.
    """
    target = f"main.{ident(table.name)}"
    columns = idents(table.column_names)
    time = table.time_column
    local_date = _local_date(table, time_zone)
    if not _scalar(warehouse, f"SELECT EXISTS (SELECT 1 FROM {target})"):
        insert = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {ident(good)}"
        inserted = _scalar(warehouse, insert)  # an INSERT returns its row count
        times = f"SELECT {ident(time)} FROM {target}" if time else None
        return TableLoad(
            table.name, inserted=inserted, earliest=_earliest(warehouse, times, local_date)
        )
    keys = table.primary_key
    on = " AND ".join(f"w.{ident(k)} = g.{ident(k)}" for k in keys)
    # In one pass: the rows, those whose key the table holds, and the local date of the
    # earliest of the others (the rows this load adds).
    present_key = f"w.{ident(keys[0])}"
    new_time = f"min(g.{ident(time)}) FILTER (WHERE {present_key} IS NULL)" if time else "NULL"
    read = idents([*keys, *([time] if time else [])])
    sql, params = local_date
    counts = warehouse.fetch_row(
        f"SELECT any_value(n), any_value(present), {sql} FROM (SELECT count(*) AS n, "
        f"count({present_key}) AS present, {new_time} AS t FROM (SELECT {read} FROM "
        f"{ident(good)}) g LEFT JOIN (SELECT {idents(keys)} FROM {target}) w ON {on})",
        params,
    )
    total, present = (int(counts[0] or 0), int(counts[1] or 0)) if counts else (0, 0)
    earliest = counts[2] if counts and isinstance(counts[2], date) else None
    updated = 0
    if present and not keep_existing:
        updated, replaced = _delete_changed(warehouse, table, good, on, local_date)
        earliest = min((d for d in (earliest, replaced) if d is not None), default=None)
    if total > present or updated:
        # what is left to insert: the new rows and the changed ones (their old rows deleted)
        warehouse.run_sql(
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {ident(good)} g "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} w WHERE {on})"
        )
    return TableLoad(
        table.name,
        inserted=total - present,
        updated=updated,
        unchanged=present - updated,
        earliest=earliest,
    )


def _delete_changed(
    warehouse: Warehouse,
    table: Table,
    good: str,
    on: str,
    local_date: tuple[str, dict[str, object]],
) -> tuple[int, date | None]:
    """Delete the rows of the table that `good` changes (same key, another value), for the
    insert that follows to replace them: how many, and the earliest of their old and new
    times."""
    target = f"main.{ident(table.name)}"
    keys = table.primary_key
    changed = ident(f"_changed_{table.name}")
    same = " AND ".join(
        f"g.{ident(c)} IS NOT DISTINCT FROM w.{ident(c)}" for c in table.column_names
    )
    time = table.time_column
    moved = f", w.{ident(time)} AS _old, g.{ident(time)} AS _new" if time else ""
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {changed} AS SELECT "
        f"{', '.join(f'g.{ident(k)}' for k in keys)}{moved} "
        f"FROM {ident(good)} g JOIN {target} w ON {on} WHERE NOT ({same})"
    )
    updated = _scalar(warehouse, f"SELECT count(*) FROM {changed}")
    if not updated:
        return 0, None
    match = " AND ".join(f"{target}.{ident(k)} = g.{ident(k)}" for k in keys)
    warehouse.run_sql(f"DELETE FROM {target} USING {changed} g WHERE {match}")
    times = f"SELECT _old FROM {changed} UNION ALL SELECT _new FROM {changed}" if time else None
    return updated, _earliest(warehouse, times, local_date)


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
    warehouse: Warehouse, times: str | None, local_date: tuple[str, dict[str, object]]
) -> date | None:
    """The local date of the earliest of `times` (SQL of one column), if there are any."""
    if times is None:
        return None
    sql, params = local_date
    value = warehouse.fetch_value(f"SELECT {sql} FROM ({times}) AS x(t)", params)
    return value if isinstance(value, date) else None
