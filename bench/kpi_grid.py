"""KPI grid: every lead KPI by day and channel over a simulated warehouse, against baselines.

Times omnikpi answering the 47 lead KPIs at day grain by channel over the whole simulated
period (directly and from rollups), and, in the same run on the same data, the same KPIs
hand-written in SQL on DuckDB (same file) and on the local PostgreSQL server, and in pandas
on DataFrames loaded beforehand. Every baseline's values are checked against omnikpi
direct (counts exactly, the rest to 1e-6 relative); any difference fails the run. Also times
a dashboard's worth of KPIs from rollups. Timed parts run `--repeats` times; the median
counts. Results are appended to bench/RESULTS.md as the "KPI grid" section.

    python bench/kpi_grid.py                 # ~2M orders; builds bench/out/ once
    python bench/kpi_grid.py --scale 0.05    # a quick run on a twentieth of that
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from kpi_grid_compare import Comparison, cells, compare, describe
from kpi_grid_data import BuiltWarehouse, warehouse_for
from kpi_grid_pandas import compute_grid, load_tables
from kpi_grid_report import Figures, record
from kpi_grid_sql import DIALECTS, run_queries
from omnikpi.kpi import Catalog, KpiQuery, load_catalog
from omnikpi.kpi.rollups import refresh_changes, refresh_rollups
from omnikpi.model import TABLES
from omnikpi.warehouse import Warehouse

#: Channel-like dimensions, in the order a KPI's "channel" is chosen from what it allows.
CHANNELS = ("channel", "marketing_channel", "service_channel", "message_channel", "social_platform")
#: Sources the warehouse may lack; KPIs reading them are "no data" for every method.
NO_DATA_REASON = "reads customer_scores, which the simulator does not write (no data everywhere)"
WEEK = (date(2026, 10, 19), date(2026, 10, 25))
MONTH = (date(2026, 10, 1), date(2026, 10, 31))
Method = Callable[[], pd.DataFrame]


@dataclass
class Grid:
    """The lead KPIs grouped by the channel-like dimension they are broken down by."""

    catalog: Catalog
    groups: dict[str | None, list[str]]
    start: date
    end: date
    no_data: list[str] = field(default_factory=list)

    @property
    def kpis(self) -> list[str]:
        return [k for ids in self.groups.values() for k in ids]

    @property
    def totals(self) -> set[str]:
        return set(self.groups.get(None, []))

    @property
    def counts(self) -> set[str]:
        return {k for k in self.kpis if self.catalog.get(k).unit == "count"}


def lead_grid(catalog: Catalog, warehouse: Warehouse, start: date, end: date) -> Grid:
    """Lead KPIs by breakdown dimension (None: no channel-like dimension, by total)."""
    engine = KpiQuery(catalog, warehouse, rollups=False)
    groups: dict[str | None, list[str]] = {}
    for kpi in catalog.select(tier="lead"):
        allowed = engine.dimensions(kpi.id)
        dimension = next((d for d in CHANNELS if d in allowed), None)
        groups.setdefault(dimension, []).append(kpi.id)
    return Grid(catalog, groups, start, end)


def omnikpi_method(grid: Grid, warehouse: Warehouse, rollups: bool) -> Method:
    """One KpiQuery.run per breakdown dimension, as a long table of cells."""

    def run() -> pd.DataFrame:
        engine = KpiQuery(grid.catalog, warehouse, rollups=rollups)
        frames = []
        for dimension, ids in grid.groups.items():
            by = [dimension] if dimension else []
            frame = engine.run(ids, "day", grid.start, grid.end, by=by)
            frames.append(
                frame.assign(
                    day=frame["period_start"],
                    dim=frame[dimension] if dimension else None,
                    payment_method=frame.get("payment_method"),
                )
            )
        return pd.concat(frames, ignore_index=True)

    return run


def duckdb_method(grid: Grid, warehouse: Warehouse) -> Method:
    """The hand-written SQL on the warehouse's own DuckDB connection."""

    def execute(statement: str, params: dict[str, date] | None) -> pd.DataFrame:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            return warehouse.fetch_frame(statement, params)
        warehouse.run_sql(statement, params)
        return pd.DataFrame()

    return lambda: run_queries(execute, DIALECTS["duckdb"], grid.start, grid.end)


def postgres_method(
    grid: Grid, built: BuiltWarehouse, warehouse: Warehouse, rebuild: bool
) -> tuple[Method, float]:
    """The hand-written SQL on PostgreSQL; loads the schema first when it is stale."""
    import kpi_grid_postgres as postgres

    connection = postgres.connect()
    load_seconds = 0.0
    if rebuild or postgres.loaded_from(connection) != postgres.signature(built.path):
        print("loading the warehouse tables into PostgreSQL (not timed in the comparison) ...")
        load_seconds = postgres.load(warehouse, built.path, connection)
        print(f"  loaded in {load_seconds:.0f} s")
    execute = postgres.executor(connection)
    return lambda: run_queries(execute, DIALECTS["postgres"], grid.start, grid.end), load_seconds


def timed(name: str, method: Method, repeats: int) -> tuple[list[float], pd.DataFrame]:
    """Seconds of each run of `method`, and its last answer."""
    seconds: list[float] = []
    answer = pd.DataFrame()
    for run in range(repeats):
        started = time.perf_counter()
        answer = method()
        seconds.append(time.perf_counter() - started)
        print(f"  {name} run {run + 1}: {seconds[-1]:.2f} s", flush=True)
    return seconds, answer


def dashboard_seconds(
    grid: Grid, warehouse: Warehouse, ids: list[str], grain: str, period: tuple[date, date],
    compare_with: str, runs: int,
) -> list[float]:  # fmt: skip
    """Seconds of each of `runs` dashboard queries from rollups (a fresh KpiQuery each)."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        KpiQuery(grid.catalog, warehouse, rollups=True).run(
            ids, grain, period[0], period[1], compare=compare_with
        )
        seconds.append(time.perf_counter() - started)
    return seconds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = about 2M orders")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed method")
    parser.add_argument("--dashboard-runs", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument(
        "--no-build", action="store_true", help="do not time a full rollup build in this run"
    )
    return parser.parse_args()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_seconds(built: BuiltWarehouse, catalog: Catalog) -> tuple[float, float, float]:
    """Seconds of a full rollup build (every atom, all history) on a copy of the
    warehouse, as `omnikpi kpi refresh` runs it, and of the refresh a load of the last
    day into every table with a time column then takes (`refresh_changes`): the first
    after the build (it compiles the SQL of a refresh's shapes) and the next (the daily
    case: that SQL is kept in the warehouse)."""
    copy = built.path.with_name(f"{built.path.stem}.build.duckdb")
    shutil.copy(built.path, copy)
    daily = {t.name: built.config.end for t in TABLES if t.time_column}
    try:
        with Warehouse.open(copy) as warehouse:
            started = time.perf_counter()
            refresh_rollups(warehouse, catalog)
            full = time.perf_counter() - started
        refreshes = []
        for _ in range(2):
            # Each refresh in its own process's state: a new warehouse object and cache.
            with Warehouse.open(copy) as warehouse:
                warehouse.mark_changed(daily, "bench-one-day")
                started = time.perf_counter()
                refresh_changes(warehouse, catalog)
                refreshes.append(time.perf_counter() - started)
    finally:
        copy.unlink(missing_ok=True)
        Path(f"{copy}.wal").unlink(missing_ok=True)
    first, again = refreshes
    print(
        f"  full rollup build: {full:.2f} s; after a one-day load: {first:.2f} s first, "
        f"{again:.2f} s with the SQL kept",
        flush=True,
    )
    return full, first, again


def main() -> int:
    args = parse_args()
    load_before = os.getloadavg()
    built = warehouse_for(args.scale, args.rebuild)
    print(
        f"warehouse {built.path.name}: {built.rows['events']:,} events, "
        f"{built.rows['orders']:,} orders, {built.rows['order_lines']:,} order lines, "
        f"{built.rows['sessions']:,} sessions (built {built.built_on}: simulate "
        f"{built.simulate_seconds:.0f} s, rollups {built.rollup_seconds:.0f} s)"
    )
    warehouse = Warehouse.open(built.path, read_only=True)
    catalog = load_catalog()
    grid = lead_grid(catalog, warehouse, built.config.start, built.config.end)
    grid.no_data = [k for k in grid.kpis if k in ("clv", "cpo_per_clv")]
    print(f"grid: {len(grid.kpis)} lead KPIs x {(grid.end - grid.start).days + 1} days by:")
    for dimension, ids in grid.groups.items():
        print(f"  {dimension or '(total)'}: {len(ids)} KPIs")
    for kpi in grid.no_data:
        print(f"  skipped in the baselines: {kpi} {NO_DATA_REASON}")

    postgres, postgres_load = postgres_method(grid, built, warehouse, args.rebuild)
    started = time.perf_counter()
    tables = load_tables(warehouse)
    pandas_load = time.perf_counter() - started
    print(
        f"pandas: loaded {len(tables)} tables in {pandas_load:.1f} s (not timed in the comparison)"
    )

    methods: dict[str, Method] = {
        "omnikpi direct": omnikpi_method(grid, warehouse, rollups=False),
        "omnikpi rollups": omnikpi_method(grid, warehouse, rollups=True),
        "DuckDB SQL": duckdb_method(grid, warehouse),
        "PostgreSQL SQL": postgres,
        "pandas": lambda: compute_grid(tables, grid.start, grid.end),
    }
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    answers: dict[str, pd.DataFrame] = {}
    peak_rss = {"loading": peak_rss_mb()}
    for repeat in range(args.repeats):
        print(f"round {repeat + 1} of {args.repeats}")
        for name, method in methods.items():
            runs, answers[name] = timed(name, method, 1)
            seconds[name] += runs
            peak_rss[name] = max(peak_rss.get(name, 0.0), peak_rss_mb())
    built_in = None if args.no_build else build_seconds(built, catalog)
    peak_rss["rollup build"] = peak_rss_mb()

    reference = cells(answers["omnikpi direct"], grid.totals)
    no_data = reference[reference["kpi"].isin(grid.no_data)]["value"].notna().sum()
    comparisons: list[Comparison] = []
    for name in ("omnikpi rollups", "DuckDB SQL", "PostgreSQL SQL", "pandas"):
        comparisons.append(compare(name, reference, cells(answers[name], grid.totals), grid.counts))
    for comparison in comparisons:
        print("\n".join(describe(comparison)))
    if no_data:
        print(f"omnikpi gave {no_data} values for {grid.no_data}, expected none")

    lead_ids = grid.kpis
    cxo_ids = [k.id for k in catalog.select(tier="cxo")]
    dashboard = {
        f"stage dashboard: {len(lead_ids)} lead KPIs, week {WEEK[0]}, vs previous week": (
            dashboard_seconds(
                grid, warehouse, lead_ids, "week", WEEK, "previous", args.dashboard_runs
            )
        ),
        f"scorecard: {len(cxo_ids)} cxo KPIs, {MONTH[0]:%B %Y}, vs a year before": (
            dashboard_seconds(grid, warehouse, cxo_ids, "month", MONTH, "yoy", args.dashboard_runs)
        ),
    }
    figures = Figures(
        built=built,
        grid_kpis=len(lead_ids),
        grid_days=(grid.end - grid.start).days + 1,
        groups={d or "(total)": len(ids) for d, ids in grid.groups.items()},
        no_data=grid.no_data,
        seconds=seconds,
        dashboard=dashboard,
        comparisons=comparisons,
        postgres_load=postgres_load,
        pandas_load=pandas_load,
        load_before=load_before,
        load_after=os.getloadavg(),
        versions=versions(),
        build_seconds=None if built_in is None else built_in[0],
        first_refresh_seconds=None if built_in is None else built_in[1],
        refresh_seconds=None if built_in is None else built_in[2],
        peak_rss=peak_rss,
    )
    print(figures.table())
    if not args.no_record:
        record(figures, Path(__file__).parent / "RESULTS.md")
        print("recorded in bench/RESULTS.md")
    warehouse.close()
    failed = [c.method for c in comparisons if not c.ok] or (
        ["omnikpi no-data KPIs"] if no_data else []
    )
    if failed:
        print(f"FAILED: {', '.join(failed)} differ from omnikpi direct", file=sys.stderr)
        return 1
    return 0


def versions() -> dict[str, Any]:
    import psycopg

    import kpi_grid_postgres as postgres

    with psycopg.connect(postgres.DSN) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    root = Path(__file__).parent.parent
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src/omnikpi/kpi"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "commit": commit + (" with uncommitted changes in src/omnikpi/kpi" if dirty else ""),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "postgresql": row[0] if row else "?",
    }


if __name__ == "__main__":
    sys.exit(main())
