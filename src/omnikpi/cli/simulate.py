"""`omnikpi simulate`: write a simulated retailer's tables as Parquet or CSV files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from omnikpi.cli.options import CustomersOption, DaysOption, EndOption, SeedOption, end_date
from omnikpi.cli.output import console, progress_bar
from omnikpi.services import SimulationConfig, simulate_files


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


def simulate(
    out: Path = typer.Option(..., "--out", help="Folder to write the tables to.", file_okay=False),
    customers: int = CustomersOption,
    days: int = DaysOption,
    seed: int = SeedOption,
    end: str | None = EndOption,
    file_format: FileFormat = typer.Option(FileFormat.PARQUET, "--format", help="File format."),
    force: bool = typer.Option(False, "--force", help="Replace files already in --out."),
) -> None:
    """Simulate an omnichannel beauty retailer into files (one folder or file per table)."""
    config = SimulationConfig(customers=customers, days=days, seed=seed, end=end_date(end))
    with progress_bar() as progress:
        task = progress.add_task("Simulating customers", total=config.chunks)
        rows = simulate_files(
            config,
            out,
            file_format.value,
            force=force,
            progress=lambda _step, done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"Wrote {sum(rows.values()):,} rows in {len(rows)} tables to {out}")
