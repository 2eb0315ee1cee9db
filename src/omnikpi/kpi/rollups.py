"""Pre-aggregated atoms that dashboards read instead of the raw tables.

For every atom of the catalog, rollups hold its value per day (atoms that add up over days,
and levels read at a day's end) or per period of every grain (distinct counts, medians,
snapshots, retention), for the total and for each low-cardinality dimension the atom's source
offers. They are rebuilt after each load from the first changed day onwards, with the same
compiler as direct queries, so both give the same answers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from omnikpi.errors import ConfigError, RefreshFailed
from omnikpi.kpi.atoms import Atom, atoms_of
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compiled import CompiledQuery, cache_for
from omnikpi.kpi.compute import Computer, counted_value
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.kinds import kind_of
from omnikpi.kpi.periods import Grain, is_full, period_start
from omnikpi.kpi.plan import Planner
from omnikpi.kpi.population import population_atoms
from omnikpi.kpi.rollup_store import (
    ROLLUP_TABLES,
    ROLLUPS,
    compile_fingerprint,
    delete_rows,
    has_rollups,
    record_coverage,
    record_refresh_failure,
    record_state,
    rollup_dimensions,
    store_queries,
    stored_atoms,
    stored_queries,
)
from omnikpi.kpi.scope import Scope, column_name
from omnikpi.warehouse import Warehouse

GRAINS = tuple(Grain)
#: The order rollup rows are stored in (see `refresh_rollups`).
ROLLUP_ORDER = ("dimension", "grain", "period_start")
Progress = Callable[[str, int, int], None]


def catalog_atoms(catalog: Catalog) -> list[Atom]:
    """Every atom of every KPI of the catalog, and the population atoms small-cell
    suppression reads beside them (`omnikpi.kpi.population`), once."""
    planner = Planner(catalog)
    found: dict[str, Atom] = {}
    for kpi_id in catalog.kpis:
        tree = planner.plan(kpi_id)
        for atom in [*atoms_of(tree), *population_atoms(catalog, tree)]:
            found.setdefault(atom.key, atom)
    return list(found.values())


@dataclass
class RollupReport:
    atoms: int
    rows: int
    since: date | None


#: Compiled rollup SQL by fingerprint, kept for this process's next build of another
#: warehouse (a demo or a test builds many warehouses of one schema); a few fingerprints.
_PROCESS_QUERIES: OrderedDict[str, dict[str, CompiledQuery | None]] = OrderedDict()
_PROCESS_FINGERPRINTS = 4


def _remember(
    fingerprint: str, built: dict[str, CompiledQuery | None]
) -> dict[str, CompiledQuery | None]:
    """Add `built` to the process's SQL of `fingerprint`; returns all of it (to store)."""
    known = _PROCESS_QUERIES.setdefault(fingerprint, {})
    known.update(built)
    _PROCESS_QUERIES.move_to_end(fingerprint)
    while len(_PROCESS_QUERIES) > _PROCESS_FINGERPRINTS:
        _PROCESS_QUERIES.popitem(last=False)
    return dict(known)


def refresh_rollups(
    warehouse: Warehouse,
    catalog: Catalog,
    since: date | None = None,
    progress: Progress | None = None,
    tables: set[str] | None = None,
) -> RollupReport:
    """Rebuild rollups from `since` (all history when None), in one transaction.

    With `tables`, only atoms that read one of those tables are rebuilt; the others stay.
    The warehouse's record of changed tables is cleared for what was rebuilt.
    """
    if warehouse.time_zone != warehouse.stored_time_zone:
        raise ConfigError(
            f"rollups keep local dates of the warehouse's time zone "
            f"{warehouse.stored_time_zone}, not {warehouse.time_zone} (unset OMNIKPI_TIME_ZONE "
            "to refresh them, or change the warehouse's own with `omnikpi warehouse set`)"
        )
    warehouse.create_tables(ROLLUP_TABLES)
    engine = KpiQuery(catalog, warehouse, rollups=False)
    computer = engine.computer
    # The SQL compiled by the last refresh is used again (the shapes rarely change).
    compiled = cache_for(catalog, warehouse)
    fingerprint = compile_fingerprint(warehouse, catalog)
    # So is the SQL this process compiled for another warehouse of the same fingerprint
    # (same catalog, columns, time zone and versions: the SQL names no file).
    known_sql = {**_PROCESS_QUERIES.get(fingerprint, {}), **stored_queries(warehouse, fingerprint)}
    compiled.preload(known_sql)
    everything = catalog_atoms(catalog)
    atoms = [a for a in everything if engine.coverage(a) is not None]
    if tables is not None:
        atoms = [a for a in atoms if computer.builder.tables_read(a.source) & tables]
    known = stored_atoms(warehouse)
    # Atoms new to the rollups (a changed catalog) are built over their whole history.
    fresh = {a.key for a in atoms if a.key not in known}
    through = engine.data_through()
    dimensions = sorted({d for a in atoms for d in rollup_dimensions(catalog, a)})
    computer.prepare(
        atoms,
        dimensions,
        lambda source, sql: warehouse.temporary(f"_prepared_{source}", sql),
        _reads(computer, atoms, fresh, since, through),
    )
    groups = [
        ([a for a in atoms if a.key not in fresh], since),
        ([a for a in atoms if a.key in fresh], None),
    ]
    jobs = [
        (batch, group_since) for group, group_since in groups for batch in _batches(computer, group)
    ]
    frames: list[pa.Table] = []
    for done, (batch, batch_since) in enumerate(jobs):
        if progress:
            progress("rollups", done, len(jobs))
        frames += _build(engine, catalog, warehouse, batch, batch_since, through)
    if progress:
        progress("rollups", len(jobs), len(jobs))
    rows = pa.concat_tables(frames) if frames else None
    with warehouse.transaction():
        delete_rows(warehouse, [a.key for a in atoms], since, fresh)
        if rows is not None and rows.num_rows:
            # Stored in the order the reader selects them by, so that reading a dashboard
            # scans the few row groups of its dimension and dates (DuckDB skips the others
            # by their min/max) rather than the whole table: 5 ms instead of 21 on a demo.
            warehouse.append(ROLLUPS.name, rows, ROLLUPS, ROLLUP_ORDER)
        record_state(warehouse, atoms, {a.key for a in everything})
        record_coverage(warehouse, engine.known_coverage())
        store_queries(warehouse, fingerprint, _remember(fingerprint, compiled.built()))
        if tables is None or not set(warehouse.changed_tables()) - tables:
            warehouse.run_sql("DELETE FROM kpi_refresh_failure")
        warehouse.clear_changes(tables)
    return RollupReport(len(atoms), 0 if rows is None else rows.num_rows, since)


def refresh_changes(warehouse: Warehouse, catalog: Catalog) -> RollupReport | None:
    """Refresh the rollups of atoms reading tables changed since the last refresh (the
    warehouse records them with each load), from the earliest change.

    Warehouses without rollups are left alone (build them with `omnikpi kpi refresh`).
    """
    changed = warehouse.changed_tables()
    if not changed or not has_rollups(warehouse):
        return None
    dates = list(changed.values())
    since = None if any(d is None for d in dates) else min(d for d in dates if d is not None)
    try:
        return refresh_rollups(warehouse, catalog, since, tables=set(changed))
    except Exception as exc:
        # The changes stay marked: readers compute the KPIs of those tables directly.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        record_refresh_failure(warehouse, list(changed), reason)
        raise RefreshFailed(
            f"the KPI rollups of {', '.join(sorted(changed))} could not be refreshed "
            f"({reason}); the data is loaded and dashboards compute those KPIs from it "
            "directly until `omnikpi kpi refresh` succeeds"
        ) from exc


def _build(
    engine: KpiQuery,
    catalog: Catalog,
    warehouse: Warehouse,
    batch: list[Atom],
    since: date | None,
    through: date,
) -> list[pa.Table]:
    """Rollup rows of one batch of atoms (one source) for the grains each needs, the total
    and each rollup dimension."""
    computer = engine.computer
    first = _first_day(engine, batch, since)
    if first is None or first > through:
        return []
    grains = sorted({g for a in batch for g in _grains(a)}, key=lambda g: g.order)
    dims = rollup_dimensions(catalog, batch[0])
    tables = []
    if all(computer.settable(a) for a in batch):
        for start, group in _grain_groups(grains, first, through):
            fetch = warehouse.fetch_frame
            frames = computer.compute_sets(batch, group, start, through, dims, fetch)
            for (grain, dim), frame in frames.items():
                scope = Scope(grain, period_start(first, grain), through, (dim,) if dim else ())
                members = [a for a in batch if grain in _grains(a)]
                frame = frame[frame["period_start"] >= scope.start]
                tables.append(_long(frame, members, grain, dim, scope))
        return tables
    for grain in grains:
        for dim in ["", *dims]:
            scope = Scope(grain, period_start(first, grain), through, (dim,) if dim else ())
            tables.append(_long(computer.compute(batch, scope), batch, grain, dim, scope))
    return tables


def _batches(computer: Computer, atoms: Sequence[Atom]) -> list[list[Atom]]:
    """Atoms `compute_sets` handles, grouped by source, time and counted expression; atoms
    of a kind with a batch key (funnels of one unit) by that key; the others one by one."""
    groups: dict[tuple[object, ...], list[Atom]] = {}
    others: list[list[Atom]] = []
    for atom in atoms:
        key = kind_of(atom).batch_key
        if computer.settable(atom):
            # Atoms stored by day only apart from those stored for every grain: a batch
            # takes the grains of all its atoms, five times the grouping sets. Distinct
            # counts of one expression apart from the rest, to be counted in two steps
            # (see `Computer.compute_sets`).
            grains = _grains(atom)
            counted = counted_value([atom])
            shared = ("sets", atom.source, atom.text("time"), grains, counted)
            groups.setdefault(shared, []).append(atom)
        elif key is not None:
            groups.setdefault((atom.kind, *key(atom)), []).append(atom)
        else:
            others.append([atom])
    return [*groups.values(), *others]


def _reads(
    computer: Computer, atoms: Sequence[Atom], fresh: set[str], since: date | None, through: date
) -> dict[str, tuple[tuple[str, ...], Scope]]:
    """The days each source's atoms read when rebuilt from `since`, for
    `Computer.prepare`: their time expressions and the days from the earliest day any of
    their periods from `since` reads. Atoms whose query reads every earlier row build their
    source apart; sources of an atom built from scratch, and all without `since`, are
    read in full."""
    if since is None:
        return {}
    by_source: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_source.setdefault(atom.source, []).append(atom)
    reads: dict[str, tuple[tuple[str, ...], Scope]] = {}
    for source, members in by_source.items():
        if any(a.key in fresh for a in members):
            continue
        bounded = [a for a in members if not kind_of(a).reads_history]
        if not bounded:
            continue
        times = sorted({a.text("time") or computer.source_time(source) for a in bounded})
        first = min(
            kind_of(a).reads_from(a, period_start(since, g), g) for a in bounded for g in _grains(a)
        )
        reads[source] = (tuple(times), Scope(Grain.DAY, first, through))
    return reads


def _grain_groups(
    grains: Sequence[Grain], first: date, through: date
) -> list[tuple[date, list[Grain]]]:
    """Grains grouped into GROUPING SETS queries, each reading from its earliest period's
    start: a grain whose periods from `first` start much later than another's (a day after
    a one-day load, against its year) is read on its own, over its shorter range; grains
    whose ranges are at least half as long as the group's join it.

    >>> day = date(2026, 10, 31)
    >>> [" ".join(g.value for g in gs) for _, gs in _grain_groups(GRAINS, day, day)]
    ['year', 'month quarter', 'week', 'day']
    """
    starts = sorted((period_start(first, g), g.order, g) for g in grains)
    groups: list[tuple[date, list[Grain]]] = []
    for start, _, grain in starts:
        if groups and 2 * ((through - start).days + 1) >= (through - groups[-1][0]).days + 1:
            groups[-1][1].append(grain)
        else:
            groups.append((start, [grain]))
    return groups


def _grains(atom: Atom) -> tuple[Grain, ...]:
    """Day rows for atoms that add up over days or are read at a day's end, else every grain."""
    return (Grain.DAY,) if kind_of(atom).rollup(atom) in ("sum", "last") else GRAINS


def _first_day(engine: KpiQuery, atoms: Sequence[Atom], since: date | None) -> date | None:
    starts = [c[0] for c in (engine.coverage(a) for a in atoms) if c is not None]
    if not starts:
        return None
    first = min(starts)
    return max(first, since) if since else first


def _long(
    frame: pd.DataFrame, atoms: Sequence[Atom], grain: Grain, dimension: str, scope: Scope
) -> pa.Table:
    """Wide atom columns -> rollup rows (full periods only for per-period atoms), in one
    reshape of the whole frame."""
    names: dict[str, tuple[str, str, bool]] = {}
    for atom in atoms:
        by_period = kind_of(atom).rollup(atom) == "period"
        for part in kind_of(atom).parts:
            column = column_name(atom, part)
            if column in frame.columns:
                names[column] = (atom.key, part, by_period)
    schema = ROLLUPS.arrow_schema()
    if not names or frame.empty:
        return pa.Table.from_pylist([], schema=schema)
    values = frame[list(names)].to_numpy(dtype="float64", na_value=np.nan)
    rows, columns = np.nonzero(~np.isnan(values))
    listed = list(names.values())
    per_period = np.array([by_period for _, _, by_period in listed], dtype=bool)[columns]
    if per_period.any() and grain is not Grain.DAY:
        full = [p.start for p in scope.periods if is_full(p, grain)]
        whole = frame["period_start"].isin(full).to_numpy(dtype=bool)[rows]
        kept = ~per_period | whole
        rows, columns = rows[kept], columns[kept]
    # Columns of the frame's rows and of the atoms' parts, taken for each stored value.
    starts = pa.array(frame["period_start"].to_numpy(dtype=object), pa.date32())
    labels = pa.nulls(len(frame), pa.string())
    if dimension:
        text = frame[dimension].astype("string")
        labels = pa.array(text, pa.string(), from_pandas=True)
    data = {
        "atom": pa.array([a for a, _, _ in listed], pa.string()).take(columns),
        "grain": pa.repeat(grain.value, len(rows)),
        "period_start": starts.take(rows),
        "dimension": pa.repeat(dimension, len(rows)),
        "dimension_value": labels.take(rows),
        "part": pa.array([p for _, p, _ in listed], pa.string()).take(columns),
        "value": pa.array(values[rows, columns], pa.float64()),
    }
    return pa.Table.from_pydict(
        {name: data[name].cast(schema.field(name).type) for name in schema.names}, schema=schema
    )
