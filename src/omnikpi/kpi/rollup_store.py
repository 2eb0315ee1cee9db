"""The tables rollups are kept in, and the writes that keep them: rows per atom, grain,
period and dimension value; which atoms they hold; the coverage of each source."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

import omnikpi
from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compiled import CompiledQuery, fingerprint
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.kpi.sources import tables_read
from omnikpi.model import Column, Table
from omnikpi.warehouse import Warehouse

ROLLUPS = Table(
    name="kpi_rollups",
    description="Pre-aggregated KPI atoms per grain, period and dimension value.",
    primary_key=("atom", "grain", "period_start", "dimension", "dimension_value", "part"),
    kind="system",
    group="kpi",
    columns=(
        Column("atom", "string", "Atom key (hash of its definition)."),
        Column("grain", "string", "day, week, month, quarter or year."),
        Column("period_start", "date", "First day of the period."),
        Column("dimension", "string", "Dimension, or empty for the total."),
        Column("dimension_value", "string", "Value of the dimension.", nullable=True),
        Column("part", "string", "Part of the atom (value, numerator, ...)."),
        Column("value", "float", "The atom's value."),
    ),
)
ROLLUP_STATE = Table(
    name="kpi_rollup_state",
    description="Which atoms the rollups hold, and when they were refreshed.",
    primary_key=("atom",),
    kind="system",
    group="kpi",
    columns=(
        Column("atom", "string", "Atom key."),
        Column("definition", "string", "The atom's definition (JSON)."),
        Column("refreshed_at", "timestamp", "When it was last refreshed."),
    ),
)
COVERAGE = Table(
    name="kpi_coverage",
    description="First and last local date with data per source and time column.",
    primary_key=("source", "time"),
    kind="system",
    group="kpi",
    columns=(
        Column("source", "string", "Catalog source."),
        Column("time", "string", "Time expression."),
        Column("first_date", "date", "First local date with rows.", nullable=True),
        Column("last_date", "date", "Last local date with rows.", nullable=True),
    ),
)
COMPILED = Table(
    name="kpi_compiled_sql",
    description=(
        "SQL the rollup build compiled per query shape, kept for the next refresh (a cache: "
        "rows of another fingerprint are dropped when it is saved)."
    ),
    primary_key=("fingerprint", "shape"),
    kind="system",
    group="kpi",
    columns=(
        Column("fingerprint", "string", "Library versions, catalog sources and table columns."),
        Column("shape", "string", "The query shape (atoms, grain, dimensions, filter keys)."),
        Column("sql", "string", "Compiled SQL with parameters, or none.", nullable=True),
        Column("result_schema", "string", "Column types of the result (JSON).", nullable=True),
        Column("bounded", "bool", "Whether rows are bounded by instants.", nullable=True),
    ),
)
REFRESH_FAILURE = Table(
    name="kpi_refresh_failure",
    description=(
        "The last rollup refresh that failed, until one succeeds (the KPIs reading the "
        "changed tables are computed directly meanwhile)."
    ),
    primary_key=("failed_at",),
    kind="system",
    group="kpi",
    columns=(
        Column("failed_at", "timestamp", "When the refresh failed."),
        Column("tables", "string", "The changed tables it was refreshing, comma-separated."),
        Column("error", "string", "What went wrong."),
    ),
)
ROLLUP_TABLES = (ROLLUPS, ROLLUP_STATE, COVERAGE, COMPILED, REFRESH_FAILURE)


def record_refresh_failure(warehouse: Warehouse, tables: Sequence[str], error: str) -> None:
    """Keep the failure of a refresh (only the last one), in its own transaction."""
    warehouse.create_tables([REFRESH_FAILURE])
    with warehouse.transaction():
        warehouse.run_sql("DELETE FROM kpi_refresh_failure")
        warehouse.run_sql(
            "INSERT INTO kpi_refresh_failure VALUES (?, ?, ?)",
            [datetime.now(UTC), ", ".join(sorted(tables)), error],
        )


def refresh_failure(warehouse: Warehouse) -> tuple[datetime, str, str] | None:
    """The last failed refresh (when, the tables, the error) unless one succeeded since."""
    if not warehouse.has_table(REFRESH_FAILURE.name):
        return None
    row = warehouse.fetch_row("SELECT epoch_us(failed_at), tables, error FROM kpi_refresh_failure")
    if row is None:
        return None
    failed_at = datetime.fromtimestamp(int(row[0]) / 1e6, UTC)
    return failed_at, str(row[1]), str(row[2])


def compile_fingerprint(warehouse: Warehouse, catalog: Catalog) -> str:
    """What the stored compiled SQL of this warehouse and catalog depends on: library
    versions, the catalog's sources and dimensions, the columns of the tables they read
    and the zone. Other tables (users, targets, audit records written after a build) do
    not change it, so their first writes do not make the next refresh compile again."""
    read = sorted(set().union(*(tables_read(catalog, s) for s in catalog.sources)))
    columns = warehouse.fetch_rows(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "AND list_contains(?, table_name) ORDER BY table_name, ordinal_position",
        [read],
    )
    return fingerprint(
        omnikpi.__version__,
        duckdb.__version__,
        catalog.sources_digest,
        warehouse.time_zone,
        [list(row) for row in columns],
    )


def stored_queries(warehouse: Warehouse, key: str) -> dict[str, CompiledQuery | None]:
    """Compiled SQL stored under fingerprint `key`, by shape."""
    rows = warehouse.fetch_rows(
        "SELECT shape, sql, result_schema, bounded FROM kpi_compiled_sql WHERE fingerprint = ?",
        [key],
    )
    return {
        shape: None if sql is None else CompiledQuery.stored(sql, schema, bool(bounded))
        for shape, sql, schema, bounded in rows
    }


def store_queries(
    warehouse: Warehouse, key: str, queries: Mapping[str, CompiledQuery | None]
) -> None:
    """Keep `queries` under fingerprint `key`; rows of other fingerprints are dropped."""
    warehouse.run_sql("DELETE FROM kpi_compiled_sql WHERE fingerprint <> ?", [key])
    records = [(shape, q.record() if q else (None, None, None)) for shape, q in queries.items()]
    table = pa.table(
        {
            "fingerprint": [key] * len(records),
            "shape": [shape for shape, _ in records],
            "sql": pa.array([r[0] for _, r in records], pa.string()),
            "result_schema": pa.array([r[1] for _, r in records], pa.string()),
            "bounded": pa.array([r[2] for _, r in records], pa.bool_()),
        }
    )
    warehouse.replace_rows(COMPILED, table)


def rollup_dimensions(catalog: Catalog, atom: Atom) -> list[str]:
    """Dimensions materialized for an atom: low-cardinality ones its source offers."""
    offered = catalog.source_dimensions(atom.source)
    return [d for d in offered if catalog.dimensions[d].rollup]


def has_rollups(warehouse: Warehouse) -> bool:
    """Whether rollups were ever built in this warehouse."""
    return warehouse.has_table(ROLLUP_STATE.name)


def stored_atoms(warehouse: Warehouse) -> set[str]:
    """Keys of the atoms the rollups hold."""
    return {str(row[0]) for row in warehouse.fetch_rows("SELECT atom FROM kpi_rollup_state")}


def delete_rows(
    warehouse: Warehouse, atoms: list[str], since: date | None, fresh: set[str]
) -> None:
    """Remove the rows about to be rebuilt: the atoms' rows from the period containing
    `since` on (all of them when None), and every row of atoms built from scratch."""
    keys = pa.table({"atom": atoms + sorted(fresh - set(atoms))})
    with warehouse.registered("_rebuilt_atoms", keys):
        if since is None:
            warehouse.run_sql(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms)"
            )
            return
        # A grain's rows from the period containing `since` onwards are rebuilt.
        for grain in Grain:
            warehouse.run_sql(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms) "
                "AND grain = ? AND period_start >= ?",
                [grain.value, period_start(since, grain)],
            )
        warehouse.run_sql("DELETE FROM kpi_rollups WHERE atom IN ?", [sorted(fresh)])


def record_state(warehouse: Warehouse, atoms: Sequence[Atom], current: set[str]) -> None:
    """Upsert the rebuilt atoms; forget atoms the catalog no longer has."""
    now = datetime.now(UTC)
    state = pa.table(
        {
            "atom": [a.key for a in atoms],
            "definition": [json.dumps([a.kind, a.source, a.fields], default=str) for a in atoms],
            "refreshed_at": pa.array([now] * len(atoms), pa.timestamp("us", tz="UTC")),
        }
    )
    warehouse.replace_rows(ROLLUP_STATE, state)
    with warehouse.registered("_current_atoms", pa.table({"atom": sorted(current)})):
        for table_name in (ROLLUP_STATE.name, ROLLUPS.name):
            warehouse.run_sql(
                f'DELETE FROM "{table_name}" WHERE atom NOT IN (SELECT atom FROM _current_atoms)'
            )


def record_coverage(
    warehouse: Warehouse, coverage: dict[tuple[str, str | None], tuple[date, date] | None]
) -> None:
    """Replace the stored coverage (first and last date per source and time column)."""
    rows = [
        (s, t or "", c[0] if c else None, c[1] if c else None) for (s, t), c in coverage.items()
    ]
    table = pa.table(
        {
            "source": [r[0] for r in rows],
            "time": [r[1] for r in rows],
            "first_date": pa.array([r[2] for r in rows], pa.date32()),
            "last_date": pa.array([r[3] for r in rows], pa.date32()),
        }
    )
    warehouse.run_sql("DELETE FROM kpi_coverage")
    warehouse.append(COVERAGE.name, table, COVERAGE)
