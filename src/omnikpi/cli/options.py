"""Options shared by several commands, declared once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer

from omnikpi.settings import resolve_warehouse

WarehouseOption = typer.Option(
    None,
    "--warehouse",
    "-w",
    help="Warehouse file (default: $OMNIKPI_WAREHOUSE, else ./omnikpi.duckdb).",
    dir_okay=False,
)
CustomersOption = typer.Option(
    20_000, "--customers", min=1, max=50_000_000, help="Customers to simulate."
)
DaysOption = typer.Option(730, "--days", min=28, max=3660, help="Days of history to simulate.")
SeedOption = typer.Option(7, "--seed", help="Random seed; the same seed gives the same data.")
EndOption = typer.Option(None, "--end", help="Last simulated day, YYYY-MM-DD (default: yesterday).")


def end_date(value: str | None, today: date | None = None) -> date:
    """The --end option, defaulting to the day before `today`."""
    if value:
        from omnikpi.services import parse_day  # the KPI periods import Ibis

        return parse_day(value, "--end")
    return (today or date.today()) - timedelta(days=1)


def warehouse_path(value: Path | None) -> Path:
    return resolve_warehouse(value)
