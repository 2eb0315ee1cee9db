"""`omnikpi customers`: customer-level work on the warehouse (`forget` a customer on
request). Each command is a thin call of a service in `omnikpi.services`."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import console, error_console

app = typer.Typer(help="Customers: forget one on request.", no_args_is_help=True)


@app.command("forget")
def forget(
    ctx: typer.Context,
    customer_id: str = typer.Argument(
        ..., help="The customer's id, as the customers table has it."
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why (say, the erasure request's number); kept in the audit log."
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Forget a customer: the id becomes a tombstone in every table, KPI totals stay.

    \b
    omnikpi customers forget C000123 --reason "erasure request #88"
    """
    from omnikpi.auth import AppStateStore, app_state_path
    from omnikpi.auth.audit import Actor
    from omnikpi.cli.handoff import hand_off
    from omnikpi.errors import RefreshFailed
    from omnikpi.services.forget import forget_customer
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse forgets it there
    settings = load_settings(warehouse)
    store = AppStateStore.open(app_state_path(settings.warehouse))
    result = forget_customer(settings, store, Actor.cli(), customer_id, reason=reason)
    if result.already_forgotten:
        console.print(
            f"Customer already forgotten on {result.forgotten_at:%Y-%m-%d} as "
            f"{result.tombstone}; nothing changed."
        )
        return
    console.print(f"Forgotten: {result.total:,} rows now refer to {result.tombstone} (audited).")
    for name, count in result.rows.items():
        console.print(f"  {name:<24} {count:>10,}")
    if result.refresh_error:
        error_console.print("[yellow]The KPI rollups were not refreshed.[/yellow]")
        raise RefreshFailed(result.refresh_error)
