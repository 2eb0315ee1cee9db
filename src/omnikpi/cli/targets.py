"""`omnikpi targets`: import and list KPI targets."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.kpi import CatalogOption
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, console, render_rows
from omnikpi.kpi import load_catalog
from omnikpi.kpi.targets import TARGETS, import_targets, read_targets
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse

app = typer.Typer(help="KPI targets.", no_args_is_help=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(
        ..., metavar="FILE.csv", help="kpi,grain,period_start,target [,dimension][,tolerance]"
    ),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """Import targets from CSV; a target of the same KPI, grain, period and dimension is
    replaced."""
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    rows = read_targets(file, load_catalog(settings.catalog_dirs))
    with Warehouse.open(settings.warehouse, overrides=settings.overrides) as opened:
        count = import_targets(opened, rows)
    console.print(f"Imported {count} targets from {file}.")


@app.command("list")
def list_targets(
    kpi: str | None = typer.Option(None, "--kpi", help="Only this KPI."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Targets in the warehouse."""
    settings = load_settings(warehouse=warehouse)
    with Warehouse.open(settings.warehouse, read_only=True) as opened:
        if not opened.has_table(TARGETS.name):
            rows: list[dict[str, object]] = []
        else:
            sql = (
                "SELECT * FROM kpi_targets"
                + (" WHERE kpi = ?" if kpi else "")
                + " ORDER BY kpi, grain, period_start, dimension"
            )
            frame = opened.raw.execute(sql, [kpi] if kpi else []).df()
            rows = [
                {str(k): (str(v) if k == "period_start" else v) for k, v in r.items()}
                for r in frame.to_dict("records")
            ]
    render_rows(rows, list(TARGETS.column_names), fmt.value, title="KPI targets")
