"""Plan a KPI: a small expression tree over atoms, the base measures a query computes.

An atom is one aggregate of one source (a sum, a distinct count, a funnel, a level at period
end ...). Ratios and formulas are arithmetic over atoms evaluated per period after the atoms
are summed, so a ratio is always the ratio of summed parts, never a mean of daily ratios.
Atoms are keyed by their definition, so KPIs that share a part compute it once and rollups
store it once.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from omnikpi.errors import ConfigError
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.spec import (
    CountDistinctMeasure,
    CountMeasure,
    FormulaMeasure,
    FunnelMeasure,
    LastMeasure,
    LevelMeasure,
    MeanMeasure,
    Measure,
    PercentileMeasure,
    RatioMeasure,
    RetentionMeasure,
    ShareMeasure,
    SumMeasure,
    TopRatioMeasure,
    TrailingCountMeasure,
    TrailingSumMeasure,
)
from omnikpi.model import table as model_table

#: How an atom's daily values roll up to longer periods.
#: "sum": add the days; "last": take the period's last day; "period": compute per period.
Rollup = Literal["sum", "last", "period"]


@dataclass(frozen=True)
class Atom:
    """One base measure: kind, source and its defining fields (sorted, hashable)."""

    kind: str
    source: str
    fields: tuple[tuple[str, object], ...]

    @property
    def key(self) -> str:
        payload = json.dumps([self.kind, self.source, self.fields], default=str)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def get(self, name: str, default: object = None) -> object:
        return dict(self.fields).get(name, default)

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else str(value)

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        return float(value) if isinstance(value, int | float | str) else default

    def integer(self, name: str, default: int) -> int:
        value = self.get(name)
        return int(value) if isinstance(value, int | float | str) else default

    @property
    def parts(self) -> tuple[str, ...]:
        return _PARTS.get(self.kind, ("value",))

    @property
    def rollup(self) -> Rollup:
        if self.kind in ("sum", "count", "funnel"):
            return "sum"
        if self.kind == "count_distinct":
            return "sum" if self.get("additive") else "period"
        if self.kind in ("level", "trailing_count", "trailing_sum"):
            return "last"
        # Snapshots ("last") take each series' latest row in the period, which a day's value
        # cannot tell; like distinct counts and medians they are computed per period.
        return "period"

    @property
    def sums_across_values(self) -> bool:
        """Values of a dimension can be added up (each row counts under one value only)."""
        return self.kind in ("sum", "count", "level", "last", "trailing_sum")

    @property
    def zero_when_empty(self) -> bool:
        """No rows in a covered period means 0 (a count), not unknown (a median)."""
        return self.kind in (
            "sum",
            "count",
            "count_distinct",
            "funnel",
            "level",
            "last",
            "trailing_count",
            "trailing_sum",
            "retention",
            "top_ratio",
        )


_PARTS = {
    "funnel": ("started", "converted"),
    "retention": ("retained", "active"),
    "top_ratio": ("numerator", "denominator"),
}


def make_atom(kind: str, source: str, **fields: object) -> Atom:
    return Atom(kind, source, tuple(sorted((k, v) for k, v in fields.items() if v is not None)))


# -- expression trees ------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    atom: Atom
    part: str = "value"


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Op:
    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Share:
    """`node` per value of dimension `of`, over `node` for all values of `of`."""

    node: Node
    of: str


@dataclass(frozen=True)
class Retained:
    """Retained entities over those active in the previous period (a shifted part)."""

    atom: Atom


Node = Part | Const | Op | Negate | Share | Retained


def atoms_of(node: Node) -> list[Atom]:
    """Atoms a tree reads, in order of first appearance."""
    found: dict[str, Atom] = {}
    _collect(node, found)
    return list(found.values())


def _collect(node: Node, found: dict[str, Atom]) -> None:
    if isinstance(node, Part | Retained):
        found.setdefault(node.atom.key, node.atom)
    elif isinstance(node, Op):
        _collect(node.left, found)
        _collect(node.right, found)
    elif isinstance(node, Negate):
        _collect(node.operand, found)
    elif isinstance(node, Share):
        _collect(node.node, found)


def shares_of(node: Node) -> list[str]:
    """Dimensions a tree is a share of (they become output columns)."""
    if isinstance(node, Share):
        return [node.of, *shares_of(node.node)]
    if isinstance(node, Op):
        return shares_of(node.left) + shares_of(node.right)
    if isinstance(node, Negate):
        return shares_of(node.operand)
    return []


@dataclass
class Planner:
    """Plans KPIs of one catalog, caching trees by KPI id."""

    catalog: Catalog
    _trees: dict[str, Node] = field(default_factory=dict)

    def plan(self, kpi_id: str) -> Node:
        if kpi_id not in self._trees:
            self._trees[kpi_id] = self._measure(self.catalog.get(kpi_id).measure)
        return self._trees[kpi_id]

    def _series(self, source_id: str) -> list[str]:
        """Key columns of a source's table other than its time column."""
        spec = self.catalog.source(source_id)
        while spec.table is None and spec.source:
            spec = self.catalog.source(spec.source)
        table = model_table(spec.table or "")
        return [k for k in table.primary_key if k != table.time_column]

    def _part(self, measure: str | Measure) -> Node:
        return self.plan(measure) if isinstance(measure, str) else self._measure(measure)

    def _measure(self, m: Measure) -> Node:
        if isinstance(m, SumMeasure):
            return Part(make_atom("sum", m.source, expr=m.expr, filter=m.filter, time=m.time))
        if isinstance(m, CountMeasure):
            return Part(make_atom("count", m.source, filter=m.filter, time=m.time))
        if isinstance(m, CountDistinctMeasure):
            return Part(
                make_atom(
                    "count_distinct",
                    m.source,
                    expr=m.expr,
                    filter=m.filter,
                    time=m.time,
                    period_filter=m.period_filter,
                    additive=m.additive or None,
                )
            )
        if isinstance(m, MeanMeasure):
            known = f"({m.expr}) is not None"
            condition = f"({m.filter}) and {known}" if m.filter else known
            total = make_atom("sum", m.source, expr=m.expr, filter=condition, time=m.time)
            count = make_atom("count", m.source, filter=condition, time=m.time)
            return Op("/", Part(total), Part(count))
        if isinstance(m, PercentileMeasure):
            return Part(
                make_atom("percentile", m.source, expr=m.expr, q=m.q, filter=m.filter, time=m.time)
            )
        if isinstance(m, LevelMeasure):
            return Part(
                make_atom("level", m.source, start=m.start, end=m.end, filter=m.filter, at=m.at)
            )
        if isinstance(m, LastMeasure):
            series = m.series or self._series(m.source)
            return Part(
                make_atom(
                    "last",
                    m.source,
                    expr=m.expr,
                    filter=m.filter,
                    time=m.time,
                    series=",".join(series),
                )
            )
        if isinstance(m, TrailingCountMeasure):
            return Part(
                make_atom(
                    "trailing_count",
                    m.source,
                    entity=m.entity,
                    window_days=m.window_days,
                    min_events=m.min_events,
                    filter=m.filter,
                    time=m.time,
                )
            )
        if isinstance(m, TrailingSumMeasure):
            return Part(
                make_atom(
                    "trailing_sum",
                    m.source,
                    expr=m.expr,
                    window_days=m.window_days,
                    filter=m.filter,
                    time=m.time,
                )
            )
        if isinstance(m, FunnelMeasure):
            atom = make_atom(
                "funnel", m.source, unit=m.unit, start=m.start, then=m.then, time=m.time
            )
            return Op("/", Part(atom, "converted"), Part(atom, "started"))
        if isinstance(m, RetentionMeasure):
            atom = make_atom("retention", m.source, entity=m.entity, filter=m.filter, time=m.time)
            return Retained(atom)
        if isinstance(m, TopRatioMeasure):
            atom = make_atom(
                "top_ratio",
                m.source,
                rank_by=m.rank_by,
                n=m.n,
                numerator=m.numerator,
                denominator=m.denominator,
                filter=m.filter,
                time=m.time,
            )
            return Op("/", Part(atom, "numerator"), Part(atom, "denominator"))
        if isinstance(m, RatioMeasure):
            ratio: Node = Op("/", self._part(m.numerator), self._part(m.denominator))
            return ratio if m.scale == 1 else Op("*", ratio, Const(m.scale))
        if isinstance(m, ShareMeasure):
            return Share(self._part(m.measure), m.of)
        if isinstance(m, FormulaMeasure):
            return self._formula(m.expr, ast.parse(m.expr, mode="eval").body)
        raise ConfigError(f"unsupported measure {m!r}")

    def _formula(self, text: str, node: ast.expr) -> Node:
        if isinstance(node, ast.Name):
            return self.plan(node.id)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Const(float(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return Negate(self._formula(text, node.operand))
        if isinstance(node, ast.BinOp):
            ops: dict[type[ast.operator], Literal["+", "-", "*", "/"]] = {
                ast.Add: "+",
                ast.Sub: "-",
                ast.Mult: "*",
                ast.Div: "/",
            }
            op = ops.get(type(node.op))
            if op is not None:
                return Op(op, self._formula(text, node.left), self._formula(text, node.right))
        raise ConfigError(
            f'formula "{text}": only KPI ids, numbers, + - * / and parentheses are allowed'
        )
