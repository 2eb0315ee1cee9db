"""`omnikpi demo`: simulate a retailer into a warehouse and serve the app on it."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.auth import AppStateStore, DemoLogin, app_state_path, create_demo_users
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
from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.kpi.plans import demo_periods, plan_targets
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.kpi.targets import import_targets
from omnikpi.settings import load_settings
from omnikpi.simulate import SimulationConfig, build_warehouse
from omnikpi.warehouse import Warehouse


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
        catalog = load_catalog(load_settings(warehouse=path).catalog_dirs)
        with progress_bar() as progress:
            task = progress.add_task("Simulating and loading", total=config.chunks)
            rollup_task = progress.add_task("Building KPI rollups", total=None)
            rows = build_warehouse(
                config,
                path,
                force=force,
                progress=lambda _s, done, total: progress.update(task, completed=done, total=total),
                finish=lambda built: refresh_rollups(
                    built,
                    catalog,
                    progress=lambda _s, done, total: progress.update(
                        rollup_task, completed=done, total=total
                    ),
                ),
            )
        console.print(f"Loaded {sum(rows.values()):,} rows into {len(rows)} tables.")
        with Warehouse.open(path) as built:
            engine = KpiQuery(catalog, built)
            targets = plan_targets(engine, demo_periods(catalog, engine.data_through()))
            import_targets(built, targets)
        console.print(
            f"Imported {len(targets):,} demo targets (last year's value improved by 5%; "
            "replace them with `omnikpi targets import`)."
        )
    logins = create_demo_users(AppStateStore.open(app_state_path(path)))
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
