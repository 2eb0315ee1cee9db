"""Ibis queries of the atom kinds beyond simple aggregates: percentiles, levels at period
end, snapshots, trailing windows, funnels, retention and top-N ratios."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.expressions import compile_expression
from omnikpi.kpi.periods import Grain, shift, truncate
from omnikpi.kpi.scope import Scope, column_name, local_date

if TYPE_CHECKING:
    from omnikpi.kpi.compute import Computer


def percentile(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    table, names = c.rows(atom, scope, [atom.text("expr"), atom.text("filter")])
    table = filtered(c.in_range(table, scope), atom)
    table = table.mutate(period_start=truncate(table._day, scope.grain))
    value = compile_expression(atom.text("expr") or "", table).cast("float64")
    q = atom.number("q", 0.5)
    grouped = table.group_by(["period_start", *names]).aggregate(
        **{column_name(atom, "value"): value.quantile(q)}
    )
    return output(grouped, names, scope)


def level(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    table, names = c.rows(atom, scope, [atom.text("start"), atom.text("end"), atom.text("filter")])
    table = filtered(table, atom)
    opened = local_date(compile_expression(atom.text("start") or "", table))
    end_text = atom.text("end")
    closed = (
        local_date(compile_expression(end_text, table)) if end_text else ibis.null().cast("date")
    )
    table = table.mutate(_open=opened, _close=closed)
    table = table.filter(
        table._open.notnull() & (table._close.isnull() | (table._close > table._open))
    )
    return levels(c, table, names, scope, atom, at_start=atom.get("at") == "start")


def levels(
    c: Computer, table: ir.Table, names: list[str], scope: Scope, atom: Atom, at_start: bool = False
) -> ir.Table:
    """Count rows whose [_open, _close) covers the end of each period's reference day.

    The level after each day with a change is the running sum of the changes; a reference
    day reads the level of the last change on or before it (one row per day and dimension
    value, not every earlier change)."""
    opens = table.select(
        _change_day=table._open, _delta=ibis.literal(1), **{n: table[n] for n in names}
    )
    closes = table.filter(table._close.notnull()).select(
        _change_day=table._close, _delta=ibis.literal(-1), **{n: table[n] for n in names}
    )
    both = opens.union(closes)
    changes = both.group_by(["_change_day", *names]).aggregate(_delta=both._delta.sum())
    running = ibis.window(group_by=names or None, order_by="_change_day", rows=(None, 0))
    following = ibis.window(group_by=names or None, order_by="_change_day")
    changes = changes.mutate(
        _level=changes._delta.sum().over(running),
        _until=changes._change_day.lead().over(following).fill_null(date.max),
    )
    days = spine(scope, at_start, in_sql=c.builder.tables.engine == "duckdb")
    joined = changes.inner_join(days, [changes._change_day <= days._at, days._at < changes._until])
    grouped = joined.group_by(["period_start", *names]).aggregate(
        **{column_name(atom, "value"): joined._level.sum()}
    )
    return output(grouped, names, scope)


def last(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    series = (atom.text("series") or "").split(",")
    table, names = c.rows(atom, scope, [atom.text("expr"), atom.text("filter"), *series])
    table = filtered(c.in_range(table, scope), atom)
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
    return output(grouped, names, scope)


def trailing_sum(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    window = atom.integer("window_days", 1)
    table, names = c.rows(atom, scope, [atom.text("expr"), atom.text("filter")])
    first = ibis.literal(scope.start) - ibis.interval(days=window - 1)
    table = filtered(c.in_range(table, scope, first, reach_days=window - 1), atom)
    table = table.mutate(_value=compile_expression(atom.text("expr") or "", table))
    daily = table.group_by(["_day", *names]).aggregate(_total=table._value.sum())
    days = spine(scope, in_sql=c.builder.tables.engine == "duckdb")
    joined = daily.inner_join(
        days, [daily._day <= days._at, daily._day > days._at - ibis.interval(days=window)]
    )
    grouped = joined.group_by(["period_start", *names]).aggregate(
        **{column_name(atom, "value"): joined._total.sum()}
    )
    return output(grouped, names, scope)


def trailing_count(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    """Entities with >= k events in the trailing window: each run of k consecutive events
    j..j+k-1 makes the entity qualify on [day of event j+k-1, day of event j + window);
    overlapping intervals are merged, then counted like a level."""
    atom = batch[0]
    window = atom.integer("window_days", 1)
    k = atom.integer("min_events", 1)
    entity = atom.text("entity") or ""
    table, names = c.rows(atom, scope, [entity, atom.text("filter")])
    # A day of the range qualifies by runs that start less than `window` days before it:
    # rows from `window - 1` days before the start are all its values read.
    first = ibis.literal(scope.start) - ibis.interval(days=window - 1)
    table = filtered(c.in_range(table, scope, first, reach_days=window - 1), atom)
    table = table.mutate(_entity=compile_expression(entity, table))
    table = table.filter(table._entity.notnull() & table._day.notnull())
    table = table.select("_entity", "_day", *names)
    group = ["_entity", *names]
    ordered = ibis.window(group_by=group, order_by=["_day"])
    opened = table._day.lead(k - 1).over(ordered) if k > 1 else table._day
    spans = table.mutate(_open=opened, _close=(table._day + ibis.interval(days=window)))
    spans = spans.filter(spans._open.notnull() & (spans._open < spans._close))
    # Each interval once: two events of a day give the same interval, and tied rows could
    # be ordered differently by the two windows below (splitting a spell in two).
    spans = spans.select(*group, "_open", "_close").distinct()
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
    return levels(c, merged, names, scope, atom)


def funnel(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    """Funnels of one source, unit and time in one pass: per unit (and dimension values)
    the first moment of each funnel's start, per unit the last moment of each one's next
    step; a unit converted when that step came at or after its start."""
    atom = batch[0]
    unit = atom.text("unit") or ""
    time_text = atom.text("time") or c.source_time(atom.source)
    texts = [unit, *(a.text(f) for a in batch for f in ("start", "then"))]
    table, names = c.rows(atom, scope, texts)
    table = table.mutate(
        _unit=compile_expression(unit, table), _at=compile_expression(time_text, table)
    )
    starts = table.group_by(["_unit", *names]).aggregate(
        **{
            f"_first{i}": table._at.min(where=compile_expression(a.text("start") or "", table))
            for i, a in enumerate(batch)
        }
    )
    thens = table.group_by(table._unit.name("_then_unit")).aggregate(
        **{
            f"_last{i}": table._at.max(where=compile_expression(a.text("then") or "", table))
            for i, a in enumerate(batch)
        }
    )
    joined = starts.left_join(thens, starts._unit == thens._then_unit)
    steps = []
    for i in range(len(batch)):
        first, last = joined[f"_first{i}"], joined[f"_last{i}"]
        day = local_date(first)
        steps.append(
            joined.filter(first.notnull(), day.between(scope.start, scope.end)).select(
                *names,
                period_start=truncate(day, scope.grain),
                _funnel=ibis.literal(i),
                _converted=ibis.ifelse(last >= first, 1, 0),
            )
        )
    both = ibis.union(*steps) if len(steps) > 1 else steps[0]
    grouped = both.group_by(["period_start", *names]).aggregate(
        **{
            name: aggregate
            for i, a in enumerate(batch)
            for name, aggregate in (
                (column_name(a, "started"), both.count(where=both._funnel == i)),
                (column_name(a, "converted"), both._converted.sum(where=both._funnel == i)),
            )
        }
    )
    return output(grouped, names, scope)


def retention(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    entity = atom.text("entity") or ""
    table, names = c.rows(atom, scope, [entity, atom.text("filter")])
    # From the start of the period before the first (at most two periods back).
    first = previous_period(truncate(ibis.literal(scope.start), scope.grain), scope.grain)
    reach = 2 * {Grain.DAY: 1, Grain.WEEK: 7, Grain.MONTH: 31, Grain.QUARTER: 92}.get(
        scope.grain, 366
    )
    table = filtered(c.in_range(table, scope, first, reach_days=reach), atom)
    table = table.mutate(
        _entity=compile_expression(entity, table),
        period_start=truncate(table._day, scope.grain),
    )
    active = (
        table.filter(table._entity.notnull()).select("_entity", "period_start", *names).distinct()
    )
    ordered = ibis.window(group_by=["_entity", *names], order_by=["period_start"])
    active = active.mutate(_before=active.period_start.lag().over(ordered))
    expected = previous_period(active.period_start, scope.grain)
    active = active.mutate(_retained=ibis.ifelse(active._before == expected, 1, 0))
    grouped = active.group_by(["period_start", *names]).aggregate(
        **{
            column_name(atom, "retained"): active._retained.sum(),
            column_name(atom, "active"): active.count(),
        }
    )
    return output(grouped, names, scope)


def top_ratio(c: Computer, batch: list[Atom], scope: Scope) -> ir.Table:
    atom = batch[0]
    rank_by = atom.text("rank_by") or ""
    numerator, denominator = atom.text("numerator") or "", atom.text("denominator") or ""
    table, names = c.rows(atom, scope, [rank_by, numerator, denominator, atom.text("filter")])
    table = filtered(c.in_range(table, scope), atom)
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
    return output(grouped, names, scope)


def filtered(table: ir.Table, atom: Atom) -> ir.Table:
    text = atom.text("filter")
    return table.filter(compile_expression(text, table)) if text else table


def output(table: ir.Table, names: list[str], scope: Scope) -> ir.Table:
    """Dimension columns renamed from their working names to the dimensions."""
    renamed = {d: n for d, n in zip(scope.by, names, strict=True)}
    return table.rename(renamed) if renamed else table


def spine(scope: Scope, at_start: bool = False, in_sql: bool = False) -> ir.Table:
    """Each period of the scope with the day its level is read on: the period's last day
    in the range, or with `at_start` the day before its first. `in_sql` builds it in the
    query from the range's first and last day (DuckDB's `generate_series`), so the query's
    SQL can be compiled once per shape; otherwise it is a table of the periods."""
    if in_sql:
        first, last = ibis.literal(scope.start), ibis.literal(scope.end)
        days = _day_series(first, last, ibis.interval(days=1)).unnest().name("_moment")
        table = days.as_table()
        table = table.select(
            period_start=truncate(table._moment.date(), scope.grain),
            _day=table._moment.date(),
            _before=(table._moment - ibis.interval(days=1)).date(),
        )
        at = table._before.min() if at_start else table._day.max()
        return table.group_by("period_start").aggregate(_at=at)
    rows = scope.periods
    at_days = [p.first - timedelta(days=1) if at_start else p.last for p in rows]
    return ibis.memtable(
        {"period_start": [p.start for p in rows], "_at": at_days},
        schema={"period_start": "date", "_at": "date"},
    )


@ibis.udf.scalar.builtin(
    name="generate_series",
    signature=((dt.date, dt.date, dt.Interval("D")), dt.Array(dt.timestamp)),
)
def _day_series(first, last, step):  # type: ignore[no-untyped-def]
    """DuckDB's list of the days from `first` to `last` (as timestamps)."""


def previous_period(period: ir.DateValue, grain: Grain) -> ir.DateValue:
    step = {
        Grain.DAY: ibis.interval(days=1),
        Grain.WEEK: ibis.interval(days=7),
        Grain.MONTH: ibis.interval(months=1),
        Grain.QUARTER: ibis.interval(months=3),
        Grain.YEAR: ibis.interval(years=1),
    }[grain]
    result: ir.DateValue = (period - step).cast("date")
    return result


def shift_active(frame: pd.DataFrame, atom: Atom, scope: Scope) -> pd.DataFrame:
    """Retention's base is the previous period's active entities; keep the scope's periods."""
    if frame.empty:
        # Nothing to shift (and pandas cannot join empty Arrow text columns).
        return frame
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


#: The query builder of each atom kind (simple aggregates are built by the Computer).
QUERIES: dict[str, Callable[[Computer, list[Atom], Scope], ir.Table]] = {
    "percentile": percentile,
    "level": level,
    "last": last,
    "trailing_sum": trailing_sum,
    "trailing_count": trailing_count,
    "funnel": funnel,
    "retention": retention,
    "top_ratio": top_ratio,
}
