"""Checking an analyst's SQL before the warehouse runs it: one SELECT over warehouse
tables, nothing that writes, changes settings, or reads files or the network.

Read-only is enforced in layers, each by DuckDB itself rather than by matching text:

1. `classify`: DuckDB's parser (on a connection of its own with external access off, as
   some statements act while parsed) splits the text into statements; exactly one, of
   type SELECT, is allowed.
2. `check_tree`: DuckDB's parse tree of the SELECT (`json_serialize_sql`) is walked; every
   table it names must be a warehouse table or one of the query's own CTEs, every table
   function one of `SAFE_TABLE_FUNCTIONS`, no function of `FORBIDDEN_FUNCTIONS` appears,
   and a string used as a table (`FROM '/etc/passwd'`, a URL) is refused.
3. `bind_in_sandbox`: the query is bound by DuckDB against empty copies of the warehouse
   tables in a database with external access off and its configuration locked, so a file
   or network read DuckDB would resolve at bind time fails there too.

The warehouse then runs it in a READ ONLY transaction, rolled back afterwards
(`Warehouse.run_read_only`).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from omnikpi.errors import ConfigError

#: Table functions that compute rows from their arguments and read nothing else.
SAFE_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "json_each", "json_tree", "repeat", "repeat_row"}
)
#: Scalar functions refused although they read no file: they change state (sequences, the
#: random seed, the log) or reveal the server's settings and environment.
FORBIDDEN_FUNCTIONS = frozenset(
    {"nextval", "currval", "setseed", "current_setting", "getenv", "write_log", "getvariable"}
)
#: Schemas a query may name: the warehouse's own, and its read-only description.
READABLE_SCHEMAS = frozenset({"", "main", "information_schema"})
#: Kinds of table reference in DuckDB's parse tree a query may use (others: refused).
_TABLE_REFERENCES = frozenset(
    {
        "BASE_TABLE",
        "TABLE_FUNCTION",
        "JOIN",
        "SUBQUERY",
        "EMPTY",
        "EXPRESSION_LIST",
        "PIVOT",
        "SHOW_REF",
    }
)
#: Readers of files, URLs and other databases, for a clearer message.
_READERS = re.compile(r"^(read_|parquet_|sniff_|glob$|iceberg_|delta_|st_read)")
_DATABASE_READERS = re.compile(r"^(sqlite_|postgres_|mysql_|odbc_)")
_SANDBOX_CONFIG: dict[str, Any] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class SqlRefused(ConfigError):
    """A statement the workspace does not run (HTTP 400): the message says why and what
    to do instead."""


@dataclass(frozen=True)
class CheckedSql:
    """A statement that passed every check: its text (without a trailing `;`) and the
    warehouse tables it reads."""

    sql: str
    tables: tuple[str, ...]


def _sandbox() -> duckdb.DuckDBPyConnection:
    """An empty in-memory database that cannot read files, load extensions or change that."""
    connection = duckdb.connect(":memory:", config=_SANDBOX_CONFIG)
    connection.execute("SET python_enable_replacements = false")  # no Python variables
    connection.execute("SET lock_configuration = true")
    return connection


@contextlib.contextmanager
def _sandbox_or(
    sandbox: duckdb.DuckDBPyConnection | None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """`sandbox`, or a new one closed after the block."""
    if sandbox is not None:
        yield sandbox
        return
    with _sandbox() as made:
        yield made


def classify(sql: str, sandbox: duckdb.DuckDBPyConnection | None = None) -> str:
    """The single statement of `sql`, if it is a SELECT (WITH … SELECT, VALUES, DESCRIBE
    included); SqlRefused names what was found otherwise.

    >>> classify("SELECT 1;")
    'SELECT 1'
    """
    if not sql.strip():
        raise SqlRefused("the query is empty: write one SELECT statement")
    with _sandbox_or(sandbox) as parser:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as exc:
            raise SqlRefused(_parse_failure(sql, exc)) from None
    if len(statements) != 1:
        kinds = ", ".join(_kind(statement) for statement in statements)
        raise SqlRefused(f"only one SELECT statement is allowed; found {len(statements)} ({kinds})")
    statement = statements[0]
    # DuckDB turns some PRAGMAs into a SELECT of a table function: refused by name here.
    pragma = re.match(r"\s*PRAGMA\b", sql, re.IGNORECASE)
    if statement.type != duckdb.StatementType.SELECT or pragma:
        found = "PRAGMA" if pragma else _kind(statement)
        raise SqlRefused(
            f"only one SELECT statement is allowed; found {found} "
            "(the workspace reads the warehouse, it never changes it)"
        )
    return str(statement.query).strip().rstrip(";").strip()


def _kind(statement: duckdb.Statement) -> str:
    """What a statement is, in the words of its SQL (`INSERT`, `EXPORT DATABASE`)."""
    words = re.findall(r"[A-Za-z]+", str(statement.query))
    first = words[0].upper() if words else str(statement.type.name)
    if first in ("EXPORT", "IMPORT") and len(words) > 1:
        return f"{first} {words[1].upper()}"
    return first if statement.type != duckdb.StatementType.SELECT else "SELECT"


def _parse_failure(sql: str, exc: duckdb.Error) -> str:
    words = re.findall(r"[A-Za-z]+", sql)
    first = " ".join(words[:2]).upper() if words[:1] == ["IMPORT"] else words[0].upper()
    if first != "SELECT" and first not in ("WITH", "FROM", "VALUES", "TABLE", "DESCRIBE"):
        return f"only one SELECT statement is allowed; found {first}"
    return f"the query is not valid SQL: {exc}"


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object of a parse tree, depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def parse_tree(sql: str, sandbox: duckdb.DuckDBPyConnection | None = None) -> Any:
    """DuckDB's parse tree of a SELECT as JSON; SqlRefused for anything it cannot serialize
    (PRAGMA, SHOW and other statements DuckDB rewrites into a SELECT)."""
    with _sandbox_or(sandbox) as parser:
        text = parser.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(str(text[0])) if text else {"error": True}
    if tree.get("error"):
        reason = tree.get("error_message", "it cannot be checked")
        raise SqlRefused(f"only a plain SELECT statement is allowed ({reason})")
    return tree


def check_tree(tree: Any, tables: Collection[str]) -> tuple[str, ...]:
    """The warehouse tables a parse tree reads; SqlRefused for a table that is not one, a
    table function outside `SAFE_TABLE_FUNCTIONS` or a function of `FORBIDDEN_FUNCTIONS`."""
    nodes = list(_nodes(tree))
    own = {
        str(entry["key"]).lower()
        for node in nodes
        if "cte_map" in node
        for entry in node["cte_map"].get("map", [])
    }
    known = {name.lower(): name for name in tables}
    read: dict[str, None] = {}
    for node in nodes:
        if node.get("class") == "FUNCTION":
            _check_function(str(node.get("function_name", "")).lower(), table_function=False)
        elif "sample" in node and "alias" in node and "modifiers" not in node:
            kind = str(node["type"])
            if kind not in _TABLE_REFERENCES:
                raise SqlRefused(
                    f"{kind.lower().replace('_', ' ')} is not allowed in the workspace"
                )
            if kind == "TABLE_FUNCTION":
                function = node.get("function") or {}
                _check_function(str(function.get("function_name", "")).lower(), table_function=True)
            elif kind == "BASE_TABLE":
                read.setdefault(_check_table(node, own, known) or "", None)
    return tuple(name for name in read if name)


def _check_function(name: str, *, table_function: bool) -> None:
    if name in FORBIDDEN_FUNCTIONS:
        raise SqlRefused(
            f"{name} changes or reveals the server's state: the workspace only reads tables"
        )
    if not table_function or name in SAFE_TABLE_FUNCTIONS:
        return
    if _DATABASE_READERS.match(name):
        raise SqlRefused(
            f"{name} reads another database: the workspace reads only warehouse tables"
        )
    if _READERS.match(name):
        raise SqlRefused(f"{name} reads files: the workspace reads only warehouse tables")
    raise SqlRefused(
        f"the table function {name} is not allowed: the workspace reads only warehouse tables "
        f"(allowed table functions: {', '.join(sorted(SAFE_TABLE_FUNCTIONS))})"
    )


def _check_table(
    node: Mapping[str, Any], own: Collection[str], known: Mapping[str, str]
) -> str | None:
    """The warehouse table a table reference names (None: one of the query's CTEs)."""
    name = str(node.get("table_name", ""))
    schema = str(node.get("schema_name", "")).lower()
    catalog = str(node.get("catalog_name", ""))
    if catalog:
        raise SqlRefused(
            f'"{catalog}.{schema}.{name}" names another database: the workspace reads only '
            "the warehouse (leave out the database name)"
        )
    if schema not in READABLE_SCHEMAS:
        raise SqlRefused(
            f'schema "{schema}" is not readable in the workspace (use the warehouse tables, '
            "or information_schema to list them)"
        )
    if schema == "information_schema":
        return f"information_schema.{name}"
    if re.search(r"[/\\:.]", name):
        # Even if a CTE has that name: out of its scope DuckDB would read the file.
        raise SqlRefused(f'"{name}" is a file or URL: the workspace reads only warehouse tables')
    if not schema and name.lower() in own:
        return None
    if name.lower() in known:
        return known[name.lower()]
    raise SqlRefused(
        f'the warehouse has no table "{name}" (list them with '
        "SELECT table_name FROM information_schema.tables)"
    )


def bind_in_sandbox(
    sql: str,
    columns: Mapping[str, Sequence[tuple[str, str]]],
    sandbox: duckdb.DuckDBPyConnection | None = None,
) -> None:
    """Let DuckDB bind `sql` against empty tables shaped like the warehouse's (`columns`:
    table → (column, type)) in a database that cannot read files or the network; its
    refusal, or any other binding error, becomes SqlRefused."""
    with _sandbox_or(sandbox) as binder:
        for table, table_columns in columns.items():
            fields = ", ".join(f'"{name}" {kind}' for name, kind in table_columns)
            try:
                binder.execute(f'CREATE TABLE "{table}" ({fields})')
            except duckdb.Error:
                # A type the empty database lacks (an extension's): text stands in for it.
                kinds = [(n, k if _is_builtin(binder, k) else "VARCHAR") for n, k in table_columns]
                fields = ", ".join(f'"{name}" {kind}' for name, kind in kinds)
                binder.execute(f'CREATE TABLE "{table}" ({fields})')
        try:
            binder.execute(f"EXPLAIN {sql}")
        except duckdb.PermissionException as exc:
            raise SqlRefused(
                f"the query reads files or the network, which the workspace does not allow ({exc})"
            ) from None
        except duckdb.Error as exc:
            raise SqlRefused(f"the query cannot run: {exc}") from None


def _is_builtin(binder: duckdb.DuckDBPyConnection, kind: str) -> bool:
    """Whether the sandbox knows the column type `kind`."""
    try:
        binder.execute(f"SELECT NULL::{kind}")
    except duckdb.Error:
        return False
    return True


def check_read_only_sql(sql: str, columns: Mapping[str, Sequence[tuple[str, str]]]) -> CheckedSql:
    """Every check of the module docstring, in order; `columns` describes the warehouse
    tables (table → (column, type)).

    >>> check_read_only_sql("SELECT * FROM read_csv('/etc/passwd')", {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    omnikpi.warehouse.read_only_sql.SqlRefused: read_csv reads files: the workspace ...
    """
    with _sandbox() as sandbox:
        statement = classify(sql, sandbox)
        tables = check_tree(parse_tree(statement, sandbox), columns)
        shapes = {name: columns[name] for name in tables if name in columns}
        bind_in_sandbox(statement, shapes, sandbox)
    return CheckedSql(statement, tables)


class QueryTimedOut(ConfigError):
    """A workspace query ran longer than its statement timeout and was stopped (HTTP 400)."""


@dataclass(frozen=True)
class ReadOnlyResult:
    """The first `max_rows` rows of a query: column names, which are numbers, the rows
    (Python values), whether more rows were left out, and the tables it read."""

    columns: tuple[str, ...]
    #: Whether each column holds numbers (integers, decimals, floats).
    numeric: tuple[bool, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    tables: tuple[str, ...]


def run_checked(
    cursor: duckdb.DuckDBPyConnection,
    checked: CheckedSql,
    *,
    max_rows: int,
    timeout_seconds: float,
    time_zone: str,
) -> ReadOnlyResult:
    """Run a checked query on `cursor` (a connection of its own) in a READ ONLY
    transaction, rolled back after; at most `max_rows` + 1 rows are fetched, and DuckDB is
    interrupted after `timeout_seconds` (QueryTimedOut)."""
    if max_rows < 1 or timeout_seconds <= 0:
        raise ValueError(f"max_rows ({max_rows}) and timeout ({timeout_seconds}) must be positive")
    cursor.execute("SET python_enable_replacements = false")  # no Python variables as tables
    cursor.execute("SET TimeZone = ?", [time_zone])
    cursor.execute("BEGIN TRANSACTION READ ONLY")
    timer = threading.Timer(timeout_seconds, cursor.interrupt)
    timer.daemon = True
    timer.start()
    try:
        reader = cursor.execute(checked.sql).to_arrow_reader(min(max_rows + 1, 10_000))
        batches: list[pa.RecordBatch] = []
        count = 0
        while count <= max_rows:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            batches.append(batch)
            count += batch.num_rows
    except duckdb.InterruptException:
        raise QueryTimedOut(
            f"the query ran longer than {timeout_seconds:g} seconds and was stopped "
            "(filter or aggregate more, or ask for fewer rows)"
        ) from None
    except duckdb.Error as exc:
        raise SqlRefused(f"the query failed: {exc}") from None
    finally:
        timer.cancel()
        timer.join()
        # An interrupt that lands after the query may fail the rollback: closing the
        # cursor (the caller's) rolls back then.
        with contextlib.suppress(duckdb.Error):
            cursor.execute("ROLLBACK")
    table = pa.Table.from_batches(batches, schema=reader.schema)
    kept = table.slice(0, max_rows)
    # Column by column: a query may name two columns alike (SELECT 1 AS a, 2 AS a).
    values = [kept.column(index).to_pylist() for index in range(kept.num_columns)]
    return ReadOnlyResult(
        columns=tuple(reader.schema.names),
        numeric=tuple(_is_number(field.type) for field in reader.schema),
        rows=tuple(zip(*values, strict=True)) if values else (),
        truncated=table.num_rows > max_rows,
        tables=checked.tables,
    )


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )
