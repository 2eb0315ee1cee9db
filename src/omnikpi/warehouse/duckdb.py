"""The default warehouse: one DuckDB file, opened through Ibis, never downloading extensions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from omnikpi.errors import ConfigError, NotFound, WarehouseExists
from omnikpi.model import TABLES, Table
from omnikpi.model import table as model_table
from omnikpi.settings import DEFAULT_TIME_ZONE, validate_time_zone

#: Settings applied to every DuckDB connection: extensions are built in (parquet, json, icu)
#: and must never be fetched from the network at run time.
DUCKDB_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class Warehouse:
    """A DuckDB warehouse holding the canonical tables.

    >>> with Warehouse.create(Path(":memory:")) as wh:  # doctest: +SKIP
    ...     wh.table("orders").count().execute()
    0
    """

    def __init__(
        self,
        path: Path,
        *,
        time_zone: str = DEFAULT_TIME_ZONE,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.time_zone = validate_time_zone(time_zone)
        self.read_only = read_only
        self._table_names: frozenset[str] | None = None
        database = ":memory:" if str(path) == ":memory:" else str(path)
        try:
            self.ibis = ibis.duckdb.connect(database, read_only=read_only, **DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            raise ConfigError(
                f"cannot open warehouse {path}: {exc} "
                "(is another omnikpi process writing to it? stop it or use another --warehouse)"
            ) from exc
        # Local calendar dates and hours are taken in this zone (TIMESTAMPTZ -> DATE casts).
        self.raw.execute(f"SET TimeZone = '{self.time_zone}'")
        self.engine = "duckdb"

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def create(
        cls, path: Path, *, force: bool = False, time_zone: str = DEFAULT_TIME_ZONE
    ) -> Warehouse:
        """A new, empty warehouse with every canonical table; refuses to overwrite."""
        if str(path) != ":memory:" and path.exists():
            if not force:
                raise WarehouseExists(
                    f"warehouse {path} already exists (pass --force to replace it, "
                    "or choose another --warehouse)"
                )
            path.unlink()
            Path(f"{path}.wal").unlink(missing_ok=True)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        warehouse = cls(path, time_zone=time_zone)
        warehouse.create_tables(TABLES)
        return warehouse

    @classmethod
    def open(
        cls, path: Path, *, read_only: bool = False, time_zone: str = DEFAULT_TIME_ZONE
    ) -> Warehouse:
        """An existing warehouse; NotFound if there is none at `path`."""
        if str(path) != ":memory:" and not path.exists():
            raise NotFound(
                f"no warehouse at {path} (run `omnikpi demo` or `omnikpi ingest` first, "
                "or point --warehouse / OMNIKPI_WAREHOUSE at one)"
            )
        return cls(path, time_zone=time_zone, read_only=read_only)

    def create_tables(self, tables: Iterable[Table]) -> None:
        """Create each table from its model declaration unless it exists."""
        existing = set(self.ibis.list_tables())
        for table in tables:
            if table.name not in existing:
                self.ibis.create_table(table.name, schema=table.ibis_schema())

    # -- access ---------------------------------------------------------------------------
    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection, for bulk loads and parameterized statements."""
        connection: duckdb.DuckDBPyConnection = self.ibis.con
        return connection

    def table(self, name: str) -> ir.Table:
        """The Ibis table `name`."""
        if name not in self.table_set():
            raise NotFound(f'warehouse {self.path} has no table "{name}"')
        return self.ibis.table(name)

    def table_set(self) -> set[str]:
        """Names of the tables (looked up once on a read-only warehouse: no one else can
        add tables to the file while it is open, and `temporary` forgets the names)."""
        if self._table_names is not None:
            return set(self._table_names)
        names = set(self.ibis.list_tables())
        if self.read_only:
            self._table_names = frozenset(names)
        return names

    def has_table(self, name: str) -> bool:
        return name in self.table_set()

    def temporary(self, name: str, expr: ir.Table) -> ir.Table:
        """Materialize `expr` as a temporary table of this connection (gone on close)."""
        table: ir.Table = self.ibis.create_table(name, expr, temp=True, overwrite=True)
        self._table_names = None
        return table

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run an Ibis expression on this warehouse."""
        result: pd.DataFrame = self.ibis.execute(expr)
        return result

    def row_counts(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """Rows per table, for the given tables or every table present."""
        present = self.table_set()
        wanted = [n for n in (names or sorted(present)) if n in present]
        counts: dict[str, int] = {}
        for name in wanted:
            row = self.raw.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            counts[name] = int(row[0]) if row else 0
        return counts

    # -- loading --------------------------------------------------------------------------
    def append(
        self, name: str, data: pa.Table | pa.RecordBatch, declared: Table | None = None
    ) -> int:
        """Append Arrow data to a table, columns matched by name; returns rows.

        `declared` gives the declaration of a table outside the canonical model.
        """
        table = declared or model_table(name)
        arrow = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        arrow = conform(arrow, table)
        view = f"_omnikpi_append_{name}"
        self.raw.register(view, arrow)
        try:
            columns = ", ".join(f'"{c}"' for c in table.column_names)
            self.raw.execute(f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM "{view}"')
        finally:
            self.raw.unregister(view)
        return int(arrow.num_rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        self.raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def checkpoint(self) -> None:
        self.raw.execute("CHECKPOINT")

    def close(self) -> None:
        self.ibis.disconnect()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def conform(arrow: pa.Table, table: Table) -> pa.Table:
    """Arrow data with exactly the model's columns, in order, cast to the model's types."""
    missing = [c for c in table.column_names if c not in arrow.column_names]
    if missing:
        raise ConfigError(f"data for table {table.name} lacks columns {missing}")
    columns = [arrow.column(c).cast(table.column(c).arrow_type) for c in table.column_names]
    return pa.Table.from_arrays(columns, schema=table.arrow_schema())
