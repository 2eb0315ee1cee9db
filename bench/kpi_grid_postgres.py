"""The warehouse tables the grid reads, copied into a PostgreSQL schema, and a way to query it.

Each table is exported by DuckDB to CSV and loaded with COPY, then given its primary key and
VACUUM ANALYZE, as a DBA would after a bulk load. A marker table records which warehouse
file was loaded, so later runs reuse the schema until the warehouse changes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from omnikpi.model import table as model_table
from omnikpi.warehouse import Warehouse

DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
SCHEMA = "omnikpi_kpi_grid"
TABLES = (
    "campaigns", "customers", "events", "inventory_snapshots", "invoices", "marketing_daily",
    "messages", "order_lines", "orders", "returns", "sessions", "shipments", "site_checks",
    "stores", "surveys", "tickets", "touchpoints",
)  # fmt: skip
#: Session settings of an analytics connection: local dates in Seoul, sorts and hashes in
#: memory rather than spilled to disk.
SESSION = ("SET TIME ZONE 'Asia/Seoul'", "SET work_mem = '256MB'")
TYPES = {
    "VARCHAR": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


def connect(dsn: str = DSN) -> psycopg.Connection:
    """An autocommit connection reading the benchmark schema."""
    connection = psycopg.connect(dsn, autocommit=True)
    for statement in SESSION:
        connection.execute(statement)
    connection.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(SCHEMA)))
    return connection


def loaded_from(connection: psycopg.Connection) -> str | None:
    """Which warehouse the schema holds (path, size and modification time), if any."""
    row = connection.execute(
        "SELECT to_regclass(%s) IS NOT NULL", [f"{SCHEMA}.kpi_grid_source"]
    ).fetchone()
    if not row or not row[0]:
        return None
    found = connection.execute(
        sql.SQL("SELECT source FROM {}.kpi_grid_source").format(sql.Identifier(SCHEMA))
    ).fetchone()
    return str(found[0]) if found else None


def signature(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()} {stat.st_size} {stat.st_mtime_ns}"


def load(warehouse: Warehouse, path: Path, connection: psycopg.Connection) -> float:
    """Copy the grid's tables into a fresh schema; returns the seconds it took."""
    started = time.perf_counter()
    schema = sql.Identifier(SCHEMA)
    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
    connection.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    with tempfile.TemporaryDirectory(prefix="omnikpi-kpi-grid-") as folder:
        for name in TABLES:
            print(f"  loading {name} into PostgreSQL ...", flush=True)
            _copy_table(warehouse, connection, name, Path(folder) / f"{name}.csv")
    connection.execute(
        sql.SQL("CREATE TABLE {}.kpi_grid_source AS SELECT %s::text AS source").format(schema),
        [signature(path)],
    )
    return time.perf_counter() - started


def _copy_table(warehouse: Warehouse, connection: psycopg.Connection, name: str, csv: Path) -> None:
    columns = warehouse.fetch_rows(f'DESCRIBE "{name}"')
    definitions = [
        sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(_pg_type(kind)))
        for column, kind, *_ in columns
    ]
    table = sql.Identifier(SCHEMA, name)
    connection.execute(
        sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(definitions))
    )
    warehouse.run_sql(f"COPY \"{name}\" TO '{csv}' (FORMAT csv, HEADER false)")
    copy_in = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(table)
    with connection.cursor() as cursor, cursor.copy(copy_in) as copy, csv.open("rb") as source:
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    csv.unlink()
    key = model_table(name).primary_key
    if key:
        connection.execute(
            sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                table, sql.SQL(", ").join(sql.Identifier(k) for k in key)
            )
        )
    connection.execute(sql.SQL("VACUUM ANALYZE {}").format(table))


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return TYPES[duckdb_type]


def executor(
    connection: psycopg.Connection,
) -> Callable[[str, dict[str, date] | None], pd.DataFrame]:
    """A function running one statement and returning its rows as a DataFrame."""

    def execute(statement: str, params: dict[str, date] | None) -> pd.DataFrame:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)  # type: ignore[arg-type]
            if cursor.description is None:
                return pd.DataFrame()
            names = [c.name for c in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=names)

    return execute
