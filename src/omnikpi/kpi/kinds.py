"""Atom kinds: what each kind of base measure is, declared once.

One record per kind says which catalog measure plans to it, the parts it has (a funnel has
`started` and `converted`), how its daily values roll up to longer periods, whether values
of a dimension add up, whether a covered period without rows is 0 or unknown, how it is
queried (its own query, or a row aggregate batched with the others of its source), how a
rollup build aggregates it in GROUPING SETS, and how the KPI value is formed from its
parts. A new measure type is its pydantic model in `spec.py` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from omnikpi.kpi.atoms import Atom, Node, Op, Part, Retained, Rollup
from omnikpi.kpi.expressions import compile_expression
from omnikpi.kpi.periods import Grain, period_end, shift
from omnikpi.kpi.queries import (
    funnel,
    last,
    level,
    percentile,
    retention,
    shift_active,
    top_ratio,
    trailing_count,
    trailing_sum,
)
from omnikpi.kpi.scope import Scope, column_name
from omnikpi.kpi.spec import LastMeasure, Measure

if TYPE_CHECKING:
    from omnikpi.kpi.compute import Computer

#: Builds the query of one atom (or a batch of one kind) for a scope.
Query = Callable[["Computer", list[Atom], Scope], ir.Table]
#: A batched row aggregate's columns: (atom, rows, condition or None, period_start) → columns.
Metrics = Callable[[Atom, ir.Table, Any, Mapping[str, ir.Value]], dict[str, ir.Value]]
#: DuckDB aggregates over (atom, counted 0/1 column, value column, output name).
SetAggregates = Callable[[Atom, str, str, str], list[str]]
#: Post-processing of a result frame for one atom of the batch.
Finish = Callable[[pd.DataFrame, Atom, Scope], pd.DataFrame]
#: The measure's fields that define the atom (the series of a snapshot need the catalog).
Fields = Callable[[Measure, Callable[[str], list[str]]], dict[str, object]]


def _measure_fields(measure: Measure, series_of: Callable[[str], list[str]]) -> dict[str, object]:
    """The measure's own fields but `type`; false flags are left out."""
    del series_of
    dumped = measure.model_dump(exclude={"type"})
    return {k: v for k, v in dumped.items() if v is not None and v is not False}


def _snapshot_fields(measure: Measure, series_of: Callable[[str], list[str]]) -> dict[str, object]:
    assert isinstance(measure, LastMeasure)
    fields = _measure_fields(measure, series_of)
    fields["series"] = ",".join(measure.series or series_of(measure.source))
    return fields


def condition_of(atom: Atom, table: ir.Table, extra: Mapping[str, ir.Value]) -> Any:
    """The atom's filter and period filter on `table` (None: every row)."""
    condition = None
    for text in (atom.text("filter"), atom.text("period_filter")):
        if text:
            part = compile_expression(text, table, dict(extra))
            condition = part if condition is None else condition & part
    return condition


def _count_metrics(
    atom: Atom, table: ir.Table, condition: Any, extra: Mapping[str, ir.Value]
) -> dict[str, ir.Value]:
    del extra
    rows = table.count(where=condition) if condition is not None else table.count()
    return {column_name(atom, "value"): rows}


def _sum_metrics(
    atom: Atom, table: ir.Table, condition: Any, extra: Mapping[str, ir.Value]
) -> dict[str, ir.Value]:
    name = column_name(atom, "value")
    value = compile_expression(atom.text("expr") or "", table, dict(extra))
    return {
        name: value.sum(where=condition),
        # Rows matched but every value unknown: the sum is unknown, not 0.
        f"{name}.known": value.count(where=condition),
        f"{name}.rows": table.count(where=condition) if condition is not None else table.count(),
    }


def _distinct_metrics(
    atom: Atom, table: ir.Table, condition: Any, extra: Mapping[str, ir.Value]
) -> dict[str, ir.Value]:
    value = compile_expression(atom.text("expr") or "", table, dict(extra))
    return {column_name(atom, "value"): value.nunique(where=condition)}


def _sum_sets(atom: Atom, counted: str, value: str, name: str) -> list[str]:
    return [
        f'SUM("{value}") AS "{name}"',
        f'COUNT("{value}") AS "{name}.known"',
        f'SUM("{counted}") AS "{name}.rows"',
    ]


def _count_sets(atom: Atom, counted: str, value: str, name: str) -> list[str]:
    return [f'SUM("{counted}") AS "{name}"']


def _distinct_sets(atom: Atom, counted: str, value: str, name: str) -> list[str]:
    return [f'COUNT(DISTINCT "{value}") AS "{name}"']


def _percentile_sets(atom: Atom, counted: str, value: str, name: str) -> list[str]:
    q = atom.number("q", 0.5)
    return [f'QUANTILE_CONT(CAST("{value}" AS DOUBLE), {q!r}) AS "{name}"']


def settle_sum(frame: pd.DataFrame, atom: Atom, scope: Scope) -> pd.DataFrame:
    """A sum over rows whose values are all unknown is unknown; over no rows it is 0."""
    del scope
    name = column_name(atom, "value")
    known, rows = frame.pop(f"{name}.known"), frame.pop(f"{name}.rows")
    total = frame[name].astype("float64")
    unknown_or_zero = pd.Series(np.where(rows > 0, np.nan, 0.0), index=frame.index)
    frame[name] = total.where(known > 0, unknown_or_zero)
    return frame


def _period_start(atom: Atom, start: date, grain: Grain) -> date:
    return start


def _trailing_start(atom: Atom, start: date, grain: Grain) -> date:
    """A trailing window read at the period's end reaches back `window_days`."""
    end = period_end(start, grain)
    return min(start, end - timedelta(days=atom.integer("window_days", 1) - 1))


def _previous_start(atom: Atom, start: date, grain: Grain) -> date:
    """Retention compares with the entities active in the previous period."""
    return shift(start, grain, "previous")


def _always(rollup: Rollup) -> Callable[[Atom], Rollup]:
    return lambda atom: rollup


def _distinct_rollup(atom: Atom) -> Rollup:
    """Distinct keys never seen on two days (sessions) add up over days; others do not."""
    return "sum" if atom.get("additive") else "period"


def _ratio_of(numerator: str, denominator: str) -> Callable[[Atom], Node]:
    return lambda atom: Op("/", Part(atom, numerator), Part(atom, denominator))


def _value(atom: Atom) -> Node:
    return Part(atom)


@dataclass(frozen=True)
class AtomKind:
    """What one kind of atom is and how it is computed (see the module docstring)."""

    #: How its daily values roll up: "sum" (add the days), "last" (a level read at the end
    #: of the period's last day) or "period" (computed per period of every grain).
    rollup: Callable[[Atom], Rollup]
    #: Values of a dimension add up to the total (each row counts under one value only).
    sums_across_values: bool
    #: A covered period without rows is 0 (a count), not unknown (a median).
    zero_when_empty: bool
    parts: tuple[str, ...] = ("value",)
    #: Its own query; None for row aggregates batched with the others of their source.
    query: Query | None = None
    #: Columns of a batched row aggregate.
    metrics: Metrics | None = None
    #: Aggregates for rollup builds in GROUPING SETS (None: built scope by scope).
    set_aggregates: SetAggregates | None = None
    #: It counts the distinct values of `expr`: a rollup build of atoms counting the same
    #: values counts them from one row per period, dimension value and counted value.
    counts_distinct: bool = False
    finish: Finish | None = None
    #: The KPI value formed from its parts.
    value: Callable[[Atom], Node] = _value
    fields: Fields = _measure_fields
    #: The first day the value of the period of `grain` starting on a day reads.
    reads_from: Callable[[Atom, date, Grain], date] = _period_start
    #: Its query reads every earlier row, not only those from `reads_from` (a level counts
    #: what opened before the range; a funnel finds each unit's first step).
    reads_history: bool = False
    #: For kinds with their own query: atoms with the same key run in one query (None:
    #: one query per atom).
    batch_key: Callable[[Atom], tuple[object, ...]] | None = None


KINDS: dict[str, AtomKind] = {
    "sum": AtomKind(
        _always("sum"), True, True, metrics=_sum_metrics, set_aggregates=_sum_sets,
        finish=settle_sum,
    ),
    "count": AtomKind(
        _always("sum"), True, True, metrics=_count_metrics, set_aggregates=_count_sets
    ),
    "count_distinct": AtomKind(
        _distinct_rollup, False, True, metrics=_distinct_metrics, set_aggregates=_distinct_sets,
        counts_distinct=True,
    ),
    "percentile": AtomKind(
        _always("period"), False, False, query=percentile, set_aggregates=_percentile_sets
    ),
    "level": AtomKind(_always("last"), True, True, query=level, reads_history=True),
    # Snapshots take each series' latest row in the period, which a day's value cannot tell.
    "last": AtomKind(_always("period"), True, True, query=last, fields=_snapshot_fields),
    "trailing_count": AtomKind(
        _always("last"), False, True, query=trailing_count, reads_from=_trailing_start
    ),
    "trailing_sum": AtomKind(
        _always("last"), True, True, query=trailing_sum, reads_from=_trailing_start
    ),
    "funnel": AtomKind(
        _always("sum"), False, True, ("started", "converted"), query=funnel,
        value=_ratio_of("converted", "started"), reads_history=True,
        batch_key=lambda atom: (atom.source, atom.text("unit"), atom.text("time")),
    ),
    "retention": AtomKind(
        _always("period"), False, True, ("retained", "active"), query=retention,
        finish=lambda frame, atom, scope: shift_active(frame, atom, scope),
        value=lambda atom: Retained(atom), reads_from=_previous_start,
    ),
    "top_ratio": AtomKind(
        _always("period"), False, True, ("numerator", "denominator"), query=top_ratio,
        value=_ratio_of("numerator", "denominator"),
    ),
}  # fmt: skip


def kind_of(atom: Atom) -> AtomKind:
    """The record of the atom's kind."""
    return KINDS[atom.kind]


def batched(atom: Atom) -> bool:
    """Whether the atom is a row aggregate computed in one query with the others of its
    source and time column."""
    return kind_of(atom).query is None
