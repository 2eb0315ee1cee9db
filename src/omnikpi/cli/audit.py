"""`omnikpi audit`: list the audit log's entries and verify its hash chain.

The CLI reads the app-state store beside the warehouse as an administrator
(`Actor.cli()`: whoever runs it on the server can read that file anyway).
"""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.auth import AppStateStore, app_state_path
from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import OutputFormat, console, error_console, render_rows
from omnikpi.services.audit import (
    AUDIT_COLUMNS,
    Actor,
    audit_rows,
    check_audit_log,
    list_audit_log,
    parse_audit_filter,
)

app = typer.Typer(
    help="The audit log: list its entries and verify its hash chain.", no_args_is_help=True
)

#: The columns of the table view (CSV and JSON have every column, the hash too).
_TABLE_COLUMNS = [c for c in AUDIT_COLUMNS if c != "entry_hash"]


def _store(warehouse: Path | None) -> AppStateStore:
    return AppStateStore.open(app_state_path(warehouse_path(warehouse)))


@app.command("list")
def list_command(
    user: str | None = typer.Option(None, "--user", help="Only entries by this username."),
    since: str | None = typer.Option(
        None, "--since", help="Only entries from this day (YYYY-MM-DD, UTC) or ISO time on."
    ),
    action: str | None = typer.Option(
        None, "--action", help="Only entries of this event, e.g. customer_export."
    ),
    limit: int = typer.Option(200, "--limit", help="Newest entries shown at most."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Entries of the audit log, newest first: who, when, what, how many rows, from where."""
    wanted = parse_audit_filter(user, since, action, limit)
    rows = audit_rows(list_audit_log(_store(warehouse), Actor.cli(), wanted))
    columns = list(AUDIT_COLUMNS) if fmt is not OutputFormat.TABLE else _TABLE_COLUMNS
    render_rows(rows, columns, fmt.value, "Audit log")


@app.command("verify")
def verify(warehouse: Path | None = WarehouseOption) -> None:
    """Check the hash chain; exit 1 naming the first entry changed or removed."""
    report = check_audit_log(_store(warehouse), Actor.cli())
    if not report.intact:
        error_console.print(report.describe(), markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(report.describe(), markup=False, highlight=False)
