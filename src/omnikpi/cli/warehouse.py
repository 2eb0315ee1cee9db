"""`omnikpi warehouse`: what the warehouse holds."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import InfoFormat, render_rows
from omnikpi.model import TABLES
from omnikpi.warehouse import Warehouse

app = typer.Typer(help="Inspect the warehouse.", no_args_is_help=True)


@app.command("info")
def info(
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """Tables of the warehouse with their row counts."""
    path = warehouse_path(warehouse)
    with Warehouse.open(path, read_only=True) as wh:
        counts = wh.row_counts()
    kinds = {t.name: (t.kind, t.description) for t in TABLES}
    rows = [
        {"table": name, "rows": count, "kind": kinds.get(name, ("other", ""))[0]}
        for name, count in counts.items()
    ]
    render_rows(
        rows,
        ["table", "rows", "kind"],
        fmt.value,
        title=f"Warehouse {path}",
        json_document={"warehouse": str(path), "tables": rows},
    )
