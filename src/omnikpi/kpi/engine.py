"""The KPI query API: KPIs x grain x date range x dimensions x filters, with comparison and
targets, as one long table.

>>> query(["revenue", "aov"], "month", "2025-01-01", "2025-03-31", by=["channel"],
...       compare="yoy", warehouse="omnikpi.duckdb")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.errors import ConfigError
from omnikpi.kpi.atoms import Atom, Negate, Node, Op, Share, atoms_of, base_of, shares_of
from omnikpi.kpi.catalog import Catalog, load_catalog
from omnikpi.kpi.compute import Computer
from omnikpi.kpi.domains import data_values, declared_values, unknown_value
from omnikpi.kpi.evaluate import Evaluator
from omnikpi.kpi.kinds import kind_of
from omnikpi.kpi.periods import (
    Grain,
    check_comparison,
    compared_range,
    period_days,
    period_end,
    shift,
)
from omnikpi.kpi.plan import Planner
from omnikpi.kpi.population import add_populations, population_of, population_terms
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.rollup_reader import RollupReader
from omnikpi.kpi.scope import Scope, join_atom_frames
from omnikpi.kpi.sources import SourceMissing, base_table, tables_read
from omnikpi.kpi.targets import allowed_dimensions, load_targets
from omnikpi.settings import Settings, load_settings
from omnikpi.warehouse import Tables, Warehouse

#: The columns of a result, the breakdown dimensions going after period_start.
COLUMNS = [
    "kpi",
    "period_start",
    "value",
    "comparison_value",
    "change",
    "change_type",
    "target",
    "status",
    "base",
]
#: The dtype of values (a dtype object: pandas looks a string up in its registry each time).
FLOAT = np.dtype("float64")
#: Sources whose latest date says how fresh the warehouse is.
THROUGH_SOURCES = ("orders", "sessions", "marketing", "tickets", "inventory")
Filters = Mapping[str, str | Sequence[str]]
#: Results up to this many rows match their targets in a dict (building the indexes of
#: the vectorised match costs more than looking a hundred rows up).
_SMALL = 5_000


def query(
    ids: str | Sequence[str],
    grain: str | Grain,
    start: str | date,
    end: str | date,
    *,
    warehouse: str | Path | Warehouse | None = None,
    settings: Settings | None = None,
    catalog: Catalog | None = None,
    engine: Tables | None = None,
    rollups: bool = True,
    **parts: Any,
) -> pd.DataFrame:
    """KPI values as a long table: kpi, period_start, <dims>, value, comparison_value, change,
    change_type, target, status.

    `start` and `end` are inclusive local dates; `by` lists dimensions, `filters` maps
    dimensions to a value or a list of values, `compare` is None, "previous" or "yoy" (the
    parts of `KpiRequest.parse`). A value of NaN means no data.
    """
    request = KpiRequest.parse(ids, grain, start, end, **parts)
    settings = settings or load_settings(
        warehouse=warehouse if isinstance(warehouse, str | Path) else None
    )
    catalog = catalog or load_catalog(settings.catalog_dirs)
    tables = engine if engine is not None else warehouse
    if tables is not None and not isinstance(tables, str | Path):
        return KpiQuery(catalog, tables, settings, rollups).answer(request)
    with Warehouse.open(settings.warehouse, read_only=True, overrides=settings.overrides) as opened:
        return KpiQuery(catalog, opened, settings, rollups).answer(request)


class KpiQuery:
    """Runs KPI queries on one engine; reusable across queries."""

    def __init__(
        self,
        catalog: Catalog,
        engine: Tables,
        settings: Settings | None = None,
        rollups: bool = True,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.settings = settings or load_settings()
        self.planner = Planner(catalog)
        self.computer = Computer(catalog, engine, engine.execute)
        self.use_rollups = rollups
        self._coverage: dict[tuple[str, str | None], tuple[date, date] | None] = {}
        self._declared: dict[str, list[str] | None] = {}
        self._seen: dict[tuple[str, frozenset[str]], set[str]] = {}
        self._data_through: date | None = None
        self.reader = RollupReader(catalog, engine) if rollups else None
        if self.reader is not None:
            stale = self.reader.stale
            for (source, time), found in self.reader.coverage().items():
                # A source reading a table changed since the refresh has new dates: its
                # coverage is found again, as its atoms are computed directly.
                if source in catalog.sources and stale & self.computer.builder.tables_read(source):
                    continue
                self._coverage[(source, time or None)] = found

    # -- validation ---------------------------------------------------------------------------
    def validate(self, request: KpiRequest) -> Scope:
        """The scope of a request; errors for KPIs, grains, dimensions and filter values
        the catalog or the data do not have."""
        for kpi_id in request.kpis:
            kpi = self.catalog.get(kpi_id)
            if request.grain.order < kpi.min_grain.order:
                raise ConfigError(
                    f'KPI "{kpi_id}" is reported at {kpi.min_grain.value} grain or '
                    f"coarser (not {request.grain.value})"
                )
            allowed = self.dimensions(kpi_id)
            for dim in [*request.by, *(name for name, _ in request.filters)]:
                if dim not in allowed:
                    raise ConfigError(
                        f'dimension "{dim}" is not allowed for KPI "{kpi_id}" '
                        f"(allowed: {', '.join(sorted(allowed)) or 'none'})"
                    )
        for dim, values in request.filters:
            self.check_values(dim, values, request.kpis)
        if request.compare is not None:
            check_comparison(request.compare, request.grain)
        return Scope(request.grain, request.start, request.end, request.by, request.filters)

    def check_values(self, dimension: str, values: Sequence[str], kpi_ids: Sequence[str]) -> None:
        """UnknownValue for the first of `values` that `dimension` does not have (neither
        among its declared values nor in the rows of these KPIs)."""
        declared = self._declared.get(dimension)
        if dimension not in self._declared:
            declared = self._declared[dimension] = declared_values(
                self.catalog, self.engine, dimension
            )
        missing = [v for v in values if declared is None or v not in declared]
        if not missing:
            return
        sources = frozenset(a.source for k in kpi_ids for a in atoms_of(self.planner.plan(k)))
        key = (dimension, sources)
        if key not in self._seen:
            self._seen[key] = set(data_values(self.catalog, self.engine, dimension, sources))
        valid = sorted(set(declared or ()) | self._seen[key])
        for value in missing:
            if value not in valid:
                raise unknown_value(dimension, value, valid)

    def dimensions(self, kpi_id: str) -> set[str]:
        """Dimensions `kpi_id` may be sliced and filtered by."""
        allowed = allowed_dimensions(self.catalog, kpi_id)
        return allowed | set(shares_of(self.planner.plan(kpi_id)))

    # -- running ------------------------------------------------------------------------------
    def run(
        self, ids: str | Sequence[str], grain: str | Grain, start: str | date, end: str | date,
        **parts: Any,
    ) -> pd.DataFrame:  # fmt: skip
        """`answer` to the request of these parts (see `KpiRequest.parse`)."""
        return self.answer(KpiRequest.parse(ids, grain, start, end, **parts))

    def answer(self, request: KpiRequest) -> pd.DataFrame:
        """The long table of a request's KPI values."""
        return self.answer_many([request])[0]

    def answer_many(self, requests: Sequence[KpiRequest]) -> list[pd.DataFrame]:
        """`answer` to each request, the atoms of all of them read together (a KPI detail's
        trend, breakdown and compared breakdown in one pass over the warehouse).

        >>> trend, split = engine.answer_many([trend_request, breakdown_request])  # doctest: +SKIP
        """
        plans = [self._plan(request) for request in requests]
        evaluator = self._evaluator_of(
            [(r.kpis, scopes) for r, (_, scopes, _) in zip(requests, plans, strict=True)],
            [
                (r.kpis, scopes)
                for r, (_, scopes, _) in zip(requests, plans, strict=True)
                if r.population
            ],
        )
        targets = self._targets_of(
            [(r.kpis, scope) for r, (scope, _, _) in zip(requests, plans, strict=True)]
        )
        return [
            self._answer(request, evaluator, scopes, mapping, targets)
            for request, (_, scopes, mapping) in zip(requests, plans, strict=True)
        ]

    def _targets_of(
        self, wanted: Sequence[tuple[Sequence[str], Scope]]
    ) -> dict[Grain, pd.DataFrame]:
        """The targets the answers to these (KPIs, scope) pairs can match, read once per
        grain (every period and dimension any of them reads)."""
        by_grain: dict[Grain, list[tuple[Sequence[str], Scope]]] = {}
        for kpi_ids, scope in wanted:
            if _target_dimension(scope) is not None:
                by_grain.setdefault(scope.grain, []).append((kpi_ids, scope))
        found = {}
        for grain, pairs in by_grain.items():
            kpis = list(dict.fromkeys(k for ids, _ in pairs for k in ids))
            first = min(s.periods[0].start for _, s in pairs)
            last = max(s.end for _, s in pairs)
            dimensions = {_target_dimension(s) for _, s in pairs}
            dimension = dimensions.pop() if len(dimensions) == 1 else None
            found[grain] = load_targets(self.engine, kpis, grain, (first, last), dimension)
        return found

    def _plan(self, request: KpiRequest) -> tuple[Scope, list[Scope], dict[date, date]]:
        """A checked request's scope, the scopes it reads (its own, and the compared
        periods') and the period each of its periods is compared with."""
        scope = self.validate(request)
        scopes = [scope]
        mapping: dict[date, date] = {}
        if request.compare is not None:
            first, last = compared_range(scope.start, scope.end, scope.grain, request.compare)
            scopes.append(Scope(scope.grain, first, last, scope.by, scope.filters))
            mapping = {p.start: shift(p.start, scope.grain, request.compare) for p in scope.periods}
        return scope, scopes, mapping

    def _answer(
        self,
        request: KpiRequest,
        evaluator: Evaluator,
        scopes: list[Scope],
        mapping: dict[date, date],
        targets: Mapping[Grain, pd.DataFrame],
    ) -> pd.DataFrame:
        scope = scopes[0]
        kpi_ids = list(request.kpis)
        trees = {k: self.planner.plan(k) for k in kpi_ids}
        values, *compared = [
            {k: evaluator.evaluate(tree, s) for k, tree in trees.items()} for s in scopes
        ]
        bases = {
            k: evaluator.evaluate(node, scope)
            for k, node in ((k, base_of(tree)) for k, tree in trees.items())
            if node is not None
        }
        result = self._assemble(
            kpi_ids,
            scope,
            values,
            compared[0] if compared else {},
            mapping,
            bases,
            targets.get(scope.grain),
        )
        if request.parts:
            _add_parts(result, {k: evaluator.parts(tree, scope) for k, tree in trees.items()})
        if request.population:
            terms = {k: population_terms(self.catalog, tree) for k, tree in trees.items()}
            populations, *compared_populations = [
                {k: population_of(evaluator, found, s) for k, found in terms.items()}
                for s in scopes
            ]
            add_populations(
                result,
                populations,
                compared_populations[0] if compared_populations else {},
                mapping,
            )
        return result

    def values(self, kpi_ids: list[str], scopes: Sequence[Scope]) -> list[dict[str, pd.Series]]:
        """Each KPI's values for each scope (index: period_start, dimensions); the atoms of
        all scopes are read together."""
        evaluator = self._evaluator(kpi_ids, scopes)
        trees = {k: self.planner.plan(k) for k in kpi_ids}
        return [{k: evaluator.evaluate(t, scope) for k, t in trees.items()} for scope in scopes]

    def _evaluator(self, kpi_ids: list[str], scopes: Sequence[Scope]) -> Evaluator:
        """An evaluator over the atoms every KPI needs in every scope, read together."""
        return self._evaluator_of([(kpi_ids, scopes)])

    def _evaluator_of(
        self,
        wanted: Sequence[tuple[Sequence[str], Sequence[Scope]]],
        populations: Sequence[tuple[Sequence[str], Sequence[Scope]]] = (),
    ) -> Evaluator:
        """An evaluator over the atoms each group of KPIs needs in its scopes, and the
        population atoms of the groups in `populations`, all read together."""
        needed: dict[Scope, dict[str, Atom]] = {}
        for kpi_ids, scopes in wanted:
            trees = [self.planner.plan(k) for k in kpi_ids]
            for scope in scopes:
                for tree in trees:
                    _scoped_atoms(tree, scope, needed)
        for kpi_ids, scopes in populations:
            for kpi_id in kpi_ids:
                for term in population_terms(self.catalog, self.planner.plan(kpi_id)):
                    for scope in scopes:
                        needed.setdefault(term.scope(scope), {})[term.atom.key] = term.atom
        frames = self._compute_all({s: list(atoms.values()) for s, atoms in needed.items()})

        def frame_for(s: Scope) -> pd.DataFrame:
            if s not in frames:
                frames[s] = self._compute_all({s: []})[s]
            return frames[s]

        return Evaluator(frame_for, self.coverage)

    def coverage(self, atom: Atom) -> tuple[date, date] | None:
        """Dates the atom's source has data for. Levels (balances, open tickets, subscribers)
        hold until the warehouse's latest data, not just until the source's last row."""
        found = self._source_coverage(atom.source, atom.text("time"))
        if found is not None and kind_of(atom).rollup(atom) == "last":
            return found[0], max(found[1], self.data_through())
        return found

    def covers(self, kpi_id: str, grain: Grain, starts: Sequence[date]) -> bool:
        """Whether the data covers everything the KPI's values for the periods of `grain`
        starting on `starts` read (a trailing window and a retention rate reach back)."""
        for atom in atoms_of(self.planner.plan(kpi_id)):
            coverage = self.coverage(atom)
            if coverage is None:
                return False
            reads_from = kind_of(atom).reads_from
            for start in starts:
                if reads_from(atom, start, grain) < coverage[0]:
                    return False
                if period_end(start, grain) > coverage[1]:
                    return False
        return True

    def missing_tables(self, kpi_id: str) -> tuple[str, ...]:
        """The tables without data that `kpi_id` reads — it has no value until they are
        loaded (or written, for model outputs such as customer_scores); () when it has data.

        >>> engine.missing_tables("clv")  # doctest: +SKIP
        ('customer_scores',)
        """
        found: dict[str, None] = {}
        for atom in atoms_of(self.planner.plan(kpi_id)):
            if self.coverage(atom) is None:
                read = sorted(tables_read(self.catalog, atom.source, required=True))
                absent = [t for t in read if not self.engine.has_table(t)]
                found.update(dict.fromkeys(absent or [base_table(self.catalog, atom.source)]))
        return tuple(found)

    def data_through(self) -> date:
        """The latest local date with data in the warehouse's main fact tables."""
        if self._data_through is None:
            latest = [
                c[1]
                for c in (
                    self._source_coverage(s, None)
                    for s in THROUGH_SOURCES
                    if s in self.catalog.sources
                )
                if c is not None
            ]
            self._data_through = max(latest) if latest else date.min
        return self._data_through

    def known_coverage(self) -> dict[tuple[str, str | None], tuple[date, date] | None]:
        """Coverage found so far, by (source, time expression)."""
        return dict(self._coverage)

    def _source_coverage(self, source: str, time: str | None) -> tuple[date, date] | None:
        key = (source, time)
        if key not in self._coverage:
            try:
                self._coverage[key] = self.computer.coverage(source, time)
            except SourceMissing:
                self._coverage[key] = None
        return self._coverage[key]

    def _compute_all(self, needed: dict[Scope, list[Atom]]) -> dict[Scope, pd.DataFrame]:
        """Each scope's atoms: from rollups where they hold the answer (read together),
        the rest directly."""
        reader = self.reader
        rolled: dict[Scope, list[Atom]] = {}
        direct: dict[Scope, list[Atom]] = {}
        for scope, atoms in needed.items():
            available = [a for a in atoms if self.coverage(a) is not None]
            rolled[scope] = [
                a for a in available if reader and reader.dimension_for(a, scope) is not None
            ]
            direct[scope] = [a for a in available if a not in rolled[scope]]
        scopes = [s for s, atoms in rolled.items() if atoms]
        from_rollups: dict[Scope, pd.DataFrame] = {}
        if scopes and reader is not None:
            read = reader.read_many([(rolled[s], s) for s in scopes])
            from_rollups = dict(zip(scopes, read, strict=True))
        frames: dict[Scope, pd.DataFrame] = {}
        for scope in needed:
            parts = [from_rollups[scope]] if scope in from_rollups else []
            if direct[scope] or not parts:
                parts.append(self.computer.compute(direct[scope], scope))
            frames[scope] = join_atom_frames(parts, ["period_start", *scope.by])
        return frames

    def _assemble(
        self,
        kpi_ids: list[str],
        scope: Scope,
        values: dict[str, pd.Series],
        comparison: dict[str, pd.Series],
        compared_period: dict[date, date],
        bases: dict[str, pd.Series],
        targets: pd.DataFrame | None,
    ) -> pd.DataFrame:
        """The long result table; `comparison` holds values of the periods that
        `compared_period` maps each period to, `bases` the sample size of rate KPIs,
        `targets` those the rows can match."""
        dims = list(scope.by)
        for kpi_id in kpi_ids:
            dims += [d for d in shares_of(self.planner.plan(kpi_id)) if d not in dims]
        columns: dict[str, list[np.ndarray]] = {
            name: [] for name in ["period_start", *dims, "value", "comparison_value", "base"]
        }
        # KPIs share their indexes (one per scope and set of dimensions): what depends on an
        # index only — its levels as arrays, its compared periods, where its rows are in
        # another index — is found once per index, not once per KPI.
        levels: dict[tuple[int, str], np.ndarray] = {}
        shifted: dict[int, pd.Index] = {}
        found = _Positions()
        sizes = []
        for kpi_id in kpi_ids:
            series = values[kpi_id]
            index = series.index
            size = len(series)
            sizes.append(size)
            for name in ["period_start", *dims]:
                if (id(index), name) not in levels:
                    levels[id(index), name] = (
                        index.get_level_values(name).to_numpy(dtype=object)
                        if name in index.names
                        else np.full(size, None, dtype=object)
                    )
                columns[name].append(levels[id(index), name])
            columns["value"].append(series.to_numpy(dtype=FLOAT))
            if kpi_id in comparison:
                if id(index) not in shifted:
                    shifted[id(index)] = _shifted(index, compared_period)
                columns["comparison_value"].append(
                    found.take(comparison[kpi_id], shifted[id(index)])
                )
            else:
                columns["comparison_value"].append(np.full(size, np.nan))
            columns["base"].append(
                found.take(bases[kpi_id], index)
                if kpi_id in bases and list(bases[kpi_id].index.names) == list(index.names)
                else np.full(size, np.nan)
            )
        specs = [self.catalog.get(k) for k in kpi_ids]
        result = pd.DataFrame(
            {
                "kpi": np.repeat(np.array(kpi_ids, dtype=object), sizes),
                **{name: np.concatenate(parts) if parts else [] for name, parts in columns.items()},
            }
        )
        self._targets(result, kpi_ids, scope, targets)
        comparison_value = result["comparison_value"].to_numpy(dtype=FLOAT)
        value = result["value"].to_numpy(dtype=FLOAT)
        change_type = np.repeat(np.array([k.change_type for k in specs], dtype=object), sizes)
        result["change_type"] = change_type
        difference = value - comparison_value
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = difference / np.where(
                comparison_value != 0, np.abs(comparison_value), np.nan
            )
        result["change"] = np.where(change_type == "points", difference, relative)
        ordered = [*COLUMNS[:2], *dims, *COLUMNS[2:]]
        result["_kpi_order"] = np.repeat(np.arange(len(kpi_ids)), sizes)
        result = result.sort_values(
            ["_kpi_order", "period_start", *dims], kind="stable", na_position="last"
        )
        return result[ordered].replace({np.nan: None}).reset_index(drop=True)

    def _targets(
        self,
        result: pd.DataFrame,
        kpi_ids: list[str],
        scope: Scope,
        targets: pd.DataFrame | None,
    ) -> None:
        """Sets each row's target and status in `result` (columns kpi, period_start,
        value, base) from `targets` (`_targets_of`; None: none apply): a rate over fewer
        units than `Settings.min_base` gets no status. Computed over whole columns (a
        day-by-channel grid has ~100,000 rows)."""
        default = self.settings.target_tolerance
        size = len(result)
        labels = _dimension_label(result, scope)
        target = np.full(size, np.nan)
        tolerance = np.full(size, default)
        if targets is not None and len(targets) and size <= _SMALL:
            # A dashboard's hundred rows: looked up in a dict of the targets (the last row
            # of a (kpi, period, dimension) wins).
            at = {
                key: n
                for n, key in enumerate(
                    zip(
                        targets["kpi"].astype(str).tolist(),
                        targets["period_start"].tolist(),
                        targets["dimension"].astype(str).tolist(),
                        strict=True,
                    )
                )
            }
            wanted = zip(
                result["kpi"].tolist(),
                result["period_start"].tolist(),
                labels.tolist(),
                strict=True,
            )
            found = np.array(
                [at.get(k, -1) if isinstance(k[2], str) else -1 for k in wanted], dtype=np.int64
            )  # typed: no rows (a day with no data) must still index
            hit = found >= 0
            target[hit] = targets["target"].to_numpy(FLOAT)[found[hit]]
            own = pd.to_numeric(targets["tolerance"], errors="coerce").to_numpy(FLOAT)
            tolerance[hit] = np.where(np.isnan(own[found[hit]]), default, own[found[hit]])
        elif targets is not None and len(targets) and size:
            # The last row of a (kpi, period, dimension) wins, as in a dict built in order.
            stored = targets.drop_duplicates(["kpi", "period_start", "dimension"], keep="last")
            keys = pd.MultiIndex.from_arrays(
                [
                    stored["kpi"].astype(str),
                    stored["period_start"],
                    stored["dimension"].astype(str),
                ]
            )
            rows = pd.MultiIndex.from_arrays([result["kpi"], result["period_start"], labels])
            found = keys.get_indexer(rows)
            hit = (found >= 0) & labels.notna().to_numpy()
            target[hit] = stored["target"].to_numpy("float64")[found[hit]]
            own = pd.to_numeric(stored["tolerance"], errors="coerce").to_numpy("float64")
            tolerance[hit] = np.where(np.isnan(own[found[hit]]), default, own[found[hit]])
        # Per-KPI settings spread over the rows by each row's KPI code (no row is hashed).
        codes, ids = pd.factorize(result["kpi"])
        specs = [self.catalog.get(str(k)) for k in ids]
        pacing = np.array([k.pacing for k in specs], dtype=object)[codes]
        whole = np.array([k.unit in ("count", "currency") for k in specs], dtype=bool)[codes]
        up = np.array([k.direction == "up" for k in specs], dtype=bool)[codes]
        partial_periods = _elapsed(scope)
        elapsed = (
            result["period_start"].map(partial_periods).fillna(1.0).to_numpy("float64")
            if partial_periods
            else np.ones(size)
        )
        partial = (elapsed < 1.0) & ~np.isnan(target) & (pacing != "as_is")
        prorated = partial & (pacing == "prorate")
        # Counts and money stay whole when paced: 2,580 visits, not 2,579.5.
        paced = np.where(whole, np.round(target * elapsed), target * elapsed)
        target = np.where(prorated, paced, target)
        rated = ~(partial & ~prorated)  # a KPI that cannot be paced waits for the period
        shown = target.astype(object)
        shown[np.isnan(target)] = None
        for row in np.flatnonzero(prorated & whole):
            shown[row] = int(target[row])
        result["target"] = shown
        value = result["value"].to_numpy("float64")
        gap = np.where(up, value - target, target - value)
        band = np.abs(target) * tolerance
        with np.errstate(invalid="ignore"):
            found_status = np.where(gap >= 0, "green", np.where(gap >= -band, "amber", "red"))
        small = (result["base"] < self.settings.min_base).to_numpy(bool)
        withheld = np.isnan(value) | np.isnan(target) | ~rated | small
        statuses = found_status.astype(object)
        statuses[withheld] = None
        result["status"] = statuses


class _Positions:
    """A series' values at the labels of another index, the positions found once per pair
    of indexes (every KPI of a scope has the same index)."""

    def __init__(self) -> None:
        # (id(source), id(target)) -> (source, target: kept so their ids stay theirs; positions)
        self._found: dict[tuple[int, int], tuple[pd.Index, pd.Index, np.ndarray]] = {}

    def take(self, series: pd.Series, labels: pd.Index) -> np.ndarray:
        """`series.reindex(labels)` as floats (NaN where a label is missing).

        >>> _Positions().take(pd.Series([1.0, 2.0], index=["a", "b"]), pd.Index(["b", "c"]))
        array([ 2., nan])
        """
        key = (id(series.index), id(labels))
        if key not in self._found:
            if series.index.has_duplicates:
                raise ValueError("cannot reindex on an axis with duplicate labels")
            self._found[key] = (series.index, labels, series.index.get_indexer(labels))
        positions = self._found[key][2]
        stored = series.to_numpy(dtype=FLOAT)
        if not len(stored):
            return np.full(len(labels), np.nan)
        taken: np.ndarray = np.where(positions >= 0, stored[positions], np.nan)
        return taken


def _elapsed(scope: Scope) -> dict[date, float]:
    """The share of each period cut by the range that lies inside it (12 of 31 days:
    12/31); whole periods are left out (1)."""
    shares = {}
    for period in scope.periods:
        days = period_days(period.start, scope.grain)
        inside = (period.last - period.first).days + 1
        if inside < days:
            shares[period.start] = inside / days
    return shares


def _add_parts(result: pd.DataFrame, parts: dict[str, tuple[pd.Series, pd.Series] | None]) -> None:
    """Adds `numerator` and `denominator` columns (the parts of ratio KPIs; empty for
    others) after `value`, matched on each row's KPI, period and dimensions."""
    numerators = np.full(len(result), np.nan)
    denominators = np.full(len(result), np.nan)
    for kpi_id, found in parts.items():
        if found is None:
            continue
        rows = np.flatnonzero(result["kpi"].to_numpy() == kpi_id)
        names = list(found[0].index.names)
        index = pd.MultiIndex.from_frame(result.iloc[rows][names]) if len(names) > 1 else (
            pd.Index(result.iloc[rows][names[0]], name=names[0])
        )  # fmt: skip
        numerators[rows] = found[0].reindex(index).to_numpy(dtype="float64")
        denominators[rows] = found[1].reindex(index).to_numpy(dtype="float64")
    at = list(result.columns).index("value") + 1
    result.insert(at, "numerator", numerators)
    result.insert(at + 1, "denominator", denominators)
    result[["numerator", "denominator"]] = result[["numerator", "denominator"]].astype(object)
    result.loc[result["numerator"].isna(), "numerator"] = None
    result.loc[result["denominator"].isna(), "denominator"] = None


def _target_dimension(scope: Scope) -> str | None:
    """The targets a scope's rows can match: totals (""), the values of one dimension
    ("store": a split by it, or a filter on one of its values), or None when no target
    applies (several dimensions or values)."""
    if not scope.by and not scope.filters:
        return ""
    if not scope.by and len(scope.filters) == 1 and len(scope.filters[0][1]) == 1:
        return scope.filters[0][0]
    if len(scope.by) == 1 and not scope.filters:
        return scope.by[0]
    return None


def _dimension_label(frame: pd.DataFrame, scope: Scope) -> pd.Series:
    """The target `dimension` each row matches: '' for totals, 'name=value' for one slice,
    None where no target applies (several dimensions or values)."""
    name = _target_dimension(scope)
    if name is None or name == "":
        return pd.Series(name, index=frame.index, dtype=object)
    if scope.by:
        return (f"{name}=" + frame[name].astype(str)).astype(object)
    return pd.Series(f"{name}={scope.filters[0][1][0]}", index=frame.index, dtype=object)


def _shifted(index: pd.Index, mapping: dict[date, date]) -> pd.Index:
    """`index` with each period replaced by the period it is compared with."""
    if not isinstance(index, pd.MultiIndex):
        single: pd.Index = pd.Index([mapping.get(s) for s in index], name="period_start")
        return single
    # Map each distinct period once (a level), not every row.
    level = index.names.index("period_start")
    codes = index.codes[level]
    starts = np.array([mapping.get(s) for s in index.levels[level]] + [None], dtype=object)
    levels = [
        starts[codes] if i == level else index.get_level_values(i) for i in range(index.nlevels)
    ]
    shifted: pd.Index = pd.MultiIndex.from_arrays(levels, names=index.names)
    return shifted


def _scoped_atoms(node: Node, scope: Scope, needed: dict[Scope, dict[str, Atom]]) -> None:
    """Which atoms each scope needs (shares need their own finer and unfiltered scopes)."""
    if isinstance(node, Share):
        for shared in scope.share_scopes(node.of):
            _scoped_atoms(node.node, shared, needed)
    elif isinstance(node, Op):
        _scoped_atoms(node.left, scope, needed)
        _scoped_atoms(node.right, scope, needed)
    elif isinstance(node, Negate):
        _scoped_atoms(node.operand, scope, needed)
    else:
        for atom in atoms_of(node):
            needed.setdefault(scope, {})[atom.key] = atom
