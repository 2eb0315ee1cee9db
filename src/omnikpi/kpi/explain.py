"""Explain a KPI: its definition, how it is computed, and the SQL the engine runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis

from omnikpi.kpi.atoms import Atom, Const, Negate, Node, Op, Part, Retained, Share
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compute import Computer
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.kpi.plan import Planner
from omnikpi.kpi.scope import Scope
from omnikpi.kpi.spec import KpiSpec
from omnikpi.kpi.targets import allowed_dimensions
from omnikpi.warehouse import Tables, Warehouse


@dataclass(frozen=True)
class Explanation:
    kpi: KpiSpec
    formula: str
    dimensions: list[str]
    sql: list[str]


def explain(
    catalog: Catalog, kpi_id: str, engine: Tables | None = None, today: date | None = None
) -> Explanation:
    """Definition, plan and compiled SQL (DuckDB dialect, current month) of `kpi_id`.

    Without an engine the SQL is compiled against an empty in-memory warehouse.
    """
    kpi = catalog.get(kpi_id)
    tree = Planner(catalog).plan(kpi_id)
    day = today or date.today()
    scope = Scope(Grain.MONTH, period_start(day, Grain.MONTH), day)
    own = engine is None
    tables: Tables = engine if engine is not None else Warehouse.create(Path(":memory:"))
    try:
        computer = Computer(catalog, tables, tables.execute)
        atoms = _atoms(tree)
        sql = []
        for atom in atoms:
            if not computer.builder.has_tables(atom.source):
                sql.append(f"-- {atom.source}: reads a table that is not loaded")
                continue
            for expr in computer.expressions([atom], scope):
                sql.append(str(ibis.to_sql(expr, dialect="duckdb")))
    finally:
        if own and isinstance(tables, Warehouse):
            tables.close()
    return Explanation(kpi, describe(tree), sorted(allowed_dimensions(catalog, kpi_id)), sql)


def _atoms(tree: Node) -> list[Atom]:
    from omnikpi.kpi.atoms import atoms_of

    return atoms_of(tree)


def describe(node: Node) -> str:
    """A readable formula of a plan, e.g. `sum(net_amount) of order_lines where ...`."""
    if isinstance(node, Const):
        return f"{node.value:g}"
    if isinstance(node, Negate):
        return f"-({describe(node.operand)})"
    if isinstance(node, Op):
        return f"({describe(node.left)} {node.op} {describe(node.right)})"
    if isinstance(node, Share):
        return f"share by {node.of} of {describe(node.node)}"
    if isinstance(node, Retained):
        return f"retained / previously active [{_atom(node.atom)}]"
    assert isinstance(node, Part)
    suffix = "" if node.part == "value" else f".{node.part}"
    return _atom(node.atom) + suffix


def _atom(atom: Atom) -> str:
    fields = dict(atom.fields)
    condition = fields.pop("filter", None)
    inner = ", ".join(f"{k}={v}" for k, v in fields.items())
    text = f"{atom.kind}({inner}) of {atom.source}"
    return f"{text} where {condition}" if condition else text
