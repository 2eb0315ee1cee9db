"""The tables rollups are kept in, and the writes that keep them: rows per atom, grain,
period and dimension value; which atoms they hold; the coverage of each source."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pyarrow as pa

from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.model import Column, Table
from omnikpi.warehouse import Warehouse

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
ROLLUP_TABLES = (ROLLUPS, ROLLUP_STATE, COVERAGE)


def rollup_dimensions(catalog: Catalog, atom: Atom) -> list[str]:
    """Dimensions materialized for an atom: low-cardinality ones its source offers."""
    offered = catalog.source_dimensions(atom.source)
    return [d for d in offered if catalog.dimensions[d].rollup]


def has_rollups(warehouse: Warehouse) -> bool:
    """Whether rollups were ever built in this warehouse."""
    return warehouse.has_table(ROLLUP_STATE.name)


def stored_atoms(warehouse: Warehouse) -> set[str]:
    """Keys of the atoms the rollups hold."""
    return {str(row[0]) for row in warehouse.fetch_rows("SELECT atom FROM kpi_rollup_state")}


def delete_rows(
    warehouse: Warehouse, atoms: list[str], since: date | None, fresh: set[str]
) -> None:
    """Remove the rows about to be rebuilt: the atoms' rows from the period containing
    `since` on (all of them when None), and every row of atoms built from scratch."""
    keys = pa.table({"atom": atoms + sorted(fresh - set(atoms))})
    with warehouse.registered("_rebuilt_atoms", keys):
        if since is None:
            warehouse.run_sql(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms)"
            )
            return
        # A grain's rows from the period containing `since` onwards are rebuilt.
        for grain in Grain:
            warehouse.run_sql(
                "DELETE FROM kpi_rollups WHERE atom IN (SELECT atom FROM _rebuilt_atoms) "
                "AND grain = ? AND period_start >= ?",
                [grain.value, period_start(since, grain)],
            )
        warehouse.run_sql("DELETE FROM kpi_rollups WHERE atom IN ?", [sorted(fresh)])


def record_state(warehouse: Warehouse, atoms: Sequence[Atom], current: set[str]) -> None:
    """Upsert the rebuilt atoms; forget atoms the catalog no longer has."""
    now = datetime.now(UTC)
    state = pa.table(
        {
            "atom": [a.key for a in atoms],
            "definition": [json.dumps([a.kind, a.source, a.fields], default=str) for a in atoms],
            "refreshed_at": pa.array([now] * len(atoms), pa.timestamp("us", tz="UTC")),
        }
    )
    warehouse.replace_rows(ROLLUP_STATE, state)
    with warehouse.registered("_current_atoms", pa.table({"atom": sorted(current)})):
        for table_name in (ROLLUP_STATE.name, ROLLUPS.name):
            warehouse.run_sql(
                f'DELETE FROM "{table_name}" WHERE atom NOT IN (SELECT atom FROM _current_atoms)'
            )


def record_coverage(
    warehouse: Warehouse, coverage: dict[tuple[str, str | None], tuple[date, date] | None]
) -> None:
    """Replace the stored coverage (first and last date per source and time column)."""
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
    warehouse.run_sql("DELETE FROM kpi_coverage")
    warehouse.append(COVERAGE.name, table, COVERAGE)
