"""`omnikpi demo`: simulate a retailer into a warehouse and serve the app on it."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.auth import DemoLogin
from omnikpi.cli.options import (
    CustomersOption,
    DaysOption,
    EndOption,
    SeedOption,
    WarehouseOption,
    end_date,
    warehouse_path,
)
from omnikpi.cli.output import console, progress_bar, render_rows
from omnikpi.cli.serve import HostOption, PortOption, run_server
from omnikpi.services import SimulationConfig, build_demo, demo_users, load_catalog
from omnikpi.settings import load_settings


def demo(
    customers: int = CustomersOption,
    days: int = DaysOption,
    seed: int = SeedOption,
    end: str | None = EndOption,
    warehouse: Path | None = WarehouseOption,
    force: bool = typer.Option(False, "--force", help="Rebuild the warehouse if it exists."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Build the warehouse, do not serve."),
    host: str = HostOption,
    port: int = PortOption,
) -> None:
    """Simulate an omnichannel retailer into a warehouse, then serve the app on it.

    An existing warehouse is reused as it is unless --force is given.
    """
    path = warehouse_path(warehouse)
    config = SimulationConfig(customers=customers, days=days, seed=seed, end=end_date(end))
    if path.exists() and not force:
        console.print(f"Using the existing warehouse {path} (pass --force to rebuild it).")
    else:
        console.print(
            f"Simulating {config.customers:,} customers from {config.start} to {config.end} "
            f"(seed {config.seed}) into {path}"
        )
        settings = load_settings(warehouse=path)
        catalog = load_catalog(settings.catalog_dirs)
        with progress_bar() as progress:
            tasks = {
                "simulate": progress.add_task("Simulating and loading", total=config.chunks),
                "rollups": progress.add_task("Building KPI rollups", total=None),
            }
            built = build_demo(
                config,
                path,
                catalog,
                settings=settings,
                force=force,
                progress=lambda step, done, total: progress.update(
                    tasks[step], completed=done, total=total
                ),
            )
        console.print(f"Loaded {sum(built.rows.values()):,} rows into {len(built.rows)} tables.")
        console.print(
            f"Imported {built.targets:,} demo targets (last year's value improved by 5%, or by "
            "5% of the room left where a KPI is near its bound; "
            "replace them with `omnikpi targets import`)."
        )
    logins = demo_users(path)
    if no_serve:
        console.print(f"Warehouse ready: {path}")
        print_demo_logins(logins, f"Serve it with `omnikpi serve --warehouse {path}`")
        return
    print_demo_logins(logins, f"Open http://{host}:{port}")
    run_server(path, host, port)


def print_demo_logins(logins: tuple[DemoLogin, ...], where: str) -> None:
    """The demo users as a table, under where to find the app."""
    console.print(f"{where} and sign in as one of these demo users:", markup=False)
    rows = [{"username": u.username, "password": u.password, "role": str(u.role)} for u in logins]
    render_rows(rows, ["username", "password", "role"], "table")
