"""KPI targets: import from CSV, look up per period and dimension, and RAG status.

A target row is (kpi, grain, period_start, dimension, target[, tolerance]); `dimension` is
empty for the whole business or `name=value` (e.g. `channel=web`). Percent KPIs take
fractions (0.035) or percentages with a sign ("3.5%"). A target must lie inside the KPI's
bounds (a share in [0, 1], NPS in [-100, 100]).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa

from omnikpi.errors import ConfigError, DataError
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.compiled import sql_fetcher
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.kpi.request import parse_day
from omnikpi.kpi.spec import KpiSpec
from omnikpi.model import Column, Table
from omnikpi.warehouse import Tables, Warehouse

Status = Literal["green", "amber", "red"]

TARGETS = Table(
    name="kpi_targets",
    description="Targets per KPI, grain, period and optional dimension value.",
    primary_key=("kpi", "grain", "period_start", "dimension"),
    kind="system",
    group="kpi",
    columns=(
        Column("kpi", "string", "KPI id."),
        Column("grain", "string", "day, week, month, quarter or year."),
        Column("period_start", "date", "First day of the period."),
        Column("dimension", "string", "Empty for the total, else name=value."),
        Column("target", "float", "Target value in the KPI's unit (fractions for percents)."),
        Column("tolerance", "float", "Relative band for amber; empty = default.", nullable=True),
    ),
)
REQUIRED_COLUMNS = ("kpi", "grain", "period_start", "target")


def status(
    value: float | None, target: float | None, direction: str, tolerance: float
) -> Status | None:
    """Green when on target, amber within `tolerance` (relative) of it, red beyond.

    >>> status(96.0, 100.0, "up", 0.05), status(94.0, 100.0, "up", 0.05)
    ('amber', 'red')
    >>> status(0.9, 1.0, "down", 0.05)
    'green'
    """
    if value is None or target is None or math.isnan(value) or math.isnan(target):
        return None
    band = abs(target) * tolerance
    gap = value - target if direction == "up" else target - value
    if gap >= 0:
        return "green"
    return "amber" if gap >= -band else "red"


@dataclass(frozen=True)
class TargetRow:
    kpi: str
    grain: str
    period_start: date
    dimension: str
    target: float
    tolerance: float | None


def read_targets(path: Path, catalog: Catalog) -> list[TargetRow]:
    """Validated rows of a targets CSV; errors name the file, row, column and the fix."""
    if not path.exists():
        raise ConfigError(f"targets file {path} does not exist")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise DataError(
                f"{path.name}: missing column(s) {', '.join(missing)} "
                f"(needed: kpi, grain, period_start, target; optional: dimension, "
                f"tolerance)"
            )
        rows = [
            _parse_row(path.name, number, row, catalog)
            for number, row in enumerate(reader, start=2)
        ]
    return rows


def _parse_row(file: str, number: int, raw: dict[str, str | None], catalog: Catalog) -> TargetRow:
    row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}

    def fail(column: str, message: str) -> DataError:
        return DataError(
            f'{file} row {number}: column "{column}" value "{row.get(column, "")}" {message}'
        )

    kpi_id = row["kpi"]
    if kpi_id not in catalog.kpis:
        raise fail("kpi", "is not a KPI id (see `omnikpi kpi list`)")
    try:
        grain = Grain(row["grain"])
    except ValueError:
        raise fail("grain", "is not a grain (use day, week, month, quarter or year)") from None
    try:
        start = parse_day(row["period_start"], "period_start")
    except ConfigError:
        raise fail("period_start", "is not a date in the form YYYY-MM-DD") from None
    if period_start(start, grain) != start:
        raise fail(
            "period_start",
            f"is not the first day of a {grain.value} (use {period_start(start, grain)})",
        )
    dimension = row.get("dimension", "")
    if dimension:
        name, _, value = dimension.partition("=")
        allowed = allowed_dimensions(catalog, kpi_id)
        if not value or name not in allowed:
            raise fail(
                "dimension",
                f"is not name=value with a dimension of {kpi_id} "
                f"({', '.join(sorted(allowed)) or 'none'})",
            )
    target = _number(row["target"], lambda m: fail("target", m))
    kpi = catalog.get(kpi_id)
    if not kpi.within_bounds(target):
        raise fail("target", f"is outside the bounds of {kpi_id} {kpi.bounds_text} ({_fix(kpi)})")
    return TargetRow(
        kpi_id,
        grain.value,
        start,
        dimension,
        target,
        _number(row["tolerance"], lambda m: fail("tolerance", m)) if row.get("tolerance") else None,
    )


def _fix(kpi: KpiSpec) -> str:
    """How to write a target inside the KPI's bounds."""
    if kpi.unit == "percent":
        return "percents are fractions: write 0.95 or 95%"
    low, high = kpi.bounds or (None, None)
    if low is not None and high is not None:
        return f"use a value from {low:g} to {high:g}"
    if low is not None:
        return f"use a value of at least {low:g}"
    return f"use a value of at most {high:g}"


def _number(text: str, fail: object) -> float:
    try:
        if text.endswith("%"):
            return float(text[:-1].replace(",", "")) / 100
        return float(text.replace(",", ""))
    except ValueError:
        assert callable(fail)
        raise fail("is not a number (e.g. 1250000, 0.035 or 3.5%)") from None


def allowed_dimensions(catalog: Catalog, kpi_id: str) -> set[str]:
    from omnikpi.kpi.atoms import atoms_of
    from omnikpi.kpi.plan import Planner

    atoms = atoms_of(Planner(catalog).plan(kpi_id))
    dims: set[str] | None = None
    for atom in atoms:
        offered = set(catalog.source_dimensions(atom.source))
        dims = offered if dims is None else dims & offered
    declared = catalog.get(kpi_id).dimensions
    result = dims or set()
    return result & set(declared) if declared is not None else result


def import_targets(warehouse: Warehouse, rows: list[TargetRow]) -> int:
    """Insert or replace targets by (kpi, grain, period_start, dimension); returns rows."""
    if not rows:
        warehouse.create_tables([TARGETS])
        return 0
    data = pa.table(
        {
            "kpi": [r.kpi for r in rows],
            "grain": [r.grain for r in rows],
            "period_start": [r.period_start for r in rows],
            "dimension": [r.dimension for r in rows],
            "target": [r.target for r in rows],
            "tolerance": pa.array([r.tolerance for r in rows], pa.float64()),
        }
    )
    with warehouse.transaction():
        warehouse.replace_rows(TARGETS, data)
    return len(rows)


def load_targets(
    tables: Tables,
    kpis: list[str],
    grain: Grain,
    periods: tuple[date, date] | None = None,
    dimension: str | None = None,
) -> pd.DataFrame:
    """Targets of `kpis` at `grain` (empty when the engine has no targets table), of the
    periods starting in `periods` (first, last) and, with `dimension`, only totals ("") or
    the values of one dimension ("store": every "store=..." row).

    >>> load_targets(warehouse, ["revenue"], Grain.WEEK, dimension="")  # doctest: +SKIP
    """
    columns = ["kpi", "period_start", "dimension", "target", "tolerance"]
    if not tables.has_table(TARGETS.name):
        return pd.DataFrame(columns=columns)
    fetch = sql_fetcher(tables)
    if fetch is not None:
        sql = (
            f"SELECT {', '.join(columns)} FROM {TARGETS.name}"
            " WHERE grain = $grain AND list_contains($kpis, kpi)"
        )
        params: dict[str, object] = {"grain": grain.value, "kpis": list(kpis)}
        if periods is not None:
            sql += " AND period_start BETWEEN $first AND $last"
            params |= {"first": periods[0], "last": periods[1]}
        if dimension == "":
            sql += " AND dimension = ''"
        elif dimension is not None:
            sql += " AND starts_with(dimension, $prefix)"
            params["prefix"] = f"{dimension}="
        # Arrow's dates arrive as `date` objects, as the rows are matched on.
        frame: pd.DataFrame = fetch(sql, params).to_pandas(date_as_object=True)
        return frame
    table = tables.table(TARGETS.name)
    condition = table.kpi.isin(kpis) & (table.grain == grain.value)
    if periods is not None:
        condition &= table.period_start.between(*periods)
    if dimension == "":
        condition &= table.dimension == ""
    elif dimension is not None:
        condition &= table.dimension.startswith(f"{dimension}=")
    frame = tables.execute(table.filter(condition).select(*columns))
    frame["period_start"] = [pd.Timestamp(v).date() for v in frame["period_start"]]
    return frame
