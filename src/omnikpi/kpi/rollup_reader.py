"""Reading rollups: which atoms and scopes they can answer, and the frames they hold."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import pandas as pd

from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.periods import Grain, is_full, period_start
from omnikpi.kpi.plan import Atom
from omnikpi.kpi.rollups import COVERAGE, ROLLUP_STATE, ROLLUPS, STALE, rollup_dimensions
from omnikpi.kpi.scope import Scope, column_name
from omnikpi.kpi.sources import SourceBuilder, Tables


class RollupReader:
    """Answers atoms for a scope from rollups when they hold what is needed."""

    def __init__(self, catalog: Catalog, tables: Tables) -> None:
        self.catalog = catalog
        self.tables = tables
        self.available: set[str] = set()
        self.stale: set[str] = set()
        if tables.has_table(ROLLUP_STATE.name) and tables.has_table(ROLLUPS.name):
            state = tables.execute(tables.table(ROLLUP_STATE.name).select("atom"))
            self.available = set(state["atom"])
        if self.available and tables.has_table(STALE.name):
            stale = tables.execute(tables.table(STALE.name).select("table_name"))
            self.stale = set(stale["table_name"])
        self.builder = SourceBuilder(catalog, tables)

    def coverage(self) -> dict[tuple[str, str], tuple[date, date] | None]:
        if not self.available:
            return {}
        frame = self.tables.execute(self.tables.table(COVERAGE.name))
        found: dict[tuple[str, str], tuple[date, date] | None] = {}
        for row in frame.to_dict("records"):
            first, last = _as_date(row["first_date"]), _as_date(row["last_date"])
            key = (str(row["source"]), str(row["time"]))
            found[key] = None if first is None or last is None else (first, last)
        return found

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
            if len(values) > 1 and not atom.sums_across_values:
                return None
        if atom.rollup == "period" and not all(is_full(p, scope.grain) for p in scope.periods):
            return None
        return dimension

    def read(self, atoms: Sequence[Atom], scope: Scope) -> pd.DataFrame:
        """Frame like `Computer.compute` for atoms that `dimension_for` accepted."""
        keys = ["period_start", *scope.by]
        result: pd.DataFrame | None = None
        for atom in atoms:
            frame = self._read_atom(atom, scope)
            result = frame if result is None else result.merge(frame, on=keys, how="outer")
        return result if result is not None else pd.DataFrame(columns=keys)

    def _read_atom(self, atom: Atom, scope: Scope) -> pd.DataFrame:
        dimension = self.dimension_for(atom, scope) or ""
        table = self.tables.table(ROLLUPS.name)
        periods = scope.periods
        if atom.rollup == "sum":
            grain, first, last = Grain.DAY, scope.start, scope.end
            wanted = None
        elif atom.rollup == "last":
            at_start = atom.get("at") == "start"
            # Day rows hold the level at the end of the day, or for levels read at the
            # start, at the start of the day.
            wanted = [p.first if at_start else p.last for p in periods]
            grain, first, last = Grain.DAY, min(wanted), max(wanted)
        else:
            grain, first, last = scope.grain, periods[0].start, periods[-1].start
            wanted = None
        expr = table.filter(
            (table.atom == atom.key)
            & (table.grain == grain.value)
            & (table.dimension == dimension)
            & table.period_start.between(first, last)
        )
        if wanted is not None:
            expr = expr.filter(expr.period_start.isin([ibis.literal(w) for w in wanted]))
        for _dimension, values in scope.filters:
            expr = expr.filter(expr.dimension_value.isin(list(values)))
        rows = self.tables.execute(expr.select("period_start", "dimension_value", "part", "value"))
        rows["period_start"] = [pd.Timestamp(v).date() for v in rows["period_start"]]
        if atom.rollup == "sum":
            rows["period_start"] = [period_start(d, scope.grain) for d in rows["period_start"]]
        elif atom.rollup == "last":
            label = {w: p.start for w, p in zip(wanted or [], periods, strict=True)}
            rows["period_start"] = rows["period_start"].map(label)
        group = ["period_start", *(["dimension_value"] if scope.by else []), "part"]
        summed = rows.groupby(group, dropna=False)["value"].sum()
        wide = summed.unstack("part")
        wide = wide.rename(columns={p: column_name(atom, p) for p in atom.parts}).reset_index()
        wide = wide.rename(columns={"dimension_value": scope.by[0]} if scope.by else {})
        wide.columns.name = None
        return wide


def _as_date(value: object) -> date | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    return pd.Timestamp(value).date()  # type: ignore[arg-type]
