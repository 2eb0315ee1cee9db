"""Plan a KPI: a small expression tree over atoms, the base measures a query computes.

Measures that are one aggregate of one source plan to an atom of their kind (see
`omnikpi.kpi.kinds`); means, ratios, shares and formulas are arithmetic over other plans.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Literal

from omnikpi.errors import ConfigError
from omnikpi.kpi.atoms import Const, Negate, Node, Op, Part, Share, make_atom
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.kinds import KINDS
from omnikpi.kpi.spec import FormulaMeasure, MeanMeasure, Measure, RatioMeasure, ShareMeasure
from omnikpi.model import table as model_table


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
        kind = KINDS.get(m.type)
        if kind is not None:
            fields = kind.fields(m, self._series)
            source = str(fields.pop("source"))
            return kind.value(make_atom(m.type, source, **fields))
        if isinstance(m, MeanMeasure):
            known = f"({m.expr}) is not None"
            condition = f"({m.filter}) and {known}" if m.filter else known
            total = make_atom("sum", m.source, expr=m.expr, filter=condition, time=m.time)
            count = make_atom("count", m.source, filter=condition, time=m.time)
            return Op("/", Part(total), Part(count))
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
