"""`omnikpi sources`: which sources may keep personal identifiers in clear.

Loads refuse e-mail addresses, phone numbers and names mapped without `hash: true`;
an admin allows them per source here (audited). The CLI acts as an administrator
(`Actor.cli()`: whoever runs it on the server can read the app-state file anyway).
"""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.auth import AppStateStore, app_state_path
from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import OutputFormat, console, render_rows
from omnikpi.services.audit import Actor
from omnikpi.services.identifiers import (
    allow_raw_identifiers,
    forbid_raw_identifiers,
    list_raw_identifier_allowances,
)

app = typer.Typer(
    help="Sources: allow or forbid personal identifiers in clear, per source.",
    no_args_is_help=True,
)

SourceArgument = typer.Argument(
    ..., help="The source: a mapping's name (name:, else its file name) or a preset's name."
)


def _store(warehouse: Path | None) -> AppStateStore:
    return AppStateStore.open(app_state_path(warehouse_path(warehouse)))


@app.command("allow-raw-identifiers")
def allow(
    source: str = SourceArgument,
    column: list[str] = typer.Option(
        [],
        "--column",
        help="Only this column (source name or table.column; repeat). Default: every column.",
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why the source keeps identifiers in clear; kept in the audit log."
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Let a source's loads store e-mail addresses, phones and names in clear (audited).

    \b
    omnikpi sources allow-raw-identifiers crm --column Email --reason "CRM sync, DPA #12"
    """
    done = allow_raw_identifiers(_store(warehouse), Actor.cli(), source, column, reason=reason)
    console.print(
        f"Source {done.source} may store personal identifiers in clear: {done.describe()} "
        "(audited; its next load says which columns it kept raw).",
        markup=False,
        highlight=False,
    )


@app.command("forbid-raw-identifiers")
def forbid(
    source: str = SourceArgument,
    reason: str | None = typer.Option(None, "--reason", help="Why; kept in the audit log."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Withdraw a source's allowance: its loads refuse identifiers in clear again (audited)."""
    before = forbid_raw_identifiers(_store(warehouse), Actor.cli(), source, reason=reason)
    if before is None:
        console.print(
            f"Source {source} had no allowance: its loads already refuse identifiers in clear.",
            markup=False,
            highlight=False,
        )
        return
    console.print(
        f"Source {before.source} may no longer store personal identifiers in clear "
        f"(the allowance covered {before.describe()}; audited). Identifiers already loaded "
        "stay as they are: reload the source with `hash: true` to replace them.",
        markup=False,
        highlight=False,
    )


@app.command("list")
def list_command(
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """The sources allowed to store personal identifiers in clear: columns, who, when, why."""
    rows = [
        {
            "source": a.source,
            "columns": a.describe(),
            "allowed_by": a.allowed_by,
            "allowed_at": a.allowed_at.isoformat() if a.allowed_at else "",
            "reason": a.reason or "",
        }
        for a in list_raw_identifier_allowances(_store(warehouse))
    ]
    render_rows(
        rows,
        ["source", "columns", "allowed_by", "allowed_at", "reason"],
        fmt.value,
        "Sources allowed raw identifiers",
    )
