"""`omnikpi workspace sql`: an analyst's read-only SQL over the warehouse, from the shell.

A thin call of `omnikpi.services.workspace.run_sql`, as the warehouse owner
(`Actor.cli()`), with the same checks, limits, audit entry and history as the page.
"""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, error_console, render_rows

app = typer.Typer(
    help="The SQL workspace: read-only SQL over the warehouse, audited.", no_args_is_help=True
)


def unique_names(columns: tuple[str, ...]) -> list[str]:
    """Column names made unique for a table or JSON (`a`, `a_2`), in order.

    >>> unique_names(("a", "b", "a"))
    ['a', 'b', 'a_2']
    """
    seen: dict[str, int] = {}
    names = []
    for column in columns:
        seen[column] = seen.get(column, 0) + 1
        names.append(column if seen[column] == 1 else f"{column}_{seen[column]}")
    return names


@app.command("sql")
def sql_command(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="One SELECT statement over the warehouse tables."),
    limit: int = typer.Option(1000, "--limit", help="Rows shown at most (1 to 10000)."),
    timeout: float = typer.Option(
        10.0, "--timeout", help="Seconds before the query is stopped (at most 60)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table, csv or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Run one read-only SELECT over the warehouse: no writes, settings, files or URLs.

    \b
    omnikpi workspace sql "SELECT channel, count(*) AS orders FROM orders GROUP BY 1"
    omnikpi workspace sql "FROM customers LIMIT 5" --format csv
    """
    from omnikpi.auth import AppStateStore, app_state_path
    from omnikpi.auth.audit import Actor
    from omnikpi.services.workspace import plain, run_sql
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    store = AppStateStore.open(app_state_path(settings.warehouse))
    result = run_sql(settings, store, Actor.cli(), query, row_limit=limit, timeout_seconds=timeout)
    names = unique_names(result.columns)
    rows = [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in result.rows]
    render_rows(rows, names, fmt.value, title="Query result")
    if result.truncated:
        error_console.print(f"First {result.row_limit} rows shown; the query returned more.")
