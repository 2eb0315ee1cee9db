"""Reading rollups: which atoms and scopes they can answer, and the frames they hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compiled import run_plain, sql_fetcher
from omnikpi.kpi.kinds import kind_of
from omnikpi.kpi.periods import Grain, is_full, period_start
from omnikpi.kpi.rollup_store import COVERAGE, ROLLUP_STATE, ROLLUPS, rollup_dimensions
from omnikpi.kpi.scope import Scope, column_name
from omnikpi.kpi.sources import SourceBuilder
from omnikpi.warehouse import TABLE_CHANGES, Tables

Filters = tuple[tuple[str, tuple[str, ...]], ...]


class RollupReader:
    """Answers atoms for a scope from rollups when they hold what is needed."""

    def __init__(self, catalog: Catalog, tables: Tables) -> None:
        self.catalog = catalog
        self.tables = tables
        self.available: set[str] = set()
        self.stale: set[str] = set()
        # Rollups hold local dates of the warehouse's own zone; another zone reads raw rows.
        same_zone = tables.time_zone == tables.stored_time_zone
        if same_zone and tables.has_table(ROLLUP_STATE.name) and tables.has_table(ROLLUPS.name):
            self.available = {r["atom"] for r in self._plain(ROLLUP_STATE.name, "atom")}
        if self.available and tables.has_table(TABLE_CHANGES.name):
            changed = self._plain(TABLE_CHANGES.name, "table_name")
            self.stale = {r["table_name"] for r in changed}
        self.builder = SourceBuilder(catalog, tables)
        self._rollups: ir.Table | None = None

    def coverage(self) -> dict[tuple[str, str], tuple[date, date] | None]:
        if not self.available:
            return {}
        found: dict[tuple[str, str], tuple[date, date] | None] = {}
        for row in self._plain(COVERAGE.name, *COVERAGE.column_names):
            first, last = _as_date(row["first_date"]), _as_date(row["last_date"])
            key = (str(row["source"]), str(row["time"]))
            found[key] = None if first is None or last is None else (first, last)
        return found

    def _plain(self, table: str, *columns: str) -> list[dict[str, Any]]:
        """The rows of a small rollup bookkeeping table (on DuckDB read straight into
        Python: a fresh engine reads three of them before its first answer)."""
        fetch = sql_fetcher(self.tables)
        if fetch is not None:
            named = ", ".join(f'"{c}"' for c in columns)
            rows: list[dict[str, Any]] = fetch(f'SELECT {named} FROM "{table}"').to_pylist()
            return rows
        frame = run_plain(
            self.tables,
            self.catalog,
            ("rollup_table", table, columns),
            lambda: self.tables.table(table).select(*columns),
        )
        return frame.to_dict("records")  # type: ignore[return-value]

    def dimension_for(self, atom: Atom, scope: Scope) -> str | None:
        """The materialized dimension that answers `scope` ('' = total), or None."""
        if atom.key not in self.available:
            return None
        if self.stale and self.builder.tables_read(atom.source) & self.stale:
            return None
        dims = {*scope.by, *(d for d, _ in scope.filters)}
        if len(dims) > 1:
            return None
        dimension = next(iter(dims), "")
        if dimension and dimension not in rollup_dimensions(self.catalog, atom):
            return None
        if not scope.by and scope.filters:
            values = scope.filters[0][1]
            if len(values) > 1 and not kind_of(atom).sums_across_values:
                return None
        if kind_of(atom).rollup(atom) == "period" and not all(
            is_full(p, scope.grain) for p in scope.periods
        ):
            return None
        return dimension

    def read_many(self, requests: Sequence[tuple[Sequence[Atom], Scope]]) -> list[pd.DataFrame]:
        """For each (atoms, scope) that `dimension_for` accepted, a frame like
        `Computer.compute`; one query per dimension and filter (a dashboard asks for a
        hundred atoms of a period and of the period it is compared with)."""
        groups: dict[tuple[str, Filters], list[int]] = {}
        for number, (atoms, scope) in enumerate(requests):
            if atoms:
                dimension = self.dimension_for(atoms[0], scope) or ""
                groups.setdefault((dimension, scope.filters), []).append(number)
        found = [pd.DataFrame(columns=["period_start", *scope.by]) for _, scope in requests]
        fetch = sql_fetcher(self.tables)
        for (dimension, filters), numbers in groups.items():
            reads = [_reads(*requests[n]) for n in numbers]
            if fetch is not None:
                sql, params = _summed_sql(dimension, filters, reads)
                summed = fetch(sql, params)
                request = summed["request"].to_numpy()
                for n, number in enumerate(numbers):
                    mine = np.flatnonzero(request == n)
                    found[number] = _pivot(summed.take(mine), requests[number][1])
                continue
            rows = self._rows(dimension, filters, [r for group in reads for r in group])
            for number, group in zip(numbers, reads, strict=True):
                found[number] = _wide(rows, *requests[number], group)
        return found

    def _rows(self, dimension: str, filters: Filters, reads: list[_Read]) -> pd.DataFrame:
        """The stored rows of every read, with their stored period as `stored`."""
        rows = self.tables.execute(self._rows_expr(dimension, filters, reads))
        as_date = {v: pd.Timestamp(v).date() for v in rows["period_start"].unique()}
        rows["period_start"] = rows["period_start"].map(as_date)
        renamed: pd.DataFrame = rows.rename(columns={"period_start": "stored"})
        return renamed

    def _rows_expr(self, dimension: str, filters: Filters, reads: list[_Read]) -> ir.Table:
        """`_rows` as an Ibis query (engines without parameterized SQL)."""
        table = self.rollups
        conditions = []
        for read in reads:
            days = sorted(read.periods)
            condition = (
                table.atom.isin(read.atoms)
                & (table.grain == read.grain.value)
                & table.period_start.between(days[0], days[-1])
            )
            if read.kind != "sum":
                condition &= table.period_start.isin([ibis.literal(d) for d in days])
            conditions.append(condition)
        expr = table.filter(ibis.or_(*conditions) & (table.dimension == dimension))
        for _dimension, allowed in filters:
            expr = expr.filter(expr.dimension_value.isin(list(allowed)))
        return expr.select(*_ROW_COLUMNS)

    @property
    def rollups(self) -> ir.Table:
        """The rollups table (looked up once per reader)."""
        if self._rollups is None:
            self._rollups = self.tables.table(ROLLUPS.name)
        return self._rollups


_ROW_COLUMNS = ("atom", "grain", "period_start", "dimension_value", "part", "value")


def _summed_sql(
    dimension: str, filters: Filters, reads: list[list[_Read]]
) -> tuple[str, dict[str, object]]:
    """The stored rows of each request's reads summed into the request's periods, one row
    per (request, period, dimension value, atom column), in one parameterized statement
    that reads the rollups once. A stored day or period lies in the period that starts on
    its truncation to the request's grain (weeks start on Mondays, as DuckDB's).

    >>> _summed_sql("", (), [])[0].startswith("WITH")
    True
    """
    params: dict[str, object] = {"dimension": dimension}
    conditions, parts = [], []
    for number, request in enumerate(reads):
        for n, read in enumerate(request):
            key = f"{number}_{n}"
            days = sorted(read.periods)
            params |= {f"atoms{key}": list(read.atoms), f"grain{key}": read.grain.value}
            params |= {f"first{key}": days[0], f"last{key}": days[-1]}
            condition = (
                f"list_contains($atoms{key}, atom) AND grain = $grain{key}"
                f" AND period_start BETWEEN $first{key} AND $last{key}"
            )
            if read.kind != "sum":
                params[f"days{key}"] = days
                condition += f" AND list_contains($days{key}, period_start)"
            conditions.append(f"({condition})")
            period = "period_start"
            if read.unit != "day":
                params[f"unit{key}"] = read.unit
                period = f"CAST(date_trunc($unit{key}, period_start) AS DATE)"
            value_of = "dimension_value" if read.split else "NULL"
            parts.append(
                f"SELECT {number} AS request, {period} AS period_start,"
                f" {value_of} AS dimension_value,"
                f" atom || '.' || part AS column_name, value FROM stored WHERE {condition}"
            )
    # The reads' whole range as a conjunct of its own, so the scan skips the row groups
    # outside it (DuckDB prunes by zone maps on a top-level range, not inside an OR).
    firsts = [min(r.periods) for request in reads for r in request]
    lasts = [max(r.periods) for request in reads for r in request]
    params |= {"low": min(firsts), "high": max(lasts)} if firsts else {}
    within = " AND period_start BETWEEN $low AND $high" if firsts else ""
    where = f"dimension = $dimension{within} AND ({' OR '.join(conditions) or 'FALSE'})"
    for f, (_, allowed) in enumerate(filters):
        params[f"values{f}"] = list(allowed)
        where += f" AND list_contains($values{f}, dimension_value)"
    rows = " UNION ALL ".join(parts) or (
        "SELECT 0 AS request, period_start, dimension_value, atom AS column_name, value FROM stored"
    )
    sql = (
        f"WITH stored AS MATERIALIZED (SELECT atom, grain, period_start, dimension_value,"
        f" part, value FROM {ROLLUPS.name} WHERE {where})"
        " SELECT request, period_start, dimension_value, column_name, SUM(value) AS value"
        f" FROM ({rows}) GROUP BY ALL"
    )
    return sql, params


def _pivot(summed: pa.Table, scope: Scope) -> pd.DataFrame:
    """One request's summed rows (Arrow) as a frame like `Computer.compute`: a row per
    period and dimension value (sorted, a missing value last), a column per atom part
    (sorted by name). Built from the rows' codes, with no per-row Python: a dashboard reads
    a few hundred rows, a day-by-channel grid a hundred thousand.

    >>> rows = pa.table({"period_start": [date(2025, 1, 6)] * 2, "dimension_value": ["b", "a"],
    ...                  "column_name": ["x.value"] * 2, "value": [1.0, 2.0]})
    >>> _pivot(rows, Scope(Grain.WEEK, date(2025, 1, 6), date(2025, 1, 12), ("channel",)))
      period_start channel  x.value
    0   2025-01-06       a      2.0
    1   2025-01-06       b      1.0
    """
    keys = ["period_start", *scope.by]
    if summed.num_rows == 0:
        return pd.DataFrame(columns=keys)
    starts, period_codes = np.unique(
        summed["period_start"].to_numpy(zero_copy_only=False), return_inverse=True
    )
    row_codes = period_codes.astype(np.int64)
    key_columns: dict[str, object] = {}
    if scope.by:
        values = summed["dimension_value"].to_numpy(zero_copy_only=False)
        value_codes, distinct = pd.factorize(values, sort=True)
        value_codes = np.where(value_codes < 0, len(distinct), value_codes)  # missing: last
        row_codes = row_codes * (len(distinct) + 1) + value_codes
    rows, row_of = np.unique(row_codes, return_inverse=True)
    names, column_of = np.unique(
        summed["column_name"].to_numpy(zero_copy_only=False).astype(str), return_inverse=True
    )
    wide = np.full((len(rows), len(names)), np.nan)
    wide[row_of, column_of] = summed["value"].to_numpy(zero_copy_only=False)
    if scope.by:
        period_of_row = rows // (len(distinct) + 1)
        labels = np.array([*distinct, None], dtype=object)
        key_columns[scope.by[0]] = pd.array(labels[rows % (len(distinct) + 1)], dtype="str")
    else:
        period_of_row = rows
    as_date = starts.astype("datetime64[D]").astype(object)
    columns = {"period_start": as_date[period_of_row], **key_columns}
    columns |= {str(name): wide[:, n] for n, name in enumerate(names)}
    return pd.DataFrame(columns)


def _kind(atom: Atom) -> str:
    """How an atom's rows are stored: summed days ("sum"), levels at the end ("last") or
    start ("first") of each period's day, or whole periods ("period")."""
    rollup = kind_of(atom).rollup(atom)
    if rollup == "last" and atom.get("at") == "start":
        return "first"
    return str(rollup)


@dataclass(frozen=True)
class _Read:
    """Atoms of one kind a scope reads: the grain and periods stored, and the scope period
    each stored period counts towards."""

    kind: str
    grain: Grain
    atoms: list[str]
    periods: dict[date, date]
    #: The grain of the scope the stored periods are summed into.
    unit: str = "day"
    #: Whether the scope is split by the dimension (else its values are summed).
    split: bool = False


def _reads(atoms: Sequence[Atom], scope: Scope) -> list[_Read]:
    kinds: dict[str, list[str]] = {}
    for atom in atoms:
        kinds.setdefault(_kind(atom), []).append(atom.key)
    return [
        _Read(
            kind,
            scope.grain if kind == "period" else Grain.DAY,
            keys,
            _stored_periods(kind, scope),
            scope.grain.value,
            bool(scope.by),
        )
        for kind, keys in kinds.items()
    ]


def _wide(
    rows: pd.DataFrame, atoms: Sequence[Atom], scope: Scope, reads: list[_Read]
) -> pd.DataFrame:
    """One request's rows summed into its periods, a column per atom part."""
    keys = ["period_start", *scope.by]
    labels = []
    for read in reads:
        mine = rows[rows["atom"].isin(read.atoms) & (rows["grain"] == read.grain.value)]
        labels.append(mine["stored"].map(read.periods).dropna())
    label = pd.concat(labels) if labels else pd.Series(dtype=object)
    if label.empty:
        return pd.DataFrame(columns=keys)
    mine = rows.loc[label.index].assign(period_start=label)
    by_key = {atom.key: atom for atom in atoms}
    names = {
        (a, p): column_name(by_key[a], p)
        for a, p in mine[["atom", "part"]].drop_duplicates().itertuples(index=False)
    }
    mine["column"] = [names[a, p] for a, p in zip(mine["atom"], mine["part"], strict=True)]
    group = ["period_start", *(["dimension_value"] if scope.by else []), "column"]
    wide = mine.groupby(group, dropna=False)["value"].sum().unstack("column").reset_index()
    wide = wide.rename(columns={"dimension_value": scope.by[0]} if scope.by else {})
    wide.columns.name = None
    return wide


def _stored_periods(kind: str, scope: Scope) -> dict[date, date]:
    """The stored period starts a kind of atom reads for `scope`, each with the scope
    period it counts towards."""
    if kind == "sum":
        days = pd.date_range(scope.start, scope.end, freq="D")
        return {d.date(): period_start(d.date(), scope.grain) for d in days}
    if kind == "last":
        return {p.last: p.start for p in scope.periods}
    if kind == "first":
        return {p.first: p.start for p in scope.periods}
    return {p.start: p.start for p in scope.periods}


def _as_date(value: object) -> date | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    return pd.Timestamp(value).date()  # type: ignore[arg-type]
