"""How many distinct customers stand behind a KPI value: the population small-cell
suppression compares with its threshold (DESIGN §6).

Each atom of a KPI that reads a source describing customers (`SourceSpec.customer`) gets a
*population atom*: the distinct customers of the same rows — same source, filter and time,
so in a scope it has the same periods, dimensions and filters as the atom. It is an atom
like any other, so rollups store it and dashboards read it from them. A KPI's population in
a cell is the smallest of its atoms' populations there (a conversion rate over 5,000 visits
by 3 buyers describes 3 customers); a KPI reading no customer source has none and is never
suppressed.

What "the same rows" means by kind of atom:

- row aggregates (sums, counts, distinct counts, percentiles, top-n ratios): the distinct
  customers among the rows the atom aggregates in the period;
- funnels: the customers who took the first step in the period;
- trailing windows (active customers over 365 days): the distinct customers with a row in
  the window ending on the period's last day (a trailing count of them);
- levels (open tickets, members, subscribers at period end): the level itself — the rows
  open at the end, one per customer for customers and purchases (an upper bound where one
  customer can hold several, as open tickets);
- retention: the customers active in the period.

>>> terms = population_terms(catalog, planner.plan("aov"))  # doctest: +SKIP
>>> [(t.atom.kind, t.shares) for t in terms]  # doctest: +SKIP
[('count_distinct', ())]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from omnikpi.kpi.atoms import Atom, Negate, Node, Op, Part, Retained, Share, make_atom
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.evaluate import Evaluator
from omnikpi.kpi.evaluate import _align as align
from omnikpi.kpi.scope import Scope

#: A KPI's population by cell (index: period_start, dimensions), None: it describes none.
Series = pd.Series | None

#: Kinds whose value at a period's end reads a trailing window of rows.
_TRAILING = frozenset({"trailing_count", "trailing_sum"})


@dataclass(frozen=True)
class PopulationTerm:
    """One population atom of a KPI and the share dimensions it lies under (its cells are
    those of the share's parts: payment_type_share's cells are by payment method)."""

    atom: Atom
    shares: tuple[str, ...] = ()

    def scope(self, scope: Scope) -> Scope:
        """The scope the term is read in for a KPI read in `scope`."""
        for dimension in self.shares:
            scope = scope.share_scopes(dimension)[0]
        return scope


def population_atom(catalog: Catalog, atom: Atom) -> Atom | None:
    """The atom counting the distinct customers behind `atom` (see the module docstring),
    or None when its source describes no customer."""
    customer = catalog.source_customer(atom.source)
    if customer is None:
        return None
    time = atom.text("time")
    if atom.kind == "level":
        return atom
    if atom.kind in _TRAILING:
        return make_atom(
            "trailing_count",
            atom.source,
            entity=customer,
            filter=atom.text("filter"),
            min_events=1,
            time=time,
            window_days=atom.integer("window_days", 1),
        )
    condition = atom.text("start") if atom.kind == "funnel" else atom.text("filter")
    period_filter = atom.text("period_filter") if atom.kind == "count_distinct" else None
    return make_atom(
        "count_distinct",
        atom.source,
        expr=customer,
        filter=condition,
        period_filter=period_filter,
        time=time,
    )


def population_terms(catalog: Catalog, tree: Node) -> list[PopulationTerm]:
    """The population atoms of a KPI's tree, each with the shares it lies under, once."""
    found: dict[tuple[str, tuple[str, ...]], PopulationTerm] = {}
    _collect(catalog, tree, (), found)
    return list(found.values())


def _collect(
    catalog: Catalog,
    node: Node,
    shares: tuple[str, ...],
    found: dict[tuple[str, tuple[str, ...]], PopulationTerm],
) -> None:
    if isinstance(node, Part | Retained):
        atom = population_atom(catalog, node.atom)
        if atom is not None:
            found.setdefault((atom.key, shares), PopulationTerm(atom, shares))
    elif isinstance(node, Op):
        _collect(catalog, node.left, shares, found)
        _collect(catalog, node.right, shares, found)
    elif isinstance(node, Negate):
        _collect(catalog, node.operand, shares, found)
    elif isinstance(node, Share):
        _collect(catalog, node.node, (*shares, node.of), found)


def population_atoms(catalog: Catalog, tree: Node) -> list[Atom]:
    """The population atoms a KPI's tree needs (what rollups store beside its atoms)."""
    return list({t.atom.key: t.atom for t in population_terms(catalog, tree)}.values())


def population_of(evaluator: Evaluator, terms: Sequence[PopulationTerm], scope: Scope) -> Series:
    """A KPI's population in each cell of `scope`: the smallest of its terms' (a term
    without the share levels of another is spread over them); None without terms."""
    found: pd.Series | None = None
    for term in terms:
        series = evaluator.evaluate(Part(term.atom), term.scope(scope))
        if found is None:
            found = series
            continue
        found, series = align(found, series)
        found = pd.Series(np.fmin(found.to_numpy(), series.reindex(found.index).to_numpy()),
                          index=found.index)  # fmt: skip
    return found


def add_populations(
    result: pd.DataFrame,
    populations: Mapping[str, Series],
    compared: Mapping[str, Series],
    compared_period: Mapping[date, date],
) -> None:
    """Adds `population` and `comparison_population` columns to an engine result: each
    row's population (of its compared period for the latter), matched on its KPI, period
    and dimensions. A KPI describing customers whose cell has no population count gets 0
    (such a value is withheld, never shown unchecked); KPIs describing none get None."""
    columns = {"population": populations, "comparison_population": compared}
    kpis = result["kpi"].to_numpy()
    for name, found in columns.items():
        values = np.full(len(result), np.nan)
        for kpi_id, series in found.items():
            if series is None:
                continue
            rows = np.flatnonzero(kpis == kpi_id)
            if not len(rows):
                continue
            keys = result.iloc[rows][list(series.index.names)].copy()
            if name == "comparison_population":
                keys["period_start"] = keys["period_start"].map(compared_period)
            index = (
                pd.MultiIndex.from_frame(keys)
                if len(keys.columns) > 1
                else pd.Index(keys.iloc[:, 0], name=keys.columns[0])
            )
            values[rows] = np.nan_to_num(series.reindex(index).to_numpy("float64"), nan=0.0)
        result[name] = values.astype(object)
        result.loc[result[name].isna(), name] = None
