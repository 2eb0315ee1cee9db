"""The simulated warehouse of the KPI grid benchmark, built once and cached under bench/out/.

Orders come mostly from purchase sessions of about 13 events each, so the three traffic knobs
are lowered to their floor and the customer count sets the size: 495,000 customers over two
years give about 2M orders (and, at that floor, about 28M events; fewer events are not
reachable with 2M orders through the simulator's knobs).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from omnikpi.kpi import load_catalog
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.simulate import SimulationConfig, build_warehouse
from omnikpi.warehouse import Warehouse

OUT = Path(__file__).parent / "out"
FULL_CUSTOMERS = 495_000
END = date(2026, 10, 31)
DAYS = 730


@dataclass(frozen=True)
class BuiltWarehouse:
    """A cached benchmark warehouse and what building it took."""

    path: Path
    config: SimulationConfig
    rows: dict[str, int]
    simulate_seconds: float
    rollup_seconds: float
    built_on: str


def bench_config(scale: float) -> SimulationConfig:
    """The simulation of the benchmark at `scale` (1.0 = about 2M orders)."""
    return SimulationConfig(
        customers=max(1_000, round(FULL_CUSTOMERS * scale)),
        days=DAYS,
        end=END,
        anonymous_visitors_per_customer=0.05,
        browse_sessions_per_purchase=0.1,
        cart_sessions_per_purchase=0.05,
    )


def warehouse_for(scale: float, rebuild: bool = False) -> BuiltWarehouse:
    """The warehouse at `scale`, with rollups; built only when missing or `rebuild`."""
    config = bench_config(scale)
    path = OUT / f"kpi_grid_{config.customers}.duckdb"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists() and not rebuild:
        saved = json.loads(meta.read_text())
        return BuiltWarehouse(
            path,
            config,
            saved["rows"],
            saved["simulate_seconds"],
            saved["rollup_seconds"],
            saved["built_on"],
        )
    catalog = load_catalog()
    rollup_seconds: list[float] = []

    def build_rollups(warehouse: Warehouse) -> None:
        started = time.perf_counter()
        refresh_rollups(warehouse, catalog)
        warehouse.checkpoint()
        rollup_seconds.append(time.perf_counter() - started)

    print(f"building {path.name}: {config.customers:,} customers x {config.days} days ...")
    started = time.perf_counter()
    rows = build_warehouse(config, path, force=True, finish=build_rollups)
    total = time.perf_counter() - started
    built = BuiltWarehouse(
        path,
        config,
        rows,
        total - rollup_seconds[0],
        rollup_seconds[0],
        date.today().isoformat(),
    )
    meta.write_text(
        json.dumps(
            {
                "rows": rows,
                "simulate_seconds": built.simulate_seconds,
                "rollup_seconds": built.rollup_seconds,
                "built_on": built.built_on,
            },
            indent=1,
        )
    )
    return built


if __name__ == "__main__":
    import sys

    built = warehouse_for(float(sys.argv[1]), rebuild="--rebuild" in sys.argv)
    print(
        f"{built.path}: events {built.rows['events']:,}, orders {built.rows['orders']:,}, "
        f"simulate {built.simulate_seconds:.0f} s, rollups {built.rollup_seconds:.0f} s"
    )
