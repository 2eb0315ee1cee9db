"""`omnikpi targets`: import and list KPI targets."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.kpi import CatalogOption
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, console, render_rows
from omnikpi.services import TARGET_COLUMNS, import_target_file, list_targets, load_catalog
from omnikpi.settings import load_settings

app = typer.Typer(help="KPI targets.", no_args_is_help=True)


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., metavar="FILE.csv", help="kpi,grain,period_start,target [,dimension][,tolerance]"
    ),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """Import targets from CSV; a target of the same KPI, grain, period and dimension is
    replaced."""
    hand_off(ctx, warehouse)
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    count = import_target_file(settings, load_catalog(settings.catalog_dirs), file)
    console.print(f"Imported {count} targets from {file}.")


@app.command("list")
def list_command(
    ctx: typer.Context,
    kpi: str | None = typer.Option(None, "--kpi", help="Only this KPI."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Targets in the warehouse."""
    hand_off(ctx, warehouse)
    rows = list_targets(load_settings(warehouse=warehouse), kpi)
    render_rows(rows, list(TARGET_COLUMNS), fmt.value, title="KPI targets")
