"""`omnikpi serve`: the web app on a warehouse."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import console

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

    from omnikpi.services import warehouse_info
    from omnikpi.settings import load_settings
    from omnikpi.web.app import create_app

    settings = load_settings(warehouse=path)
    warehouse_info(settings)  # a missing or unreadable warehouse is refused before serving
    app = create_app(settings)
    console.print(f"omnikpi is running on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
