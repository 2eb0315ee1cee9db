"""`omnikpi serve`: the web app on a warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import console

if TYPE_CHECKING:
    from omnikpi.settings import Settings

HostOption = typer.Option("127.0.0.1", "--host", help="Interface to listen on.")
PortOption = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on.")


def serve(
    warehouse: Path | None = WarehouseOption,
    host: str = HostOption,
    port: int = PortOption,
) -> None:
    """Serve the web app on the warehouse."""
    run_server(warehouse_path(warehouse), host, port)


def run_server(path: Path, host: str, port: int) -> None:
    import uvicorn

    from omnikpi.cli.handoff import COMMANDS
    from omnikpi.services import warehouse_info
    from omnikpi.settings import load_settings
    from omnikpi.web.app import create_app

    settings = load_settings(warehouse=path)
    warehouse_info(settings)  # a missing or unreadable warehouse is refused before serving
    _finish_refresh(settings)
    # The app owns the warehouse: reads never wait for a load, and the CLI hands it loads.
    app = create_app(settings, own_warehouse=True, handoff_port=port, commands=COMMANDS)
    console.print(f"omnikpi is running on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _finish_refresh(settings: Settings) -> None:
    """Refresh the KPI rollups a load left undone (killed, or its refresh failed) before
    serving; if it fails again, say so and serve anyway (those KPIs are read directly)."""
    from omnikpi.errors import RefreshFailed
    from omnikpi.services.ingest import refresh_changed

    try:
        report = refresh_changed(settings)
    except RefreshFailed as exc:
        console.print(f"[yellow]warning:[/] {exc}", highlight=False)
        return
    if report is not None:
        console.print(
            f"Refreshed the KPI rollups a load had left to do ({report.atoms} atoms).",
            highlight=False,
        )
