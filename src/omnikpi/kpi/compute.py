"""Compute atoms directly on an engine: one Ibis query per atom (or per batch of simple atoms).

Every result is a DataFrame with `period_start`, one column per requested dimension, and one
column per atom part. Dates are local dates in the engine's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.expressions import Expression, compile_expression
from omnikpi.kpi.periods import Grain, Period, periods, shift, truncate
from omnikpi.kpi.plan import Atom
from omnikpi.kpi.sources import SourceBuilder, Tables

Execute = Callable[[ir.Expr], pd.DataFrame]
SIMPLE = ("sum", "count", "count_distinct")


@dataclass(frozen=True)
class Scope:
    """What a query asks for: grain, inclusive local date range, dimensions and filters."""

    grain: Grain
    start: date
    end: date
    by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def periods(self) -> list[Period]:
        return periods(self.start, self.end, self.grain)

    def with_by(self, by: Sequence[str]) -> Scope:
        return Scope(self.grain, self.start, self.end, tuple(by), self.filters)

    def without_filter(self, dimension: str) -> Scope:
        kept = tuple((d, v) for d, v in self.filters if d != dimension)
        return Scope(self.grain, self.start, self.end, self.by, kept)


def column_name(atom: Atom, part: str) -> str:
    return f"{atom.key}.{part}"


class Computer:
    """Computes atoms for scopes on one engine."""

    def __init__(self, catalog: Catalog, tables: Tables, execute: Execute) -> None:
        self.catalog = catalog
        self.builder = SourceBuilder(catalog, tables)
        self.execute = execute
        self._prepared: dict[str, tuple[frozenset[str], ir.Table]] = {}

    # -- materialized sources (for many queries over the same source) -----------------------
    def prepare(
        self,
        atoms: Sequence[Atom],
        dimensions: Sequence[str],
        materialize: Callable[[str, ir.Table], ir.Table],
    ) -> None:
        """Compute each source the atoms read once, with every column they and `dimensions`
        need, through `materialize` (e.g. a temporary table); later queries read from it."""
        needed: dict[str, set[str]] = {}
        for atom in atoms:
            offered = self.catalog.source_dimensions(atom.source)
            scope = Scope(
                Grain.DAY, date.min, date.min, tuple(d for d in dimensions if d in offered)
            )
            needed.setdefault(atom.source, set()).update(self.needed(atom, scope))
        for source, names in needed.items():
            table = self.builder.build(source, names)
            kept = [n for n in table.columns if n in names]
            self._prepared[source] = (frozenset(kept), materialize(source, table.select(kept)))

    def needed(self, atom: Atom, scope: Scope) -> set[str]:
        """Columns of the atom's source that computing it for `scope` reads."""
        dims = self.catalog.source_dimensions(atom.source)
        texts: list[str | None] = [atom.text("time") or self.source_time(atom.source)]
        texts += [
            atom.text(f)
            for f in (
                "expr",
                "filter",
                "period_filter",
                "start",
                "end",
                "entity",
                "unit",
                "then",
                "rank_by",
                "numerator",
                "denominator",
            )
        ]
        texts += [dims[d] for d in (*scope.by, *(d for d, _ in scope.filters))]
        texts += (atom.text("series") or "").split(",")
        names: set[str] = set()
        for text in texts:
            if text:
                names |= Expression.parse(text).names
        return names

    def _source(self, source: str, needed: set[str]) -> ir.Table:
        prepared = self._prepared.get(source)
        if prepared is not None and needed <= prepared[0]:
            return prepared[1]
        return self.builder.build(source, needed)

    # -- public ----------------------------------------------------------------------------
    def compute(self, atoms: Sequence[Atom], scope: Scope) -> pd.DataFrame:
        """One frame: period_start, dimensions, and a column per atom part (outer-joined)."""
        frames = [self._run(batch, scope) for batch in self.batches(atoms)]
        keys = ["period_start", *scope.by]
        result: pd.DataFrame | None = None
        for frame in frames:
            result = frame if result is None else result.merge(frame, on=keys, how="outer")
        return result if result is not None else pd.DataFrame(columns=keys)

    def expressions(self, atoms: Sequence[Atom], scope: Scope) -> list[ir.Table]:
        """The Ibis queries `compute` would run (for `kpi show`)."""
        return [self._query(batch, scope) for batch in self.batches(atoms)]

    @staticmethod
    def batches(atoms: Sequence[Atom]) -> list[list[Atom]]:
        """Simple aggregates of the same source and time run as one query."""
        groups: dict[tuple[str, str | None], list[Atom]] = {}
        others: list[list[Atom]] = []
        for atom in atoms:
            if atom.kind in SIMPLE:
                groups.setdefault((atom.source, atom.text("time")), []).append(atom)
            else:
                others.append([atom])
        return [*groups.values(), *others]

    def coverage(self, source: str, time: str | None = None) -> tuple[date, date] | None:
        """First and last local date with rows in `source`, or None when it is empty or reads
        a table the engine does not have."""
        if not all(self.builder.tables.has_table(t) for t in self.builder.tables_read(source)):
            return None
        time_text = time or self.source_time(source)
        table = self.builder.build(source, Expression.parse(time_text).names)
        day = _local_date(compile_expression(time_text, table))
        row = self.execute(table.aggregate(first=day.min(), last=day.max()))
        first, last = row["first"].iloc[0], row["last"].iloc[0]
        if pd.isna(first):
            return None
        return _to_date(first), _to_date(last)

    def source_time(self, source: str) -> str:
        spec = self.catalog.source(source)
        if spec.time:
            return spec.time
        if spec.source:
            return self.source_time(spec.source)
        raise ValueError(f'source "{source}" has no time column')

    # -- shared steps ----------------------------------------------------------------------
    def _run(self, batch: list[Atom], scope: Scope) -> pd.DataFrame:
        frame = self.execute(self._query(batch, scope))
        frame["period_start"] = [_to_date(v) for v in frame["period_start"]]
        frame = _settle_sums(frame, batch)
        if batch[0].kind == "retention":
            frame = _shift_active(frame, batch[0], scope)
        return frame

    def _query(self, batch: list[Atom], scope: Scope) -> ir.Table:
        kind = batch[0].kind
        method = getattr(self, f"_{kind}" if kind not in SIMPLE else "_simple")
        result: ir.Table = method(batch, scope)
        return result

    def _rows(
        self, atom: Atom, scope: Scope, texts: Sequence[str | None], time: str | None = None
    ) -> tuple[ir.Table, list[str]]:
        """Source rows with `_day` (local date of the time), dimension columns and filters
        applied; returns the table and the dimension column names."""
        dims = self.catalog.source_dimensions(atom.source)
        time_text = time or atom.text("time") or self.source_time(atom.source)
        needed: set[str] = set(Expression.parse(time_text).names)
        for text in texts:
            if text:
                needed |= Expression.parse(text).names
        for dim in (*scope.by, *(d for d, _ in scope.filters)):
            needed |= Expression.parse(dims[dim]).names
        table = self._source(atom.source, needed)
        table = table.mutate(_day=_local_date(compile_expression(time_text, table)))
        names = [f"_dim_{d}" for d in scope.by]
        # Dimension values are text everywhere (API, rollups, targets).
        table = table.mutate(
            **{
                n: compile_expression(dims[d], table).cast("string")
                for n, d in zip(names, scope.by, strict=True)
            }
        )
        for dim, values in scope.filters:
            value = compile_expression(dims[dim], table).cast("string")
            table = table.filter(value.isin(list(values)))
        return table, names

    @staticmethod
    def _output(table: ir.Table, names: list[str], scope: Scope) -> ir.Table:
        renamed = {d: n for d, n in zip(scope.by, names, strict=True)}
        return table.rename(renamed) if renamed else table

    def _in_range(self, table: ir.Table, scope: Scope, first: date | None = None) -> ir.Table:
        return table.filter(table._day.between(first or scope.start, scope.end))

    # -- simple atoms by many dimensions in one pass (rollup builds) ----------------------
    def compute_sets(
        self,
        batch: list[Atom],
        scope: Scope,
        dimensions: Sequence[str],
        run_sql: Callable[[str], pd.DataFrame],
    ) -> dict[str, pd.DataFrame]:
        """Simple atoms of one source for the total and each dimension, in one
        GROUPING SETS query; returns {dimension or '': frame like `compute`}."""
        wide = Scope(scope.grain, scope.start, scope.end, tuple(dimensions))
        table, names = self._simple_inputs(batch, wide)
        sql = ibis.to_sql(table, dialect="duckdb")
        aggregates = []
        for i, atom in enumerate(batch):
            value = column_name(atom, "value")
            if atom.kind == "sum":
                aggregates += [
                    f'SUM("_v{i}") AS "{value}"',
                    f'COUNT("_v{i}") AS "{value}.known"',
                    f'SUM("_c{i}") AS "{value}.rows"',
                ]
            elif atom.kind == "count":
                aggregates.append(f'SUM("_c{i}") AS "{value}"')
            else:
                aggregates.append(f'COUNT(DISTINCT "_v{i}") AS "{value}"')
        groups = ", ".join(["(period_start)", *(f'(period_start, "{n}")' for n in names)])
        flags = [f'GROUPING("{n}") AS "_g_{n}"' for n in names]
        selected = ", ".join(["period_start", *(f'"{n}"' for n in names), *flags, *aggregates])
        frame = run_sql(
            f"SELECT {selected} FROM ({sql}) AS _inputs GROUP BY GROUPING SETS ({groups})"
        )
        frame["period_start"] = [_to_date(v) for v in frame["period_start"]]
        result: dict[str, pd.DataFrame] = {}
        for dimension in ["", *dimensions]:
            mask = pd.Series(True, index=frame.index)
            for dim, name in zip(dimensions, names, strict=True):
                mask &= frame[f"_g_{name}"] == (0 if dim == dimension else 1)
            part = frame[mask].drop(columns=[f"_g_{n}" for n in names])
            part = part.drop(
                columns=[n for d, n in zip(dimensions, names, strict=True) if d != dimension]
            )
            if dimension:
                part = part.rename(columns={f"_dim_{dimension}": dimension})
            result[dimension] = _settle_sums(part.reset_index(drop=True), batch)
        return result

    def _simple_inputs(self, batch: list[Atom], scope: Scope) -> tuple[ir.Table, list[str]]:
        """Rows in range with period_start, dimension columns, and per atom `_c{i}` (1 when
        the row counts) and `_v{i}` (its value when it counts)."""
        texts = [
            t for a in batch for t in (a.text("expr"), a.text("filter"), a.text("period_filter"))
        ]
        table, names = self._rows(batch[0], scope, texts)
        table = self._in_range(table, scope)
        table = table.mutate(period_start=truncate(table._day, scope.grain))
        extra = {"period_start": ibis.greatest(table.period_start, ibis.literal(scope.start))}
        columns: dict[str, Any] = {}
        for i, atom in enumerate(batch):
            condition = ibis.literal(True)
            for text in (atom.text("filter"), atom.text("period_filter")):
                if text:
                    condition = condition & compile_expression(text, table, extra)
            condition = condition.fill_null(False)
            columns[f"_c{i}"] = ibis.ifelse(condition, 1, 0)
            if atom.kind != "count":
                value = compile_expression(atom.text("expr") or "", table, extra)
                columns[f"_v{i}"] = ibis.ifelse(condition, value, ibis.null(value.type()))
        return table.select("period_start", *names, **columns), names

    # -- atom kinds ------------------------------------------------------------------------
    def _simple(self, batch: list[Atom], scope: Scope) -> ir.Table:
        texts = [
            t for a in batch for t in (a.text("expr"), a.text("filter"), a.text("period_filter"))
        ]
        table, names = self._rows(batch[0], scope, texts)
        table = self._in_range(table, scope)
        table = table.mutate(period_start=truncate(table._day, scope.grain))
        period_first = ibis.greatest(table.period_start, ibis.literal(scope.start))
        metrics: dict[str, Any] = {}
        for atom in batch:
            extra = {"period_start": period_first}
            condition = None
            for text in (atom.text("filter"), atom.text("period_filter")):
                if text:
                    part = compile_expression(text, table, extra)
                    condition = part if condition is None else condition & part
            name = column_name(atom, "value")
            if atom.kind == "count":
                metrics[name] = (
                    table.count(where=condition) if condition is not None else table.count()
                )
            else:
                value = compile_expression(atom.text("expr") or "", table, extra)
                if atom.kind == "sum":
                    metrics[name] = value.sum(where=condition)
                    # Rows matched but every value unknown: the sum is unknown, not 0.
                    metrics[f"{name}.known"] = value.count(where=condition)
                    metrics[f"{name}.rows"] = (
                        table.count(where=condition) if condition is not None else table.count()
                    )
                else:
                    metrics[name] = value.nunique(where=condition)
        grouped = table.group_by(["period_start", *names]).aggregate(**metrics)
        return self._output(grouped, names, scope)

    def _percentile(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        table, names = self._rows(atom, scope, [atom.text("expr"), atom.text("filter")])
        table = self._filtered(self._in_range(table, scope), atom)
        table = table.mutate(period_start=truncate(table._day, scope.grain))
        value = compile_expression(atom.text("expr") or "", table).cast("float64")
        q = atom.number("q", 0.5)
        grouped = table.group_by(["period_start", *names]).aggregate(
            **{column_name(atom, "value"): value.quantile(q)}
        )
        return self._output(grouped, names, scope)

    def _level(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        table, names = self._rows(
            atom, scope, [atom.text("start"), atom.text("end"), atom.text("filter")]
        )
        table = self._filtered(table, atom)
        opened = _local_date(compile_expression(atom.text("start") or "", table))
        end_text = atom.text("end")
        closed = (
            _local_date(compile_expression(end_text, table))
            if end_text
            else ibis.null().cast("date")
        )
        table = table.mutate(_open=opened, _close=closed)
        table = table.filter(
            table._open.notnull() & (table._close.isnull() | (table._close > table._open))
        )
        return self._levels(table, names, scope, atom, at_start=atom.get("at") == "start")

    def _levels(
        self, table: ir.Table, names: list[str], scope: Scope, atom: Atom, at_start: bool = False
    ) -> ir.Table:
        """Count rows whose [_open, _close) covers the end of each period's reference day."""
        opens = table.select(
            _change_day=table._open, _delta=ibis.literal(1), **{n: table[n] for n in names}
        )
        closes = table.filter(table._close.notnull()).select(
            _change_day=table._close, _delta=ibis.literal(-1), **{n: table[n] for n in names}
        )
        both = opens.union(closes)
        changes = both.group_by(["_change_day", *names]).aggregate(_delta=both._delta.sum())
        spine = _spine(scope, at_start)
        joined = changes.inner_join(spine, changes._change_day <= spine._at)
        grouped = joined.group_by(["period_start", *names]).aggregate(
            **{column_name(atom, "value"): joined._delta.sum()}
        )
        return self._output(grouped, names, scope)

    def _last(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        series = (atom.text("series") or "").split(",")
        table, names = self._rows(atom, scope, [atom.text("expr"), atom.text("filter"), *series])
        table = self._filtered(self._in_range(table, scope), atom)
        table = table.mutate(
            period_start=truncate(table._day, scope.grain),
            _value=compile_expression(atom.text("expr") or "", table),
        )
        latest = ibis.window(group_by=["period_start", *series], order_by=[ibis.desc("_day")])
        table = table.mutate(_recency=ibis.row_number().over(latest))
        table = table.filter(table._recency == 0)
        grouped = table.group_by(["period_start", *names]).aggregate(
            **{column_name(atom, "value"): table._value.sum()}
        )
        return self._output(grouped, names, scope)

    def _trailing_sum(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        window = atom.integer("window_days", 1)
        table, names = self._rows(atom, scope, [atom.text("expr"), atom.text("filter")])
        first = scope.start - timedelta(days=window - 1)
        table = self._filtered(self._in_range(table, scope, first), atom)
        table = table.mutate(_value=compile_expression(atom.text("expr") or "", table))
        daily = table.group_by(["_day", *names]).aggregate(_total=table._value.sum())
        spine = _spine(scope)
        joined = daily.inner_join(
            spine, [daily._day <= spine._at, daily._day > spine._at - ibis.interval(days=window)]
        )
        grouped = joined.group_by(["period_start", *names]).aggregate(
            **{column_name(atom, "value"): joined._total.sum()}
        )
        return self._output(grouped, names, scope)

    def _trailing_count(self, batch: list[Atom], scope: Scope) -> ir.Table:
        """Entities with >= k events in the trailing window: each run of k consecutive events
        j..j+k-1 makes the entity qualify on [day of event j+k-1, day of event j + window);
        overlapping intervals are merged, then counted like a level."""
        atom = batch[0]
        window = atom.integer("window_days", 1)
        k = atom.integer("min_events", 1)
        entity = atom.text("entity") or ""
        table, names = self._rows(atom, scope, [entity, atom.text("filter")])
        table = self._filtered(table, atom)
        table = table.mutate(_entity=compile_expression(entity, table))
        table = table.filter(table._entity.notnull() & table._day.notnull())
        table = table.select("_entity", "_day", *names)
        group = ["_entity", *names]
        ordered = ibis.window(group_by=group, order_by=["_day"])
        opened = table._day.lead(k - 1).over(ordered) if k > 1 else table._day
        spans = table.mutate(_open=opened, _close=(table._day + ibis.interval(days=window)))
        spans = spans.filter(spans._open.notnull() & (spans._open < spans._close))
        by_open = ibis.window(group_by=group, order_by=["_open", "_close"])
        spans = spans.mutate(_previous_close=spans._close.lag().over(by_open))
        spans = spans.mutate(
            _new=ibis.ifelse(
                spans._previous_close.isnull() | (spans._open > spans._previous_close), 1, 0
            )
        )
        running = ibis.window(group_by=group, order_by=["_open", "_close"], rows=(None, 0))
        spans = spans.mutate(_spell=spans._new.sum().over(running))
        merged = spans.group_by([*group, "_spell"]).aggregate(
            _open=spans._open.min(), _close=spans._close.max()
        )
        return self._levels(merged, names, scope, atom)

    def _funnel(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        unit, start, then = (
            atom.text("unit") or "",
            atom.text("start") or "",
            atom.text("then") or "",
        )
        time_text = atom.text("time") or self.source_time(atom.source)
        table, names = self._rows(atom, scope, [unit, start, then])
        table = table.mutate(
            _unit=compile_expression(unit, table), _at=compile_expression(time_text, table)
        )
        starts = table.filter(compile_expression(start, table))
        starts = starts.group_by(["_unit", *names]).aggregate(_first=starts._at.min())
        thens = table.filter(compile_expression(then, table))
        thens = thens.group_by(thens._unit.name("_then_unit")).aggregate(_last=thens._at.max())
        joined = starts.left_join(thens, starts._unit == thens._then_unit)
        joined = joined.mutate(
            _day=joined._first.date(), _converted=ibis.ifelse(joined._last >= joined._first, 1, 0)
        )
        joined = joined.filter(joined._day.between(scope.start, scope.end))
        joined = joined.mutate(period_start=truncate(joined._day, scope.grain))
        grouped = joined.group_by(["period_start", *names]).aggregate(
            **{
                column_name(atom, "started"): joined.count(),
                column_name(atom, "converted"): joined._converted.sum(),
            }
        )
        return self._output(grouped, names, scope)

    def _retention(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        entity = atom.text("entity") or ""
        table, names = self._rows(atom, scope, [entity, atom.text("filter")])
        first = shift(scope.periods[0].start, scope.grain, "previous")
        table = self._filtered(self._in_range(table, scope, first), atom)
        table = table.mutate(
            _entity=compile_expression(entity, table),
            period_start=truncate(table._day, scope.grain),
        )
        active = (
            table.filter(table._entity.notnull())
            .select("_entity", "period_start", *names)
            .distinct()
        )
        ordered = ibis.window(group_by=["_entity", *names], order_by=["period_start"])
        active = active.mutate(_before=active.period_start.lag().over(ordered))
        expected = _previous_period(active.period_start, scope.grain)
        active = active.mutate(_retained=ibis.ifelse(active._before == expected, 1, 0))
        grouped = active.group_by(["period_start", *names]).aggregate(
            **{
                column_name(atom, "retained"): active._retained.sum(),
                column_name(atom, "active"): active.count(),
            }
        )
        return self._output(grouped, names, scope)

    def _top_ratio(self, batch: list[Atom], scope: Scope) -> ir.Table:
        atom = batch[0]
        rank_by = atom.text("rank_by") or ""
        numerator, denominator = atom.text("numerator") or "", atom.text("denominator") or ""
        table, names = self._rows(
            atom, scope, [rank_by, numerator, denominator, atom.text("filter")]
        )
        table = self._filtered(self._in_range(table, scope), atom)
        table = table.mutate(
            period_start=truncate(table._day, scope.grain),
            _rank_key=compile_expression(rank_by, table),
            _num=compile_expression(numerator, table),
            _den=compile_expression(denominator, table),
        )
        per_key = table.group_by(["period_start", *names, "_rank_key"]).aggregate(
            _num=table._num.sum(), _den=table._den.sum()
        )
        ranking = ibis.window(
            group_by=["period_start", *names], order_by=[ibis.desc("_den"), "_rank_key"]
        )
        per_key = per_key.mutate(_rank=ibis.row_number().over(ranking))
        top = per_key.filter(per_key._rank < atom.integer("n", 1))
        grouped = top.group_by(["period_start", *names]).aggregate(
            **{
                column_name(atom, "numerator"): top._num.sum(),
                column_name(atom, "denominator"): top._den.sum(),
            }
        )
        return self._output(grouped, names, scope)

    @staticmethod
    def _filtered(table: ir.Table, atom: Atom) -> ir.Table:
        text = atom.text("filter")
        return table.filter(compile_expression(text, table)) if text else table


def _settle_sums(frame: pd.DataFrame, batch: Sequence[Atom]) -> pd.DataFrame:
    """A sum over rows whose values are all unknown is unknown; over no rows it is 0."""
    for atom in batch:
        if atom.kind == "sum":
            name = column_name(atom, "value")
            known, rows = frame.pop(f"{name}.known"), frame.pop(f"{name}.rows")
            total = frame[name].astype("float64")
            unknown_or_zero = pd.Series(np.where(rows > 0, np.nan, 0.0), index=frame.index)
            frame[name] = total.where(known > 0, unknown_or_zero)
    return frame


def _local_date(value: ir.Value) -> ir.DateValue:
    result: ir.DateValue = value if value.type().is_date() else value.date()
    return result


def _to_date(value: object) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _spine(scope: Scope, at_start: bool = False) -> ir.Table:
    """Each period of the scope with the day its level is read on."""
    rows = scope.periods
    at = [p.first - timedelta(days=1) if at_start else p.last for p in rows]
    return ibis.memtable(
        {"period_start": [p.start for p in rows], "_at": at},
        schema={"period_start": "date", "_at": "date"},
    )


def _previous_period(period: ir.DateValue, grain: Grain) -> ir.DateValue:
    step = {
        Grain.DAY: ibis.interval(days=1),
        Grain.WEEK: ibis.interval(days=7),
        Grain.MONTH: ibis.interval(months=1),
        Grain.QUARTER: ibis.interval(months=3),
        Grain.YEAR: ibis.interval(years=1),
    }[grain]
    result: ir.DateValue = (period - step).cast("date")
    return result


def _shift_active(frame: pd.DataFrame, atom: Atom, scope: Scope) -> pd.DataFrame:
    """Retention's base is the previous period's active entities; keep the scope's periods."""
    active = column_name(atom, "active")
    keys = [c for c in frame.columns if c not in (active, column_name(atom, "retained"))]
    dims = [k for k in keys if k != "period_start"]
    previous = frame[[*keys, active]].copy()
    wanted = {p.start for p in scope.periods}
    lookup = {shift(p.start, scope.grain, "previous"): p.start for p in scope.periods}
    previous["period_start"] = previous["period_start"].map(lookup)
    previous = previous.dropna(subset=["period_start"])
    current = frame.drop(columns=[active])
    current = current[current["period_start"].isin(wanted)]
    merged = current.merge(previous, on=["period_start", *dims], how="outer")
    return merged
