"""Pre-aggregated atoms that dashboards read instead of the raw tables.

For every atom of the catalog, rollups hold its value per day (atoms that add up over days,
and levels read at a day's end) or per period of every grain (distinct counts, medians,
snapshots, retention), for the total and for each low-cardinality dimension the atom's source
offers. They are rebuilt after each load from the first changed day onwards, with the same
compiler as direct queries, so both give the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compute import Computer
from omnikpi.kpi.periods import Grain, is_full, period_start
from omnikpi.kpi.plan import Atom, Planner, atoms_of
from omnikpi.kpi.scope import Scope, column_name
from omnikpi.model import Column, Table
from omnikpi.warehouse import Warehouse

if TYPE_CHECKING:
    from omnikpi.kpi.engine import KpiQuery

ROLLUPS = Table(
    name="kpi_rollups",
    description="Pre-aggregated KPI atoms per grain, period and dimension value.",
    primary_key=("atom", "grain", "period_start", "dimension", "dimension_value", "part"),
    kind="system",
    group="kpi",
    columns=(
        Column("atom", "string", "Atom key (hash of its definition)."),
        Column("grain", "string", "day, week, month, quarter or year."),
        Column("period_start", "date", "First day of the period."),
        Column("dimension", "string", "Dimension, or empty for the total."),
        Column("dimension_value", "string", "Value of the dimension.", nullable=True),
        Column("part", "string", "Part of the atom (value, numerator, ...)."),
        Column("value", "float", "The atom's value."),
    ),
)
ROLLUP_STATE = Table(
    name="kpi_rollup_state",
    description="Which atoms the rollups hold, and when they were refreshed.",
    primary_key=("atom",),
    kind="system",
    group="kpi",
    columns=(
        Column("atom", "string", "Atom key."),
        Column("definition", "string", "The atom's definition (JSON)."),
        Column("refreshed_at", "timestamp", "When it was last refreshed."),
    ),
)
COVERAGE = Table(
    name="kpi_coverage",
    description="First and last local date with data per source and time column.",
    primary_key=("source", "time"),
    kind="system",
    group="kpi",
    columns=(
        Column("source", "string", "Catalog source."),
        Column("time", "string", "Time expression."),
        Column("first_date", "date", "First local date with rows.", nullable=True),
        Column("last_date", "date", "Last local date with rows.", nullable=True),
    ),
)
STALE = Table(
    name="kpi_rollup_stale",
    description="Tables with data loaded since the last rollup refresh.",
    primary_key=("table_name", "since"),
    kind="system",
    group="kpi",
    columns=(
        Column("table_name", "string", "Canonical table that changed."),
        Column("since", "date", "Earliest local date of the change; null = any.", nullable=True),
    ),
)
GRAINS = tuple(Grain)
Progress = Callable[[str, int, int], None]


def catalog_atoms(catalog: Catalog) -> list[Atom]:
    """Every atom of every KPI of the catalog, once."""
    planner = Planner(catalog)
    found: dict[str, Atom] = {}
    for kpi_id in catalog.kpis:
        for atom in atoms_of(planner.plan(kpi_id)):
            found.setdefault(atom.key, atom)
    return list(found.values())


def rollup_dimensions(catalog: Catalog, atom: Atom) -> list[str]:
    """Dimensions materialized for an atom: low-cardinality ones its source offers."""
    offered = catalog.source_dimensions(atom.source)
    return [d for d in offered if catalog.dimensions[d].rollup]


@dataclass
class RollupReport:
    atoms: int
    rows: int
    since: date | None


def refresh_rollups(
    warehouse: Warehouse,
    catalog: Catalog,
    since: date | None = None,
    progress: Progress | None = None,
    tables: set[str] | None = None,
) -> RollupReport:
    """Rebuild rollups from `since` (all history when None), in one transaction.

    With `tables`, only atoms that read one of those tables are rebuilt; the others stay.
    """
    from omnikpi.kpi.engine import KpiQuery

    warehouse.create_tables([ROLLUPS, ROLLUP_STATE, COVERAGE, STALE])
    engine = KpiQuery(catalog, warehouse, rollups=False)
    computer = engine.computer
    everything = catalog_atoms(catalog)
    atoms = [a for a in everything if engine.coverage(a) is not None]
    if tables is not None:
        atoms = [a for a in atoms if computer.builder.tables_read(a.source) & tables]
    known = {
        row[0] for row in warehouse.raw.execute("SELECT atom FROM kpi_rollup_state").fetchall()
    }
    # Atoms new to the rollups (a changed catalog) are built over their whole history.
    fresh = {a.key for a in atoms if a.key not in known}
    through = engine.data_through()
    dimensions = sorted({d for a in atoms for d in rollup_dimensions(catalog, a)})
    computer.prepare(
        atoms, dimensions, lambda source, expr: warehouse.temporary(f"_prepared_{source}", expr)
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
        _delete(warehouse, [a.key for a in atoms], since, fresh)
        if rows is not None and rows.num_rows:
            warehouse.append(ROLLUPS.name, rows, ROLLUPS)
        _record_state(warehouse, atoms, {a.key for a in everything})
        _record_coverage(warehouse, engine)
        if tables is None:
            warehouse.raw.execute("DELETE FROM kpi_rollup_stale")
        else:
            for name in tables:
                warehouse.raw.execute("DELETE FROM kpi_rollup_stale WHERE table_name = ?", [name])
    return RollupReport(len(atoms), 0 if rows is None else rows.num_rows, since)


def has_rollups(warehouse: Warehouse) -> bool:
    return warehouse.has_table(ROLLUP_STATE.name)


def mark_stale(warehouse: Warehouse, changed: dict[str, date | None]) -> None:
    """Record that `changed` tables have new data the rollups do not hold yet; the reader
    then computes atoms that read them directly until the rollups are refreshed."""
    warehouse.create_tables([STALE])
    for name, since in changed.items():
        warehouse.raw.execute("INSERT INTO kpi_rollup_stale VALUES (?, ?)", [name, since])


def refresh_after_load(
    warehouse: Warehouse, catalog: Catalog, changed: dict[str, date | None]
) -> RollupReport | None:
    """Refresh the rollups of atoms reading `changed` tables, from the earliest change.

    Warehouses without rollups are left alone (build them with `omnikpi kpi refresh`).
    """
    if not changed or not has_rollups(warehouse):
        return None
    dates = list(changed.values())
    since = None if any(d is None for d in dates) else min(d for d in dates if d is not None)
    return refresh_rollups(warehouse, catalog, since, tables=set(changed))


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
        start = min(period_start(first, g) for g in grains)
        frames = computer.compute_sets(
            batch, grains, start, through, dims, lambda sql: warehouse.raw.execute(sql).df()
        )
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
    """Atoms `compute_sets` handles, grouped by source and time; the others one by one."""
    groups: dict[tuple[str, str | None], list[Atom]] = {}
    others: list[list[Atom]] = []
    for atom in atoms:
        if computer.settable(atom):
            groups.setdefault((atom.source, atom.text("time")), []).append(atom)
        else:
            others.append([atom])
    return [*groups.values(), *others]


def _grains(atom: Atom) -> tuple[Grain, ...]:
    """Day rows for atoms that add up over days or are read at a day's end, else every grain."""
    return (Grain.DAY,) if atom.rollup in ("sum", "last") else GRAINS


def _first_day(engine: KpiQuery, atoms: Sequence[Atom], since: date | None) -> date | None:
    starts = [c[0] for c in (engine.coverage(a) for a in atoms) if c is not None]
    if not starts:
        return None
    first = min(starts)
    return max(first, since) if since else first


def _long(
    frame: pd.DataFrame, atoms: Sequence[Atom], grain: Grain, dimension: str, scope: Scope
) -> pa.Table:
    """Wide atom columns -> rollup rows (full periods only for per-period atoms)."""
    full = {p.start for p in scope.periods if is_full(p, grain) or grain is Grain.DAY}
    parts = []
    for atom in atoms:
        for part in atom.parts:
            column = column_name(atom, part)
            if column not in frame.columns:
                continue
            rows = frame[frame[column].notna()]
            if atom.rollup == "period":
                rows = rows[rows["period_start"].isin(full)]
            if rows.empty:
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "atom": atom.key,
                        "grain": grain.value,
                        "period_start": rows["period_start"].to_numpy(),
                        "dimension": dimension,
                        "dimension_value": rows[dimension].astype("string").to_numpy()
                        if dimension
                        else None,
                        "part": part,
                        "value": rows[column].astype("float64").to_numpy(),
                    }
                )
            )
    if not parts:
        return pa.Table.from_pylist([], schema=ROLLUPS.arrow_schema())
    merged = pd.concat(parts, ignore_index=True)
    return pa.Table.from_pandas(merged, schema=ROLLUPS.arrow_schema(), preserve_index=False)


def _delete(warehouse: Warehouse, atoms: list[str], since: date | None, fresh: set[str]) -> None:
    """Remove the rows about to be rebuilt: the atoms' rows from the period containing
    `since` on (all of them when None), and every row of atoms built from scratch."""
    keys = pa.table({"atom": atoms + sorted(fresh - set(atoms))})
    warehouse.raw.register("_rebuilt_atoms", keys)
    try:
        if since is None:
            warehouse.raw.execute(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms)"
            )
            return
        # A grain's rows from the period containing `since` onwards are rebuilt.
        for grain in GRAINS:
            warehouse.raw.execute(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms) "
                "AND grain = ? AND period_start >= ?",
                [grain.value, period_start(since, grain)],
            )
        warehouse.raw.execute("DELETE FROM kpi_rollups WHERE atom IN ?", [sorted(fresh)])
    finally:
        warehouse.raw.unregister("_rebuilt_atoms")


def _record_state(warehouse: Warehouse, atoms: Sequence[Atom], current: set[str]) -> None:
    """Upsert the rebuilt atoms; forget atoms the catalog no longer has."""
    now = datetime.now(UTC)
    state = pa.table(
        {
            "atom": [a.key for a in atoms],
            "definition": [json.dumps([a.kind, a.source, a.fields], default=str) for a in atoms],
            "refreshed_at": pa.array([now] * len(atoms), pa.timestamp("us", tz="UTC")),
        }
    )
    warehouse.raw.register("_rebuilt_state", state)
    try:
        warehouse.raw.execute(
            "DELETE FROM kpi_rollup_state WHERE atom IN (SELECT atom FROM _rebuilt_state)"
        )
    finally:
        warehouse.raw.unregister("_rebuilt_state")
    warehouse.append(ROLLUP_STATE.name, state, ROLLUP_STATE)
    gone = pa.table({"atom": sorted(current)})
    warehouse.raw.register("_current_atoms", gone)
    try:
        for table_name in (ROLLUP_STATE.name, ROLLUPS.name):
            warehouse.raw.execute(
                f'DELETE FROM "{table_name}" WHERE atom NOT IN (SELECT atom FROM _current_atoms)'
            )
    finally:
        warehouse.raw.unregister("_current_atoms")


def _record_coverage(warehouse: Warehouse, engine: KpiQuery) -> None:
    coverage = engine.known_coverage()
    rows = [
        (s, t or "", c[0] if c else None, c[1] if c else None) for (s, t), c in coverage.items()
    ]
    table = pa.table(
        {
            "source": [r[0] for r in rows],
            "time": [r[1] for r in rows],
            "first_date": pa.array([r[2] for r in rows], pa.date32()),
            "last_date": pa.array([r[3] for r in rows], pa.date32()),
        }
    )
    warehouse.raw.execute("DELETE FROM kpi_coverage")
    warehouse.append(COVERAGE.name, table, COVERAGE)
