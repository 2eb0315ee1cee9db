"""Entry point: builds the Typer app and turns every expected error into one line, exit 2."""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence

import click
import typer

from omnikpi import __version__
from omnikpi.cli import demo, ingest, kpi, serve, simulate, targets, users, warehouse
from omnikpi.cli.output import console, error_console
from omnikpi.errors import OmnikpiError

_typer_click: types.ModuleType
try:  # typer >= 0.23 carries its own copy of click
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions


app = typer.Typer(
    name="omnikpi",
    help="KPIs and customer analytics for omnichannel retailers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"omnikpi {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """omnikpi: every KPI of an omnichannel retailer, from one warehouse."""


app.command("demo")(demo.demo)
app.command("simulate")(simulate.simulate)
app.command("serve")(serve.serve)
app.add_typer(warehouse.app, name="warehouse")
app.add_typer(users.app, name="users")
app.add_typer(ingest.app, name="ingest")
app.add_typer(kpi.app, name="kpi")
app.add_typer(targets.app, name="targets")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; usage and data errors print one line and exit with code 2."""
    try:
        code = app(
            args=list(argv) if argv is not None else None,
            prog_name="omnikpi",
            standalone_mode=False,
        )
    except (click.exceptions.UsageError, _typer_click.UsageError) as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            console.print(exc.format_message(), markup=False, highlight=False)
            sys.exit(0)
        message = exc.format_message().replace("Value error, ", "")
        error_console.print(f"Error: {message}", markup=False, soft_wrap=True)
        sys.exit(2)
    except (click.exceptions.Abort, typer.Abort):
        error_console.print("Aborted.", markup=False)
        sys.exit(130)
    except OmnikpiError as exc:
        error_console.print(f"Error: {exc}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
