"""PostgreSQL as a source: a table or query streamed through a server-side cursor.

Rows arrive in batches of `batch_size` (one batch in Python memory at a time) and go
into DuckDB as Arrow; from there the load is the same as for files. The connection is
read-only, and a table name is quoted as an identifier, never pasted into SQL.

Dates and times arrive as PostgreSQL writes them (in UTC), not as Python dates: PostgreSQL
holds `infinity` and dates before year 1 or after 9999, which no Python date can, and one
such value would stop the load. The mapping converts them like a file's, so such a value
is quarantined with its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.types.string import TextLoader

from omnikpi.errors import ConfigError
from omnikpi.ingest.files import SINGLE_SOURCE, open_warehouse
from omnikpi.ingest.mapping import Mapping, load_mapping
from omnikpi.ingest.pipeline import LoadOptions, LoadSummary, run_load
from omnikpi.ingest.readers import SourceTable, read_arrow, rows_checksum
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

#: PostgreSQL type names read as typed Arrow columns; every other type is read as text
#: (numeric stays exact text until the mapping converts it).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "int2": pa.int64(),
    "int4": pa.int64(),
    "int8": pa.int64(),
    "float4": pa.float64(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
}
#: PostgreSQL types read as their text (ISO, in UTC), not as Python values: see above.
_TEXT_TYPES = ("date", "timestamp", "timestamptz")


def ingest_postgres(
    settings: Settings,
    dsn: str,
    mapping: Mapping | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    batch_size: int = 50_000,
    options: LoadOptions,
) -> LoadSummary:
    """Load a PostgreSQL table (`schema.table` or `table`) or SELECT query with a mapping."""
    if isinstance(mapping, Path):
        mapping = load_mapping(mapping)
    if mapping.sources:
        raise ConfigError("a PostgreSQL load reads one table or query; remove sources: from it")
    if (table is None) == (query is None):
        raise ConfigError("give exactly one of --table or --query")
    statement: sql.Composed | str = (
        sql.SQL("SELECT * FROM {}").format(sql.Identifier(*table.split(".")))
        if table
        else query or ""
    )
    origin = table or "query"
    checksum: list[str] = []

    def read(warehouse: Warehouse, workdir: Path) -> dict[str, SourceTable]:
        del workdir
        with _connect(dsn) as pg, pg.cursor(name="omnikpi_ingest") as cursor:
            cursor.itersize = batch_size
            try:
                cursor.execute(statement)
            except psycopg.Error as exc:
                raise ConfigError(
                    f"PostgreSQL cannot run the {origin}: {_first_line(exc)}"
                ) from None
            batches = stream_batches(cursor, batch_size)
            source = read_arrow(warehouse, SINGLE_SOURCE, f"{pg.info.dbname}.{origin}", batches)
        checksum.append(rows_checksum(warehouse, source.relation))
        return {SINGLE_SOURCE: source}

    with open_warehouse(settings, dry_run=options.dry_run) as target:
        return run_load(
            target,
            mapping,
            read,
            label=f"postgres {origin}",
            checksum=lambda: checksum[0],
            options=options,
        )


def stream_batches(cursor: psycopg.Cursor[Any], batch_size: int) -> Iterator[pa.Table]:
    """Arrow tables of at most `batch_size` rows from an executed cursor (one without rows
    when the result has none: a query for what changed may find nothing new)."""
    description = cursor.description or []
    names = [column.name for column in description]
    types = [_arrow_type(cursor, column.type_code) for column in description]
    if not (rows := cursor.fetchmany(batch_size)):
        yield pa.table({n: pa.array([], type=t) for n, t in zip(names, types, strict=True)})
        return
    while rows:
        columns = list(zip(*rows, strict=True))
        arrays = [
            pa.array(
                [None if v is None else str(v) for v in values] if kind == pa.string() else values,
                type=kind,
            )
            for values, kind in zip(columns, types, strict=True)
        ]
        yield pa.table(dict(zip(names, arrays, strict=True)))
        rows = cursor.fetchmany(batch_size)


def _arrow_type(cursor: psycopg.Cursor[Any], oid: int) -> pa.DataType:
    info = cursor.adapters.types.get(oid)
    return _ARROW_TYPES.get(info.name if info else "", pa.string())


def _connect(dsn: str) -> psycopg.Connection[Any]:
    try:
        connection = psycopg.connect(dsn, connect_timeout=10)
    except psycopg.Error as exc:
        raise ConfigError(
            f"cannot connect to PostgreSQL ({_first_line(exc)}); check the --postgres "
            "connection string, e.g. postgresql://user@host:5432/database"
        ) from None
    connection.read_only = True
    for name in _TEXT_TYPES:
        connection.adapters.register_loader(name, TextLoader)
    connection.execute("SET TIME ZONE 'UTC'")  # timestamptz as text: in UTC, with +00
    connection.commit()
    return connection


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
