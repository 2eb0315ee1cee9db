"""Compiled SQL per query shape, run again with other dates and filter values.

Building a batch's Ibis expression and compiling it to SQL costs more than running it on a
small warehouse (about 60 ms a query), and a dashboard asks the same shapes — the same atoms
by the same grain, dimensions and filter keys — for other periods and filter values. The
shape is compiled once with sentinel values standing in for the dates and filter values;
the sentinels' SQL literals are then marked as parameters, and each run writes its values
there as the compiler writes literals.

>>> cache = SqlCache()
>>> found = cache.get(shape, build)  # doctest: +SKIP
>>> tables.fetch_arrow(found.bind(scope, "Asia/Seoul"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.types as pat
from ibis.backends.duckdb.converter import DuckDBPandasData

from omnikpi.kpi.local_time import instant_bounds
from omnikpi.kpi.scope import Scope
from omnikpi.warehouse import Tables

#: Where a parameter's value goes in compiled SQL (NUL never occurs in compiled SQL).
_PARAMETER = re.compile("\x00(p_[a-z0-9_]+)\x00")
#: Date or time literals of the sentinels' century, left after the sentinels were replaced.
_DERIVED = re.compile(r"MAKE_(DATE|TIMESTAMP|TIMESTAMPTZ)\(12\d\d\b|'12\d\d-")
#: Dates standing in for a scope's start and end while a shape compiles.
SENTINEL_START = date(1234, 5, 6)
SENTINEL_END = date(1234, 7, 8)


def _sentinel_value(position: int, index: int) -> str:
    return f"\u2063omnikpi:{position}:{index}\u2063"


def sentinel_scope(scope: Scope) -> Scope:
    """`scope` with sentinel dates and filter values (the shape it compiles as)."""
    filters = tuple(
        (dim, tuple(_sentinel_value(p, i) for i in range(len(values))))
        for p, (dim, values) in enumerate(scope.filters)
    )
    return Scope(scope.grain, SENTINEL_START, SENTINEL_END, scope.by, filters)


def shape_of(scope: Scope) -> Hashable:
    """What a compiled query depends on besides the atoms: grain, dimensions, filter keys
    and how many values each filter has."""
    return (scope.grain, scope.by, tuple((d, len(v)) for d, v in scope.filters))


@lru_cache(maxsize=4096)
def _literal_sql(value: object) -> str:
    """How the DuckDB compiler writes `value` as a literal."""
    sql = str(ibis.to_sql(ibis.literal(value).name("v"), dialect="duckdb", pretty=False))
    return sql.removeprefix("SELECT ").removesuffix(' AS "v"')


@dataclass(frozen=True)
class CompiledQuery:
    """SQL with named parameters for a scope's dates and filter values, and the schema of
    its result."""

    sql: str
    schema: ibis.Schema
    bounded: bool

    def bind(self, scope: Scope, zone: str) -> str | None:
        """The SQL for `scope`: each parameter replaced by its value written as the SQL
        compiler writes literals (quoted and escaped), so the database plans with the
        values, as for any query; None when this SQL cannot answer the scope (its rows
        are bounded by instants and the scope's days have none)."""
        values: dict[str, object] = {"p_start": scope.start, "p_end": scope.end}
        if self.bounded:
            bounds = instant_bounds(scope.start, scope.end, zone)
            if bounds is None:
                return None
            values["p_low"], values["p_high"] = bounds
        for p, (_, chosen) in enumerate(scope.filters):
            for i, value in enumerate(chosen):
                values[f"p_f{p}_{i}"] = value
        return _PARAMETER.sub(lambda m: _literal_sql(values[m.group(1)]), self.sql)

    def frame(self, table: pa.Table) -> pd.DataFrame:
        """The Arrow result as the DataFrame Ibis would have returned."""
        frame = pd.DataFrame(
            {
                name: (
                    column.to_pylist()
                    if pat.is_nested(column.type)
                    or pat.is_dictionary(column.type)
                    or column.null_count
                    else column.to_pandas()
                )
                for name, column in zip(table.column_names, table.columns, strict=True)
            }
        )
        converted: pd.DataFrame = DuckDBPandasData.convert_table(frame, self.schema)
        return converted

    def record(self) -> tuple[str, str, bool]:
        """SQL, schema (JSON) and bound flag, to store and read back with `stored`."""
        schema = json.dumps({name: str(kind) for name, kind in self.schema.items()})
        return self.sql, schema, self.bounded

    @classmethod
    def stored(cls, sql: str, schema: str, bounded: bool) -> CompiledQuery:
        """The query `record` wrote."""
        return cls(sql, ibis.schema(json.loads(schema)), bounded)


def compile_shape(expr: ir.Table, scope: Scope, zone: str) -> CompiledQuery | None:
    """The SQL of `expr`, built for `sentinel_scope(scope)`, with its sentinels made
    parameters; None when a sentinel cannot be found exactly (the query is then built
    for every scope)."""
    sql = str(ibis.to_sql(expr, dialect="duckdb", pretty=False))
    replacements: list[tuple[object, str, str]] = [
        (SENTINEL_START, "p_start", "DATE"),
        (SENTINEL_END, "p_end", "DATE"),
    ]
    bounds = instant_bounds(SENTINEL_START, SENTINEL_END, zone)
    assert bounds is not None
    low, high = (_literal_sql(b) for b in bounds)
    bounded = low in sql and high in sql
    if bounded:
        replacements += [(bounds[0], "p_low", "TIMESTAMPTZ"), (bounds[1], "p_high", "TIMESTAMPTZ")]
    sentinels = sentinel_scope(scope)
    for p, (_, values) in enumerate(sentinels.filters):
        replacements += [(v, f"p_f{p}_{i}", "VARCHAR") for i, v in enumerate(values)]
    for value, name, kind in replacements:
        literal = _literal_sql(value)
        if literal not in sql and name not in ("p_start", "p_end"):
            return None
        sql = sql.replace(literal, f"CAST(\x00{name}\x00 AS {kind})")
    # A date the query derived from a sentinel (a start moved back a year) would be
    # written into every run: such a query is not compiled by shape.
    leftover = "\u2063" in sql or _DERIVED.search(sql) is not None
    if leftover or sql.count("\x00") != 2 * len(_PARAMETER.findall(sql)):
        return None
    return CompiledQuery(sql, expr.schema(), bounded)


def compile_plain(expr: ir.Table) -> CompiledQuery:
    """The SQL of a query without parameters."""
    sql = str(ibis.to_sql(expr, dialect="duckdb", pretty=False))
    return CompiledQuery(sql, expr.schema(), bounded=False)


class SqlCache:
    """Compiled queries by shape, for one catalog and one set of tables (least recently
    used dropped beyond `size`); safe to share between threads.

    Queries compiled in an earlier process can be handed in with `preload` (by the text of
    their key, see `stored_key`); `built` lists those this cache compiled itself, to store.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, CompiledQuery | None] = OrderedDict()
        self._stored: dict[str, CompiledQuery | None] = {}
        self._built: dict[str, CompiledQuery | None] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], CompiledQuery | None]) -> CompiledQuery | None:
        """The compiled query of `key`, built on first use (None: not compilable)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            text = stored_key(key) if self._stored else None
            if text is not None and text in self._stored:
                found = self._entries[key] = self._stored[text]
                return found
        found = build()
        with self._lock:
            self._entries[key] = found
            self._built[stored_key(key)] = found
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found

    def preload(self, stored: Mapping[str, CompiledQuery | None]) -> None:
        """Queries compiled before, by `stored_key`, used instead of compiling them again."""
        with self._lock:
            self._stored.update(stored)

    def built(self) -> dict[str, CompiledQuery | None]:
        """The queries this cache compiled (not preloaded), by `stored_key`."""
        with self._lock:
            return dict(self._built)


def stored_key(key: Hashable) -> str:
    """The text a key is stored under: its repr (keys are tuples of strings, numbers,
    grains and tuples of them, whose repr does not change between processes)."""
    return repr(key)


def fingerprint(*parts: object) -> str:
    """What stored compiled SQL depends on besides its key (library versions, the
    catalog's sources, the tables' columns), as one digest to store it under."""
    return hashlib.sha256(json.dumps([ibis.__version__, *parts], default=str).encode()).hexdigest()[
        :32
    ]


_CACHES: weakref.WeakKeyDictionary[object, dict[int, tuple[object, SqlCache]]] = (
    weakref.WeakKeyDictionary()
)
_CACHES_LOCK = threading.Lock()


def cache_for(catalog: object, tables: object) -> SqlCache:
    """The SQL cache of one catalog on one set of tables: it lives as long as the tables
    object (a warehouse) and holds the catalog, so the catalog's id stays its own."""
    with _CACHES_LOCK:
        by_catalog = _CACHES.setdefault(tables, {})
        found = by_catalog.get(id(catalog))
        if found is None:
            found = by_catalog[id(catalog)] = (catalog, SqlCache())
        return found[1]


#: Runs SQL (with named parameters) and returns Arrow.
FetchArrow = Callable[..., pa.Table]


def sql_fetcher(tables: Tables) -> FetchArrow | None:
    """The tables' SQL runner when they are a DuckDB warehouse (SQL written or compiled
    here is DuckDB's), else None: other engines are queried through Ibis."""
    fetch: FetchArrow | None = getattr(tables, "fetch_arrow", None)
    return fetch if tables.engine == "duckdb" else None


def run_plain(
    tables: Tables, catalog: object, key: Hashable, query: Callable[[], ir.Table]
) -> pd.DataFrame:
    """The result of a query that does not depend on a scope (coverage, rollup state), its
    SQL compiled once per catalog and tables on DuckDB (built and run by Ibis elsewhere)."""
    fetch = sql_fetcher(tables)
    if fetch is None:
        return tables.execute(query())
    found = cache_for(catalog, tables).get(
        ("plain", key, tables.time_zone), lambda: compile_plain(query())
    )
    assert found is not None
    return found.frame(fetch(found.sql))
