"""Build a catalog source as an Ibis table, with only the columns a computation needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from omnikpi.errors import ConfigError
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.expressions import Expression, compile_expression
from omnikpi.kpi.spec import ChildAggregateSpec, JoinSpec, SourceSpec, WindowSpec
from omnikpi.model.derived import DERIVED_TABLES
from omnikpi.model.schema import Table
from omnikpi.warehouse import Tables


class SourceMissing(Exception):
    """A source reads a table the warehouse does not have (its KPIs report no data)."""

    def __init__(self, source: str, table: str) -> None:
        super().__init__(f'source "{source}" needs table "{table}", which is not loaded')
        self.source = source
        self.table = table


def _declared(spec: SourceSpec, name: str) -> Table:
    """The declared table a model writes, whose column types an optional join's nulls take."""
    for table in DERIVED_TABLES:
        if table.name == name:
            return table
    raise ConfigError(
        f'source "{spec.id}": an optional join must name a table a model writes '
        f'({", ".join(t.name for t in DERIVED_TABLES)}), not "{name}"'
    )


def names_of(entry: str | WindowSpec) -> set[str]:
    """Column names a derive entry reads."""
    if isinstance(entry, str):
        return set(Expression.parse(entry).names)
    texts = [*entry.partition, *(o.lstrip("-") for o in entry.order)]
    if entry.expr:
        texts.append(entry.expr)
    found: set[str] = set()
    for text in texts:
        found |= Expression.parse(text).names
    return found


def tables_read(catalog: Catalog, source_id: str, *, required: bool = False) -> set[str]:
    """Every table a source reads, through its base source and joins (with `required`,
    only those it cannot be built without: not the tables of optional joins)."""
    spec = catalog.source(source_id)
    found = (
        {spec.table} if spec.table else tables_read(catalog, spec.source or "", required=required)
    )
    for join in spec.joins:
        if join.table:
            found |= set() if required and join.optional else {join.table}
        else:
            found |= tables_read(catalog, join.source or "", required=required)
    found |= {a.table for a in spec.aggregates}
    return found


def base_table(catalog: Catalog, source_id: str) -> str:
    """The canonical table a source ultimately reads (its rows are that table's rows)."""
    spec = catalog.source(source_id)
    return spec.table if spec.table else base_table(catalog, spec.source or "")


def kpi_tables(catalog: Catalog, kpi_id: str) -> set[str]:
    """The tables whose rows the KPI `kpi_id` counts (the base tables of its measures;
    tables joined only for dimensions are left out): without rows in them it has no data.

    >>> sorted(kpi_tables(load_catalog(), "aov"))  # doctest: +SKIP
    ['orders']
    """
    from omnikpi.kpi.atoms import atoms_of
    from omnikpi.kpi.plan import Planner

    atoms = atoms_of(Planner(catalog).plan(kpi_id))
    return {base_table(catalog, atom.source) for atom in atoms}


def kpis_reading(catalog: Catalog, tables: set[str]) -> list[str]:
    """Ids of the KPIs that count rows of any of `tables` (they show no data while those
    tables are empty), in catalog order."""
    return [kpi_id for kpi_id in catalog.kpis if kpi_tables(catalog, kpi_id) & tables]


@dataclass(frozen=True)
class _Steps:
    """The steps of a source that building some of its columns takes, and the columns of
    its base that they read (None: all)."""

    derive: dict[str, str | WindowSpec]
    joins: list[JoinSpec]
    aggregates: list[ChildAggregateSpec]
    need: set[str] | None

    @staticmethod
    def of(spec: SourceSpec, needed: set[str] | None) -> _Steps:
        need = None if needed is None else set(needed)
        if spec.summarize is not None:
            need = set(spec.summarize.group_by)
            for text in spec.summarize.columns.values():
                need |= Expression.parse(text).names
        derive = dict(spec.derive)
        joins, aggregates = list(spec.joins), list(spec.aggregates)
        if need is not None:
            kept: dict[str, str | WindowSpec] = {}
            for name, entry in reversed(list(spec.derive.items())):
                if name in need:
                    kept[name] = entry
                    need.discard(name)
                    need |= names_of(entry)
            derive = {n: e for n, e in spec.derive.items() if n in kept}
            if spec.filter:
                need |= Expression.parse(spec.filter).names
            joins = [j for j in spec.joins if set(j.columns) & need]
            for join in joins:
                need -= set(join.columns)
                for key in join.match:
                    need |= Expression.parse(key).names
            aggregates = [a for a in spec.aggregates if set(a.columns) & need]
            for aggregate in aggregates:
                need -= set(aggregate.columns)
                need |= set(aggregate.match)
        return _Steps(derive, joins, aggregates, need)


class SourceBuilder:
    """Turns `SourceSpec`s into Ibis tables over one engine's tables."""

    def __init__(self, catalog: Catalog, tables: Tables) -> None:
        self.catalog = catalog
        self.tables = tables

    def build(self, source_id: str, needed: Iterable[str] | None = None) -> ir.Table:
        """The prepared rows of `source_id`; `needed` limits the derived columns computed."""
        spec = self.catalog.source(source_id)
        return self._build(spec, set(needed) if needed is not None else None)

    def base_table(self, source_id: str) -> str:
        """The canonical table a source ultimately reads."""
        return base_table(self.catalog, source_id)

    def tables_read(self, source_id: str) -> set[str]:
        """Every table a source reads, through its base source and joins."""
        return tables_read(self.catalog, source_id)

    def has_tables(self, source_id: str) -> bool:
        """Whether the warehouse has every table the source cannot be built without."""
        needed = tables_read(self.catalog, source_id, required=True)
        return all(self.tables.has_table(t) for t in needed)

    # -- steps ------------------------------------------------------------------------------
    def costly(self, source_id: str, needed: Iterable[str]) -> frozenset[str]:
        """The windows building `source_id` with `needed` takes, named "source.column".
        Atoms that need different windows are computed in separate queries, so one atom's
        window over every row is not paid by the others of its source. Joins to other
        sources and child aggregates are not: joining every row costs less than reading
        the rows again in a query of their own (events of the scale 0.05 benchmark: ten
        counts, two of them needing the day's stock and one the session's exit, 0.44 s in
        one query, 0.79 s in three).

        >>> builder.costly("orders", {"purchase_number"})  # doctest: +SKIP
        frozenset({'orders.purchase_number'})
        """
        return frozenset(self._costly(self.catalog.source(source_id), set(needed)))

    def _costly(self, spec: SourceSpec, needed: set[str]) -> set[str]:
        steps = _Steps.of(spec, needed)
        found = {f"{spec.id}.{n}" for n, e in steps.derive.items() if not isinstance(e, str)}
        if spec.source:
            found |= self._costly(self.catalog.source(spec.source), steps.need or set())
        return found

    def _build(self, spec: SourceSpec, needed: set[str] | None) -> ir.Table:
        steps = _Steps.of(spec, needed)
        derive, joins, aggregates, need = steps.derive, steps.joins, steps.aggregates, steps.need
        table = self._base(spec, need)
        for join in joins:
            table = self._join(spec, table, join)
        for aggregate in aggregates:
            table = self._aggregate(
                spec, table, aggregate.table, aggregate.match, aggregate.filter, aggregate.columns
            )
        if spec.filter:
            table = table.filter(compile_expression(spec.filter, table))
        for name, entry in derive.items():
            value = (
                compile_expression(entry, table)
                if isinstance(entry, str)
                else self._window(table, entry)
            )
            table = table.mutate(**{name: value})
        if spec.summarize is not None:
            table = table.group_by(spec.summarize.group_by).aggregate(
                **{
                    name: compile_expression(text, table, aggregate=True)
                    for name, text in spec.summarize.columns.items()
                }
            )
        return table

    def _base(self, spec: SourceSpec, need: set[str] | None) -> ir.Table:
        if spec.source:
            return self._build(self.catalog.source(spec.source), need)
        assert spec.table is not None
        if not self.tables.has_table(spec.table):
            raise SourceMissing(spec.id, spec.table)
        return self.tables.table(spec.table)

    def _target(
        self, spec: SourceSpec, table_name: str | None, source_id: str | None, needed: set[str]
    ) -> ir.Table:
        if source_id:
            return self._build(self.catalog.source(source_id), needed)
        assert table_name is not None
        if not self.tables.has_table(table_name):
            raise SourceMissing(spec.id, table_name)
        return self.tables.table(table_name)

    def _join(self, spec: SourceSpec, table: ir.Table, join: JoinSpec) -> ir.Table:
        table_name, source_id, match, columns = join.table, join.source, join.match, join.columns
        clash = set(columns) & set(table.columns)
        if clash:
            raise ConfigError(
                f'source "{spec.id}": joined columns {sorted(clash)} already exist (rename them)'
            )
        if join.optional and table_name and not self.tables.has_table(table_name):
            declared = _declared(spec, table_name)
            return table.mutate(
                **{
                    new: ibis.null(declared.column(old).ibis_type.copy(nullable=True))
                    for new, old in columns.items()
                }
            )
        right = self._target(
            spec, table_name, source_id, set(match.values()) | set(columns.values())
        )
        left_keys = {f"_lk{i}": compile_expression(k, table) for i, k in enumerate(match)}
        right_cols = {f"_rk{i}": right[c] for i, c in enumerate(match.values())}
        right_cols.update({new: right[old] for new, old in columns.items()})
        left = table.mutate(**left_keys)
        right = right.select(**right_cols)
        joined = left.left_join(
            right, [left[f"_lk{i}"] == right[f"_rk{i}"] for i in range(len(match))]
        )
        return joined.select(*table.columns, *columns)

    def _aggregate(
        self,
        spec: SourceSpec,
        table: ir.Table,
        child_name: str,
        match: dict[str, str],
        condition: str | None,
        columns: dict[str, str],
    ) -> ir.Table:
        if not self.tables.has_table(child_name):
            raise SourceMissing(spec.id, child_name)
        child = self.tables.table(child_name)
        if condition:
            child = child.filter(compile_expression(condition, child))
        summary = child.group_by(
            [child[c].name(f"_rk{i}") for i, c in enumerate(match.values())]
        ).aggregate(**{n: compile_expression(t, child, aggregate=True) for n, t in columns.items()})
        joined = table.left_join(
            summary, [table[k] == summary[f"_rk{i}"] for i, k in enumerate(match)]
        )
        return joined.select(*table.columns, *columns)

    @staticmethod
    def _window(table: ir.Table, spec: WindowSpec) -> ir.Value:
        order = [
            ibis.desc(compile_expression(o[1:], table))
            if o.startswith("-")
            else compile_expression(o, table)
            for o in spec.order
        ]
        window = ibis.window(
            group_by=[compile_expression(p, table) for p in spec.partition],
            order_by=order or None,
        )
        if spec.window == "row_number":
            return ibis.row_number().over(window) + 1
        if spec.expr is None:
            raise ConfigError(f"window {spec.window} needs `expr`")
        value = compile_expression(spec.expr, table)
        if spec.window in ("lag", "lead"):
            shifted = value.lag(spec.offset) if spec.window == "lag" else value.lead(spec.offset)
            return shifted.over(window)
        if spec.window == "count":
            return value.count().over(window)
        if spec.window == "first":
            return value.first().over(window)
        if spec.window == "min":
            return value.min().over(window)
        if spec.window == "max":
            return value.max().over(window)
        return value.sum().over(window)
