"""`omnikpi warehouse`: what the warehouse holds, and the settings that describe its data."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.services import SETTING_NAMES, set_data_setting, warehouse_info
from omnikpi.settings import load_settings

app = typer.Typer(help="Inspect the warehouse and set its data settings.", no_args_is_help=True)


@app.command("info")
def info(
    ctx: typer.Context,
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """Tables of the warehouse with their row counts, and its data settings."""
    hand_off(ctx, warehouse)  # a server owning the warehouse answers (it alone can open it)
    found = warehouse_info(load_settings(warehouse=warehouse))
    rows = [{"table": t.name, "rows": t.rows, "kind": t.kind} for t in found.tables]
    settings = [
        {
            "setting": name.replace("_", "-"),
            "value": value,
            "from": "override"
            if name in found.overridden
            else "warehouse"
            if name in found.stored
            else "default",
        }
        for name, value in found.settings.as_dict().items()
    ]
    if fmt is InfoFormat.JSON:
        document = {
            "warehouse": str(found.path),
            "settings": found.settings.as_dict(),
            "stored_settings": found.stored,
            "tables": rows,
        }
        render_rows([], [], "json", json_document=document)
        return
    render_rows(settings, ["setting", "value", "from"], "table", title=f"Warehouse {found.path}")
    render_rows(rows, ["table", "rows", "kind"], "table")


@app.command("set")
def set_setting(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help=", ".join(SETTING_NAMES) + "."),
    value: str = typer.Argument(
        ..., metavar="VALUE", help="e.g. Europe/London, GBP, 02-01 (February 1), markov."
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Store a data setting in the warehouse: time-zone (IANA name), currency (ISO 4217),
    fiscal-year-start (MM-DD) or attribution-model (the model behind ROAS: first, last,
    last_non_direct, linear, time_decay, position, markov or shapley). Environment
    variables still override the first three per process."""
    hand_off(ctx, warehouse)  # a server owning the warehouse stores it, its pages answering
    settings = load_settings(warehouse=warehouse)
    stored = set_data_setting(settings, name, value)
    console.print(
        f"{settings.warehouse}: time zone {stored.time_zone}, currency {stored.currency}, "
        f"fiscal year from {stored.fiscal_year_start}, ROAS by the {stored.attribution_model} "
        "attribution model",
        markup=False,
    )
