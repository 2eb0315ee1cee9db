"""What the warehouse holds and how fresh it is: the service behind the data status page.

Pure reads over a Warehouse; the page and `GET /api/v1/status` both call it. Loads and
quarantine come from ingestion's own status service (`omnikpi ingest status`); a warehouse
that was never loaded by `omnikpi ingest` (a fresh demo) has none to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnikpi.errors import InvalidChoice
from omnikpi.ingest.load import LOAD_LOG
from omnikpi.ingest.quarantine import QUARANTINE
from omnikpi.ingest.status import quarantine_counts, recent_loads
from omnikpi.kpi.rollup_store import refresh_failure
from omnikpi.model import TABLES, Table, TableKind
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

#: How many of the latest loads (and quarantine groups) the status shows.
LOAD_LOG_LIMIT = 20
#: Columns of `recent_loads` and `quarantine_counts` the status shows, in order.
LOAD_COLUMNS = (
    "started_at",
    "source",
    "status",
    "rows_read",
    "rows_loaded",
    "rows_inserted",
    "rows_updated",
    "rows_quarantined",
    "seconds",
)
QUARANTINE_COLUMNS = ("source", "table_name", "column_name", "problems", "rows", "reason")

Cell = str | int | float | date | datetime | None


@dataclass(frozen=True)
class TableStatus:
    """One canonical table: rows, and the latest value of its time column."""

    name: str
    kind: TableKind
    rows: int
    time_column: str | None
    latest: date | datetime | None
    #: Whole days from the latest value's local date to today (None: no time value).
    age_days: int | None = None


@dataclass(frozen=True)
class TableExtract:
    """A few rows of an ingestion table, with their column names (None: no such table)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: int


@dataclass(frozen=True)
class DataStatus:
    """The data status of a warehouse."""

    tables: tuple[TableStatus, ...]
    load_log: TableExtract | None
    quarantine: TableExtract | None
    #: The latest local date in any core table's time column (None: no data yet).
    latest_data: date | None
    #: Whole days from `latest_data` to today.
    age_days: int | None
    #: Whether the simulator wrote the data (`omnikpi demo`): it has no loads to list.
    simulated: bool = False
    #: Tables changed since the KPI rollups were last refreshed (their KPIs are computed
    #: from the tables meanwhile).
    pending_refresh: tuple[str, ...] = ()
    #: The last rollup refresh that failed, unless one succeeded since: when, the
    #: tables it was refreshing, and the error.
    refresh_failure: tuple[datetime, str, str] | None = None

    @property
    def total_rows(self) -> int:
        return sum(table.rows for table in self.tables)


def local_date(value: date | datetime, time_zone: str) -> date:
    """The local calendar date of an instant (a date stays as it is)."""
    return value.astimezone(ZoneInfo(time_zone)).date() if isinstance(value, datetime) else value


def _from_epoch_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def _latest(warehouse: Warehouse, table: Table) -> date | datetime | None:
    if table.time_column is None:
        return None
    column = table.column(table.time_column)
    # Identifiers come from the model, never from a request.
    if column.type == "timestamp":
        micros = warehouse.fetch_value(f'SELECT epoch_us(max("{column.name}")) FROM "{table.name}"')
        return _from_epoch_us(int(micros)) if micros is not None else None
    value = warehouse.fetch_value(f'SELECT max("{column.name}") FROM "{table.name}"')
    return value if isinstance(value, date) else None


def _instant(text: object, time_zone: str) -> datetime | None:
    # `recent_loads` formats started_at as "%Y-%m-%d %H:%M:%S" in the connection's time zone
    # (the warehouse's); it is turned back into an instant so pages can show it by locale.
    if not isinstance(text, str):
        return None
    local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC)


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float | date):
        return value
    return str(value)


def read_load_log(warehouse: Warehouse, limit: int = LOAD_LOG_LIMIT) -> TableExtract | None:
    """The latest loads, newest first (from `omnikpi ingest status`); None: no load log."""
    if LOAD_LOG.name not in warehouse.table_set():
        return None
    loads = recent_loads(warehouse, limit)
    rows = tuple(
        tuple(
            _instant(load[c], warehouse.time_zone) if c == "started_at" else _cell(load[c])
            for c in LOAD_COLUMNS
        )
        for load in loads
    )
    total = warehouse.row_counts([LOAD_LOG.name]).get(LOAD_LOG.name, 0)
    return TableExtract(columns=LOAD_COLUMNS, rows=rows, total=total)


def read_quarantine(warehouse: Warehouse, limit: int = LOAD_LOG_LIMIT) -> TableExtract | None:
    """Quarantined values by source, table and column, most frequent first; None: none kept."""
    if QUARANTINE.name not in warehouse.table_set():
        return None
    counts = quarantine_counts(warehouse)
    rows = tuple(tuple(_cell(group[c]) for c in QUARANTINE_COLUMNS) for group in counts[:limit])
    total = sum(int(group["problems"]) for group in counts)
    return TableExtract(columns=QUARANTINE_COLUMNS, rows=rows, total=total)


def read_data_status(warehouse: Warehouse, today: date) -> DataStatus:
    """Row counts and freshness (age in days before `today`) of every canonical table,
    the load log and quarantine."""
    counts = warehouse.row_counts([table.name for table in TABLES])
    tables: list[TableStatus] = []
    for table in TABLES:
        if table.name not in counts:
            continue
        latest = _latest(warehouse, table)
        age = (today - local_date(latest, warehouse.time_zone)).days if latest else None
        tables.append(
            TableStatus(
                name=table.name,
                kind=table.kind,
                rows=counts[table.name],
                time_column=table.time_column,
                latest=latest,
                age_days=age,
            )
        )
    dates = [
        local_date(t.latest, warehouse.time_zone) for t in tables if t.kind == "core" and t.latest
    ]
    latest_data = max(dates) if dates else None
    return DataStatus(
        tables=tuple(tables),
        load_log=read_load_log(warehouse),
        quarantine=read_quarantine(warehouse),
        latest_data=latest_data,
        age_days=(today - latest_data).days if latest_data else None,
        simulated=counts.get("simulation_truth", 0) > 0,
        pending_refresh=tuple(sorted(warehouse.changed_tables())),
        refresh_failure=refresh_failure(warehouse),
    )


_GRAIN_INTERVALS = {
    "day": "INTERVAL 1 DAY",
    "week": "INTERVAL 1 WEEK",
    "month": "INTERVAL 1 MONTH",
    "quarter": "INTERVAL 3 MONTH",
    "year": "INTERVAL 1 YEAR",
}

#: Tables whose volume over time the status page can chart (those with a time column).
VOLUME_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.time_column)


def rows_by_period(
    warehouse: Warehouse, table_name: str, grain: str, start: date, end: date
) -> list[tuple[date, int]]:
    """Rows of `table_name` per period of its time column (local dates), for spotting gaps."""
    if grain not in _GRAIN_INTERVALS:
        raise InvalidChoice("grain", grain, ", ".join(_GRAIN_INTERVALS))
    table = next((t for t in TABLES if t.name == table_name and t.time_column), None)
    if table is None or table.time_column is None:
        raise InvalidChoice("table", table_name, ", ".join(VOLUME_TABLES))
    if table.name not in warehouse.table_set():
        return []
    day = f'CAST("{table.time_column}" AS DATE)'
    step = _GRAIN_INTERVALS[grain]
    # Every period of the range is listed, so a period without rows shows as 0 (a gap).
    rows = warehouse.fetch_rows(
        f"""
        WITH periods AS (
            SELECT CAST(p AS DATE) AS period
            FROM range(CAST(date_trunc(?, CAST(? AS DATE)) AS TIMESTAMP),
                       CAST(? AS DATE) + INTERVAL 1 DAY, {step}) AS t(p)
        ), counts AS (
            SELECT CAST(date_trunc(?, {day}) AS DATE) AS period, count(*) AS n
            FROM "{table.name}" WHERE {day} BETWEEN ? AND ? GROUP BY period
        )
        SELECT period, coalesce(n, 0) FROM periods LEFT JOIN counts USING (period)
        ORDER BY period
        """,
        [grain, start, end, grain, start, end],
    )
    return [(period, int(count)) for period, count in rows]


def warehouse_status(settings: Settings, today: date) -> DataStatus:
    """`read_data_status` of the settings' warehouse."""
    with read_warehouse(settings) as warehouse:
        return read_data_status(warehouse, today)


def table_volume(
    settings: Settings, table_name: str, grain: str, start: date, end: date
) -> list[tuple[date, int]]:
    """`rows_by_period` of the settings' warehouse."""
    with read_warehouse(settings) as warehouse:
        return rows_by_period(warehouse, table_name, grain, start, end)
