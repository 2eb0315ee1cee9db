"""Run a simulation and stream its tables to a sink: the warehouse, Parquet or CSV files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from omnikpi.errors import WarehouseExists
from omnikpi.model import table as model_table
from omnikpi.settings import DataSettings
from omnikpi.simulate import aggregates, operations
from omnikpi.simulate.catalog import inventory_tables
from omnikpi.simulate.chunk import simulate_chunk
from omnikpi.simulate.config import SimulationConfig
from omnikpi.simulate.world import build_world
from omnikpi.warehouse import Warehouse, conform

Progress = Callable[[str, int, int], None]


def simulate(
    config: SimulationConfig, progress: Progress | None = None
) -> Iterator[tuple[str, pa.Table]]:
    """Yield (table name, rows) batches; a table may come in several batches.

    >>> from datetime import date
    >>> config = SimulationConfig(customers=200, days=60, end=date(2025, 6, 30))
    >>> names = {name for name, _ in simulate(config)}
    >>> "orders" in names and "events" in names
    True
    """
    world = build_world(config)
    rng = np.random.default_rng([config.seed, 2])
    yield from world.static_tables.items()
    yield (
        "inventory_snapshots",
        inventory_tables(rng, world.calendar, world.stores, world.products, world.dc_on_hand),
    )
    total = config.chunks
    for chunk in range(total):
        if progress:
            progress("customers", chunk, total)
        yield from simulate_chunk(world, chunk).items()
    if progress:
        progress("customers", total, total)
    aggregates.record_campaign_truth(world)
    yield "marketing_daily", aggregates.marketing_daily(rng, world)
    yield "program_costs", aggregates.program_costs(world)
    yield "experiments", aggregates.experiments(world)
    yield "site_checks", operations.site_checks(rng, world)
    yield from operations.social_and_search(rng, world).items()
    yield "competitor_prices", operations.competitor_prices(rng, world)
    yield "market_size", operations.market_size(rng, world, world.acc.revenue_month_category)
    yield "production_runs", operations.production_runs(rng, world)
    yield from operations.projects(rng, world).items()
    yield "simulation_truth", world.truth.table()


class Sink(Protocol):
    def write(self, name: str, rows: pa.Table) -> None: ...

    def close(self) -> None: ...


class WarehouseSink:
    """Appends every batch to the warehouse table of the same name."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.rows: dict[str, int] = {}

    def write(self, name: str, rows: pa.Table) -> None:
        self.rows[name] = self.rows.get(name, 0) + self.warehouse.append(name, rows)

    def close(self) -> None:
        self.warehouse.checkpoint()


class FileSink:
    """Writes one folder of Parquet parts, or one CSV file, per table."""

    def __init__(self, out: Path, file_format: Literal["parquet", "csv"]) -> None:
        self.out = out
        self.format = file_format
        self.rows: dict[str, int] = {}
        self._csv: dict[str, pa_csv.CSVWriter] = {}
        out.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, rows: pa.Table) -> None:
        rows = conform(rows, model_table(name))
        part = self.rows.get(name, 0)
        self.rows[name] = part + rows.num_rows
        if self.format == "parquet":
            folder = self.out / name
            folder.mkdir(exist_ok=True)
            index = len(list(folder.glob("part-*.parquet")))
            pq.write_table(rows, folder / f"part-{index:05d}.parquet", compression="zstd")
        else:
            writer = self._csv.get(name)
            if writer is None:
                writer = pa_csv.CSVWriter(self.out / f"{name}.csv", rows.schema)
                self._csv[name] = writer
            writer.write_table(rows)

    def close(self) -> None:
        for writer in self._csv.values():
            writer.close()


def run(config: SimulationConfig, sink: Sink, progress: Progress | None = None) -> dict[str, int]:
    """Simulate into `sink`; returns rows written per table."""
    for name, rows in simulate(config, progress):
        sink.write(name, rows)
    sink.close()
    rows_written: dict[str, int] = getattr(sink, "rows", {})
    return rows_written


def build_warehouse(
    config: SimulationConfig,
    path: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    finish: Callable[[Warehouse], object] | None = None,
) -> dict[str, int]:
    """Simulate into a new warehouse at `path`, atomically.

    The warehouse is built beside `path` and moved into place only when complete (after
    `finish`, e.g. building KPI rollups, has run on it), so an interrupted run leaves any
    previous warehouse untouched. Refuses to replace an existing warehouse unless `force`.
    The warehouse's data settings are the simulated retailer's time zone and currency.
    """
    if path.exists() and not force:
        raise WarehouseExists(
            f"warehouse {path} already exists (pass --force to replace it, "
            "or choose another --warehouse)"
        )
    staging = path.with_name(f".{path.name}.building")
    settings = DataSettings(time_zone=config.time_zone, currency=config.currency)
    staging.unlink(missing_ok=True)
    warehouse = Warehouse.create(staging, force=True, settings=settings)
    try:
        rows = run(config, WarehouseSink(warehouse), progress)
        if finish is not None:
            finish(warehouse)
    except BaseException:
        warehouse.close()
        staging.unlink(missing_ok=True)
        raise
    warehouse.close()
    staging.replace(path)
    return rows
