"""The default warehouse: one DuckDB file, opened through Ibis, never downloading extensions.

Only this package holds a database connection: the rest of omnikpi reads through Ibis
(`table`, `execute`) or the typed SQL methods below, always with parameters for values.

A `Warehouse` may be shared by threads (the web app's requests): a DuckDB connection runs
one query at a time, so each thread gets its own connection to the same database (a
`cursor` of the first). `release` closes them all, letting another process write the file,
and the next use opens it again.

DuckDB lets one process open a file read-write and then no other process at all; inside
that process a read-only open is refused too ("different configuration"). So a read-only
`Warehouse` of a file this process has open for writing (`own`, or a load in progress)
joins that database instead, each of its connections in a `READ ONLY` transaction: it
reads the last committed state while a write runs, is never blocked by one, and cannot
write. `writing` serialises the write sessions of one process on a file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
from ibis.backends.duckdb import Backend as IbisDuckDB
from ibis.backends.sql.datatypes import DuckDBType

from omnikpi.errors import ConfigError, NotFound, WarehouseExists
from omnikpi.model import TABLES, Table
from omnikpi.model import table as model_table
from omnikpi.settings import DataSettings
from omnikpi.warehouse import read_only_sql
from omnikpi.warehouse.system import DATA_SETTINGS, SYSTEM_TABLES, TABLE_CHANGES

#: Settings applied to every DuckDB connection: extensions are built in (parquet, json, icu)
#: and must never be fetched from the network at run time.
DUCKDB_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
Params = Sequence[object] | Mapping[str, object]

_registry_lock = threading.Lock()
#: Files this process keeps open for writing (`own`), with how many owners each has.
_owners: dict[str, int] = {}
#: One lock per file: the write sessions of this process on it, one at a time.
_write_locks: dict[str, threading.RLock] = {}
#: The warehouses this process owns (`own`), by file: the database's settings go through them.
_owned: dict[str, list[Warehouse]] = {}
#: Owned files whose database runs on the calling threads only (`one_thread`): how many
#: blocks asked for it, and the database's `threads` setting before the first.
_one_thread: dict[str, tuple[int, int]] = {}
_one_thread_lock = threading.Lock()
#: The write session on each file (`writing`): its thread, how deep it is nested, and the
#: file's version when it began.
_sessions: dict[str, tuple[int, int, tuple[int, ...]]] = {}


def _file_key(path: Path) -> str:
    return str(Path(path).resolve())


def is_owned(path: Path) -> bool:
    """Whether this process keeps `path` open for writing (see `own`)."""
    with _registry_lock:
        return _owners.get(_file_key(path), 0) > 0


@contextmanager
def own(path: Path) -> Iterator[Warehouse]:
    """Keep the warehouse at `path` open for writing while the block runs (a server owns
    its file so): read-only opens in this process then share it, reading the last committed
    state, and other processes cannot open it.

    >>> with own(Path("shop.duckdb")) as owned:  # doctest: +SKIP
    ...     Warehouse.open(Path("shop.duckdb"), read_only=True)  # shares `owned`'s file
    """
    key = _file_key(path)
    warehouse = Warehouse.open(path)
    with _registry_lock:
        _owners[key] = _owners.get(key, 0) + 1
        _owned.setdefault(key, []).append(warehouse)
    try:
        yield warehouse
    finally:
        with _registry_lock:
            _owners[key] -= 1
            _owned[key].remove(warehouse)
            if not _owners[key]:
                del _owners[key], _owned[key]
        warehouse.close()


@contextmanager
def one_thread(path: Path) -> Iterator[bool]:
    """While the block runs, the database of `path`, when this process owns it (a server),
    runs each statement on the thread that sends it and on no pool of worker threads
    (DuckDB `SET threads = 1`; the setting is the database's, not a connection's). A load
    handed to the server then keeps to the one core of its thread while the readers' own
    threads use the others, each query of theirs single-threaded too. The former setting
    comes back when the last such block ends. Yields whether the block changed anything
    (False: this process does not own `path`).

    Set the setting back from a thread of normal priority: DuckDB starts its worker
    threads in the thread that sets it, and they inherit that thread's priority.

    >>> with one_thread(Path("shop.duckdb")):  # doctest: +SKIP
    ...     run_the_handed_load()
    """
    key = _file_key(path)
    with _registry_lock:
        owners = _owned.get(key)
        owner = owners[0] if owners else None
    if owner is None:
        yield False
        return
    with _one_thread_lock:
        count, before = _one_thread.get(key, (0, 0))
        if not count:
            before = int(owner.database_setting("threads"))
            owner.set_database_setting("threads", 1)
        _one_thread[key] = (count + 1, before)
    try:
        yield True
    finally:
        with _one_thread_lock:
            count, before = _one_thread.pop(key)
            if count > 1:
                _one_thread[key] = (count - 1, before)
            elif not owner.closed:
                owner.set_database_setting("threads", before)


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Run the block as this process's only write session on `path`: another thread's
    waits for it to end (the same thread may nest). Readers are never held up; while it
    runs they see the file's version as it was when it began (`read_version`)."""
    key = _file_key(path)
    with _registry_lock:
        lock = _write_locks.setdefault(key, threading.RLock())
    with lock:
        thread = threading.get_ident()
        with _registry_lock:
            _, depth, version = _sessions.get(key, (thread, 0, ()))
            _sessions[key] = (thread, depth + 1, version if depth else file_version(path))
        try:
            yield
        finally:
            with _registry_lock:
                _, depth, version = _sessions[key]
                if depth > 1:
                    _sessions[key] = (thread, depth - 1, version)
                else:
                    del _sessions[key]


def file_version(path: Path) -> tuple[int, ...]:
    """Change time and size of the warehouse file and its write-ahead log: any committed
    change changes it, and so may writes not yet committed (DuckDB writes a large insert
    to the file before its commit)."""
    parts: list[int] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            parts += [0, 0]
        else:
            parts += [stat.st_mtime_ns, stat.st_size]
    return tuple(parts)


def read_version(path: Path) -> tuple[int, ...]:
    """The version of the data for readers of `path` in this process: `file_version`,
    except while another thread of this process has a write session on it (`writing`: a
    load handed to the server, its rollup refresh): then the version when that session
    began, so that the load's writes (committed or not) do not make readers drop what
    they have cached again and again; the version changes when the session ends. The
    writing thread itself sees `file_version`.

    >>> read_version(Path("shop.duckdb"))  # doctest: +SKIP
    (1733560000000000000, 12288, 0, 0)
    """
    with _registry_lock:
        session = _sessions.get(_file_key(path))
    if session is not None and session[0] != threading.get_ident():
        return session[2]
    return file_version(path)


#: Statements after which the tables a connection sees may differ.
_CHANGES_CATALOG = re.compile(
    r"\s*(CREATE|DROP|ALTER|ATTACH|DETACH|IMPORT|COMMIT|ROLLBACK)\b", re.I
)


@dataclass
class _Session:
    """One thread's connection to the warehouse, its Ibis backend and transaction state
    (`pinned`: a read-only connection to a file this process writes, held in one `READ
    ONLY` transaction until it is closed)."""

    ibis: IbisDuckDB
    in_transaction: bool = False
    pinned: bool = False
    #: The table names this connection saw, and the warehouse's catalog generation then.
    table_names: frozenset[str] | None = None
    generation: int = -1

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        connection: duckdb.DuckDBPyConnection = self.ibis.con
        return connection


class Warehouse:
    """A DuckDB warehouse holding the canonical tables.

    Its data settings (time zone, currency, fiscal-year start) are stored in the file;
    `overrides` replaces some of them for this connection only.

    >>> with Warehouse.create(Path(":memory:")) as wh:  # doctest: +SKIP
    ...     wh.table("orders").count().execute()
    0
    """

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._table_names: frozenset[str] | None = None
        #: Bumped whenever the tables a connection sees may have changed (DDL, a commit or
        #: rollback): no other process can change a file this process writes, so each
        #: connection looks its table names up again only then (`table_set`).
        self._generation = 0
        self._lock = threading.Lock()
        #: The connection that opened the file (used by the thread that opened it) and a
        #: cursor of it for each other thread that has used the warehouse since.
        self._main: _Session | None = None
        self._owner: int | None = None
        self._cursors: dict[int, _Session] = {}
        self._closed = False
        self.time_zone = "UTC"  # until the stored settings are read
        self.overrides = dict(overrides or {})
        self.engine = "duckdb"
        self.reconnect()
        self._apply_settings()

    # -- connections ------------------------------------------------------------------------
    @property
    def ibis(self) -> IbisDuckDB:
        """The Ibis backend of the calling thread's connection."""
        return self._session().ibis

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        return self._session().con

    @property
    def connected(self) -> bool:
        """Whether the file is open (False after `release`, until the next use)."""
        return self._main is not None

    def reconnect(self) -> None:
        """Open the file now if `release` closed it (ConfigError if another process is
        writing it), so that the error comes here rather than from the next query."""
        self._session()

    def release(self) -> None:
        """Close every connection, so another process may write the file; the next use
        opens it again with the same settings. Temporary tables and registered views are
        gone; call it only while no thread is running a query."""
        if str(self.path) == ":memory:":
            raise ConfigError("an in-memory warehouse cannot be released: its data would be lost")
        self._disconnect()

    def _disconnect(self) -> None:
        with self._lock:
            sessions = [*self._cursors.values(), *([self._main] if self._main else [])]
            self._main, self._owner = None, None
            self._cursors.clear()
        for session in sessions:
            session.ibis.disconnect()

    def _session(self) -> _Session:
        """The calling thread's connection: the first opens the file, the others each get
        a cursor of it (a DuckDB connection runs one query at a time)."""
        thread = threading.get_ident()
        with self._lock:
            if self._closed:
                raise duckdb.ConnectionException(f"warehouse {self.path} is closed")
            if self._main is None:
                self._main, self._owner = self._open(), thread
            if self._owner == thread:
                return self._main
            session = self._cursors.get(thread)
            if session is None:
                cursor = ibis.duckdb.from_connection(self._main.con.cursor())
                session = self._cursors[thread] = _Session(cursor)
                self._set_time_zone(session)
                if self._main.pinned:
                    self._pin(session)
            return session

    def _open(self) -> _Session:
        database = ":memory:" if str(self.path) == ":memory:" else str(self.path)
        shared = self.read_only and database != ":memory:" and is_owned(self.path)
        try:
            backend = ibis.duckdb.connect(
                database, read_only=self.read_only and not shared, **DUCKDB_CONFIG
            )
        except duckdb.IOException as exc:
            raise ConfigError(
                f"cannot open warehouse {self.path}: {exc} "
                "(is another omnikpi process writing to it? stop it or use another --warehouse)"
            ) from exc
        except duckdb.ConnectionException as exc:
            if not self.read_only or "different configuration" not in str(exc):
                raise  # writing a file this process reads: wait until the reads end
            # This process is writing the file (a load): read it through that database.
            backend = ibis.duckdb.connect(database, read_only=False, **DUCKDB_CONFIG)
            shared = True
        session = _Session(backend)
        self._set_time_zone(session)
        if shared:
            self._pin(session)
        return session

    @staticmethod
    def _pin(session: _Session) -> None:
        """Hold a read-only connection to a file this process writes in a READ ONLY
        transaction: it reads one committed state and refuses to write."""
        session.con.execute("BEGIN TRANSACTION READ ONLY")
        session.in_transaction = session.pinned = True

    def _set_time_zone(self, session: _Session) -> None:
        # Local calendar dates and hours are taken in this zone (TIMESTAMPTZ -> DATE casts);
        # the setting belongs to each connection.
        session.con.execute(f"SET TimeZone = '{self.time_zone}'")

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        force: bool = False,
        settings: DataSettings | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Warehouse:
        """A new, empty warehouse with every canonical table; refuses to overwrite.

        `settings`, when given, are stored as the warehouse's data settings.
        """
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
        warehouse = cls(path, overrides=overrides)
        warehouse.create_tables((*TABLES, *SYSTEM_TABLES))
        if settings is not None:
            warehouse.store_settings(settings.as_dict())
        return warehouse

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        overrides: Mapping[str, str] | None = None,
    ) -> Warehouse:
        """An existing warehouse; NotFound if there is none at `path`."""
        if str(path) != ":memory:" and not path.exists():
            raise NotFound(
                f"no warehouse at {path} (run `omnikpi demo` or `omnikpi ingest` first, "
                "or point --warehouse / OMNIKPI_WAREHOUSE at one)"
            )
        return cls(path, read_only=read_only, overrides=overrides)

    def create_tables(self, tables: Iterable[Table]) -> None:
        """Create each table from its declaration unless it exists."""
        existing = self.table_set()
        for table in tables:
            if table.name not in existing:
                self.ibis.create_table(table.name, schema=table.ibis_schema())
                self._catalog_changed()

    def upgrade_tables(self, tables: Iterable[Table]) -> None:
        """`create_tables`; an optional column the declaration has gained since the table
        was created (a store's Korean name, say) is added, empty; and a column it has made
        optional (a product's list price) loses its NOT NULL."""
        declared = list(tables)
        self.create_tables(declared)
        present = set(
            self.fetch_rows(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'main'"
            )
        )
        for table in declared:
            schema = table.ibis_schema()
            for column in table.columns:
                if column.nullable and (table.name, column.name) not in present:
                    kind = DuckDBType.to_string(schema[column.name])
                    self.run_sql(
                        f'ALTER TABLE main."{table.name}" ADD COLUMN "{column.name}" {kind}'
                    )
        self._catalog_changed()
        optional = {(t.name, c.name) for t in declared for c in t.columns if c.nullable}
        required = self.fetch_rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main' AND is_nullable = 'NO'"
        )
        for table_name, column in required:
            if (table_name, column) in optional:
                self.run_sql(
                    f'ALTER TABLE main."{table_name}" ALTER COLUMN "{column}" DROP NOT NULL'
                )

    # -- data settings --------------------------------------------------------------------
    def stored_settings(self) -> dict[str, str]:
        """The data settings stored in the file (only those ever set)."""
        if DATA_SETTINGS.name not in self.table_set():
            return {}
        rows = self.fetch_rows(f"SELECT name, value FROM {DATA_SETTINGS.name}")
        return {str(name): str(value) for name, value in rows}

    def store_settings(self, values: Mapping[str, str]) -> DataSettings:
        """Store data settings (validated) in the file, in the caller's transaction if there
        is one; returns the settings now in effect."""
        DataSettings().updated(self.stored_settings()).updated(values)
        now = datetime.now(UTC)
        rows = sorted(values.items())
        data = pa.table(
            {
                "name": pa.array([name for name, _ in rows], pa.string()),
                "value": pa.array([value for _, value in rows], pa.string()),
                "updated_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
            }
        )
        with self.transaction():
            self.replace_rows(DATA_SETTINGS, data)
        self._apply_settings()
        return self.settings

    def _apply_settings(self) -> None:
        self.settings = DataSettings().updated(self.stored_settings()).updated(self.overrides)
        self.time_zone = self.settings.time_zone
        self.stored_time_zone = DataSettings().updated(self.stored_settings()).time_zone
        self.currency = self.settings.currency
        self._session()
        with self._lock:
            for session in [*self._cursors.values(), *([self._main] if self._main else [])]:
                self._set_time_zone(session)

    # -- changed tables -------------------------------------------------------------------
    def mark_changed(self, changed: Mapping[str, date | None], batch_id: str) -> None:
        """Record that `changed` tables have new rows from `batch_id` (each with the
        earliest local date it touched; None: any). Call it inside the change's
        transaction, so the data and the mark commit together."""
        if not changed:
            return
        now = datetime.now(UTC)
        for name, since in changed.items():
            self.run_sql(
                f"INSERT INTO {TABLE_CHANGES.name} VALUES (?, ?, ?, ?)",
                [name, since, batch_id, now],
            )

    def changed_tables(self) -> dict[str, date | None]:
        """Tables changed since the last `clear_changes`, with the earliest date touched
        (None: any date)."""
        if TABLE_CHANGES.name not in self.table_set():
            return {}
        rows = self.fetch_rows(
            f"SELECT table_name, bool_or(since IS NULL), min(since) "
            f"FROM {TABLE_CHANGES.name} GROUP BY table_name ORDER BY table_name"
        )
        return {str(name): None if any_date else since for name, any_date, since in rows}

    def clear_changes(self, tables: Iterable[str] | None = None) -> None:
        """Forget the changes of `tables` (all when None) once what depends on them is
        refreshed."""
        if TABLE_CHANGES.name not in self.table_set():
            return
        if tables is None:
            self.run_sql(f"DELETE FROM {TABLE_CHANGES.name}")
            return
        names = sorted(set(tables))
        if names:
            self.run_sql(f"DELETE FROM {TABLE_CHANGES.name} WHERE table_name IN ?", [names])

    # -- access ---------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        """The Ibis table `name`."""
        if name not in self.table_set():
            raise NotFound(f'warehouse {self.path} has no table "{name}"')
        return self.ibis.table(name)

    def table_set(self) -> set[str]:
        """Names of the tables the calling thread's connection sees. Looked up once on a
        read-only warehouse (no one else can add tables to the file while it is open;
        `temporary` forgets the names); on a writable one, again after each change of the
        catalog by this process (`_catalog_changed`), the only one that can change it."""
        if self.read_only:
            if self._table_names is None:
                self._table_names = frozenset(self.ibis.list_tables())
            return set(self._table_names)
        session = self._session()
        generation = self._generation
        if session.table_names is None or session.generation != generation:
            session.table_names = frozenset(session.ibis.list_tables())
            session.generation = generation
        return set(session.table_names)

    def _catalog_changed(self) -> None:
        """The tables some connection sees may have changed: every connection looks again."""
        with self._lock:
            self._generation += 1
            self._table_names = None

    def has_table(self, name: str) -> bool:
        return name in self.table_set()

    def temporary(self, name: str, sql: str) -> ir.Table:
        """Materialize the result of `sql` as a temporary table of this connection (gone on
        close), named `name` in the SQL of queries over it."""
        self.run_sql(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')
        return self.ibis.table(name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """`expr` computed once into the temporary table `name` of this connection (gone on
        close), for an expression several queries read."""
        return self.temporary(name, str(self.ibis.compile(expr)))

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
            row = self.fetch_row(f'SELECT count(*) FROM "{name}"')
            counts[name] = int(row[0]) if row else 0
        return counts

    # -- SQL (DuckDB dialect; values always as parameters) --------------------------------
    def run_sql(self, sql: str, params: Params | None = None) -> None:
        """Run one statement; values go in `params` (`?` or `$name`), never into `sql`."""
        self._con.execute(sql, params)
        if _CHANGES_CATALOG.match(sql):
            self._catalog_changed()

    def fetch_rows(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        return self._con.execute(sql, params).fetchall()

    def fetch_row(self, sql: str, params: Params | None = None) -> tuple[Any, ...] | None:
        """The first row of a query (None: no row)."""
        return self._con.execute(sql, params).fetchone()

    def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row (None: no row)."""
        row = self.fetch_row(sql, params)
        return row[0] if row else None

    def fetch_frame(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        """A query's result as a DataFrame."""
        return self._con.execute(sql, params).df()

    def fetch_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """A query's result as an Arrow table."""
        return self._con.execute(sql, params).to_arrow_table()

    def run_read_only(
        self, sql: str, *, max_rows: int, timeout_seconds: float
    ) -> read_only_sql.ReadOnlyResult:
        """An analyst's query, checked to be one SELECT over warehouse tables reading no
        file or URL (SqlRefused otherwise), run on a connection of its own in a READ ONLY
        transaction: at most `max_rows` rows, stopped after `timeout_seconds`
        (QueryTimedOut). See `omnikpi.warehouse.read_only_sql`.

        >>> sql = "SELECT count(*) FROM orders"
        >>> wh.run_read_only(sql, max_rows=10, timeout_seconds=5).rows  # doctest: +SKIP
        ((1204,),)
        """
        described: dict[str, list[tuple[str, str]]] = {}
        for table_name, column, kind in self.fetch_rows(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ):
            described.setdefault(str(table_name), []).append((str(column), str(kind)))
        checked = read_only_sql.check_read_only_sql(sql, described)
        with self._side_cursor() as cursor:
            return read_only_sql.run_checked(
                cursor,
                checked,
                max_rows=max_rows,
                timeout_seconds=timeout_seconds,
                time_zone=self.time_zone,
            )

    @contextmanager
    def registered(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[str]:
        """`data` readable as the view `name` inside the block."""
        self._con.register(name, data)
        try:
            yield name
        finally:
            self._con.unregister(name)

    # -- loading --------------------------------------------------------------------------
    def append(
        self,
        name: str,
        data: pa.Table | pa.RecordBatch,
        declared: Table | None = None,
        order_by: Sequence[str] = (),
    ) -> int:
        """Append Arrow data to a table, columns matched by name; returns rows.

        `declared` gives the declaration of a table outside the canonical model; with
        `order_by`, the rows are stored in the order of those columns (DuckDB keeps the
        order rows are inserted in, and skips row groups by their min/max).
        """
        table = declared or model_table(name)
        arrow = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        arrow = conform(arrow, table)
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        ordered = ", ".join(f'"{c}"' for c in order_by)
        order = f" ORDER BY {ordered}" if order_by else ""
        with self.registered(f"_omnikpi_append_{name}", arrow) as view:
            self.run_sql(f'INSERT INTO "{name}" ({columns}) SELECT {columns} FROM "{view}"{order}')
        return int(arrow.num_rows)

    def replace_rows(self, declared: Table, data: pa.Table) -> int:
        """Insert `data` into the declared table, replacing rows with the same primary key
        (the last of duplicate keys in `data` wins); returns the rows written."""
        self.create_tables([declared])
        arrow = conform(data, declared)
        keys = ", ".join(f'"{k}"' for k in declared.primary_key)
        match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM i."{k}"' for k in declared.primary_key)
        columns = ", ".join(f'"{c}"' for c in declared.column_names)
        ordered = arrow.append_column("_order", pa.array(range(arrow.num_rows), pa.int64()))
        with self.registered(f"_omnikpi_replace_{declared.name}", ordered) as view:
            self.run_sql(f'DELETE FROM "{declared.name}" t USING "{view}" i WHERE {match}')
            self.run_sql(
                f'INSERT INTO "{declared.name}" ({columns}) SELECT {columns} FROM ('
                f'SELECT DISTINCT ON ({keys}) * FROM "{view}" ORDER BY {keys}, _order DESC)'
            )
        return int(arrow.num_rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all. Inside another
        transaction it joins that one (what it writes commits or rolls back with it).
        A transaction belongs to the thread that began it."""
        session = self._session()
        if session.in_transaction:
            yield
            return
        session.con.execute("BEGIN TRANSACTION")
        session.in_transaction = True
        try:
            yield
        except BaseException:
            session.con.execute("ROLLBACK")
            raise
        else:
            session.con.execute("COMMIT")
        finally:
            session.in_transaction = False
            # Tables it created or dropped are now seen (or gone) by the other connections.
            self._catalog_changed()

    def checkpoint(self) -> None:
        self.run_sql("CHECKPOINT")

    def database_setting(self, name: str) -> str:
        """The current value of one of DuckDB's settings of the database (`threads`, ...).

        >>> Warehouse.create(Path(":memory:")).database_setting("threads")  # doctest: +SKIP
        '2'
        """
        with self._side_cursor() as cursor:
            row = cursor.execute(
                "SELECT value FROM duckdb_settings() WHERE name = ?", [name]
            ).fetchone()
        if row is None:
            raise ConfigError(f"DuckDB has no setting {name!r}")
        return str(row[0])

    def set_database_setting(self, name: str, value: int | str) -> None:
        """Change one of DuckDB's settings for the whole database (every connection of
        this process to the file sees it). It runs on a connection of its own: the calling
        thread's connection and its transaction are left alone."""
        self.database_setting(name)  # a known setting, else ConfigError
        with self._side_cursor() as cursor:
            cursor.execute(f"SET GLOBAL {name} = ?", [value])

    @contextmanager
    def _side_cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the database of its own (not the calling thread's), closed after."""
        self.reconnect()
        with self._lock:
            main = self._main
        if main is None:
            raise duckdb.ConnectionException(f"warehouse {self.path} is closed")
        cursor = main.con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    @property
    def closed(self) -> bool:
        """Whether `close` has been called."""
        return self._closed

    def close(self) -> None:
        """Close every connection for good."""
        self._disconnect()
        self._closed = True

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
