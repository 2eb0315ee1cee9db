"""Targets planted on a copy of the simulated retailer, so every RAG status shows up.

Each dashboard KPI gets, for each recent period, a target derived from its own actual value
so that its status is known in advance: the KPIs of a tier take green, amber and red in
turn (catalog order). For a KPI where higher is better, green means the target is 5 %
below the actual, amber 2 % above it (inside the 5 % tolerance), red 25 % above it; the
other way round where lower is better.
"""

from __future__ import annotations

import fcntl
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from omnikpi.kpi import Grain, KpiSpec, load_catalog, query
from omnikpi.kpi.targets import TargetRow, import_targets
from omnikpi.warehouse import Warehouse

STATUSES = ("green", "amber", "red")
#: target / actual for each status, where higher is better (inverted where lower is).
FACTORS = {"green": 0.95, "amber": 1.02, "red": 1.25}
#: The tiers planted, their grain and how far back (days before the last day of data).
PLANTED = {
    "cxo": (Grain.MONTH, 400),
    "lead": (Grain.WEEK, 120),
    "member:": (Grain.DAY, 45),
}


def planted_status(kpis: list[KpiSpec], kpi_id: str) -> str:
    """The status planted for `kpi_id` among the KPIs of its tier."""
    ids = [kpi.id for kpi in kpis]
    return STATUSES[ids.index(kpi_id) % len(STATUSES)]


def target_for(kpi: KpiSpec, actual: float, status: str) -> float:
    """The target that gives `actual` the planted `status`."""
    factor = FACTORS[status]
    return actual * (factor if kpi.direction == "up" else 2 - factor)


def tier_kpis(tier: str) -> list[KpiSpec]:
    """The planted KPIs of a tier (`member:` means every member tier), shares left out."""
    catalog = load_catalog()
    return [
        kpi
        for kpi in catalog.kpis.values()
        if any(t == tier or (tier == "member:" and t.startswith("member:")) for t in kpi.tiers)
        and kpi.measure.type != "share"
    ]


def plant_targets(path: Path, last_day: date) -> int:
    """Import the planted targets into the warehouse at `path`; returns the rows."""
    rows: list[TargetRow] = []
    with Warehouse.open(path) as warehouse:
        for tier, (grain, days) in PLANTED.items():
            kpis = tier_kpis(tier)
            start = last_day - timedelta(days=days)
            actuals = query([k.id for k in kpis], grain, start, last_day, warehouse=warehouse)
            by_id = {kpi.id: kpi for kpi in kpis}
            for record in actuals.to_dict("records"):
                kpi = by_id[str(record["kpi"])]
                if record["value"] is None:
                    continue
                status = planted_status(kpis, kpi.id)
                target = target_for(kpi, float(record["value"]), status)
                rows.append(
                    TargetRow(kpi.id, grain.value, record["period_start"], "", target, None)
                )
        return import_targets(warehouse, rows)


def copy_with_targets(source: Path, folder: Path, last_day: date) -> Path:
    """A copy of the warehouse at `source` in `folder`, with planted targets."""
    path = folder / "targets.duckdb"
    shutil.copyfile(source, path)
    plant_targets(path, last_day)
    return path


def shared_targets_copy(
    sim_path: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str, last_day: date
) -> Path:
    """The copy with targets, built once per test run and shared by parallel workers
    (like `sim_path`); tests only read it."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    folder = shared / "targets"
    with (shared / "targets.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not folder.exists():  # built aside and renamed, so it is whole or absent
                partial = shared / "targets.partial"
                shutil.rmtree(partial, ignore_errors=True)
                partial.mkdir()
                copy_with_targets(sim_path, partial, last_day)
                partial.rename(folder)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder / "targets.duckdb"
