"""Entry point: builds the Typer app and turns every expected error into one line, exit 2.

Each command's module is imported when the command runs or shows its help, not before:
`omnikpi --help` lists the commands from `COMMANDS` without importing the KPI engine,
the web app or the warehouse, and `omnikpi ingest` imports only what a load needs.
"""

from __future__ import annotations

import difflib
import importlib
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from omnikpi import __version__
from omnikpi.errors import OmnikpiError

_typer_click: types.ModuleType
try:  # typer >= 0.23 carries its own copy of click
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions


@dataclass(frozen=True)
class LazyCommand:
    """A command of `omnikpi`: where it is defined (`module:attribute`, a Typer app or a
    command function) and the summary `omnikpi --help` lists for it (its help's first
    paragraph, checked against the command by the CLI tests)."""

    target: str
    summary: str


#: The commands of `omnikpi`, in the order `omnikpi --help` lists them.
COMMANDS: dict[str, LazyCommand] = {
    "demo": LazyCommand(
        "omnikpi.cli.demo:demo",
        "Simulate an omnichannel retailer into a warehouse, then serve the app on it.",
    ),
    "simulate": LazyCommand(
        "omnikpi.cli.simulate:simulate",
        "Simulate an omnichannel beauty retailer into files (one folder or file per table).",
    ),
    "serve": LazyCommand("omnikpi.cli.serve:serve", "Serve the web app on the warehouse."),
    "warehouse": LazyCommand(
        "omnikpi.cli.warehouse:app", "Inspect the warehouse and set its data settings."
    ),
    "users": LazyCommand("omnikpi.cli.users:app", "Manage the people who sign in to the web app."),
    "audit": LazyCommand(
        "omnikpi.cli.audit:app", "The audit log: list its entries and verify its hash chain."
    ),
    "ingest": LazyCommand(
        "omnikpi.cli.ingest:app",
        "Load files with a mapping or preset, or a PostgreSQL table or query.",
    ),
    "sources": LazyCommand(
        "omnikpi.cli.sources:app",
        "Sources: allow or forbid personal identifiers in clear, per source.",
    ),
    "kpi": LazyCommand("omnikpi.cli.kpi:app", "KPIs: list, show, query; refresh their rollups."),
    "targets": LazyCommand("omnikpi.cli.targets:app", "KPI targets."),
    "customers": LazyCommand(
        "omnikpi.cli.customers:app",
        "Customers: segments, transitions, RFM, cohorts, 360; forget one on request.",
    ),
    "analyze": LazyCommand("omnikpi.cli.analyze:app", "Ad-hoc analyses: a new store's catchment."),
    "experiment": LazyCommand(
        "omnikpi.cli.experiment:app",
        "Experiments: analyze A/B tests (counts or stored), conversion and brand lift; size "
        "new tests.",
    ),
    "attribution": LazyCommand(
        "omnikpi.cli.attribution:app",
        "Attribution: credit channels by one model; explore journeys; match store orders.",
    ),
    "workspace": LazyCommand(
        "omnikpi.cli.workspace:app",
        "The SQL workspace: read-only SQL over the warehouse, audited.",
    ),
    "audiences": LazyCommand(
        "omnikpi.cli.audiences:app",
        "Audiences: preview and save rules, build target lists with a holdout, export them, "
        "read out campaigns.",
    ),
}


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands' names, without importing them."""
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command `cmd_name`, imported on first use (None if there is none)."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """List the commands with their summaries, shortened as click shortens a help."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, TyperCommand(name, help=command.summary).get_short_help_str(limit))
            for name, command in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As click resolves a command; an unknown name suggests the closest ones."""
        try:
            return self._click_resolve_command(ctx, args)
        except _typer_click.UsageError as exc:
            matches = difflib.get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches:
                suggestions = ", ".join(repr(match) for match in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


def load_command(name: str) -> Any:
    """Import command `name` and build its click command as `app.add_typer` or
    `app.command` would have (same name, plain help without Rich markup)."""
    module, _, attribute = COMMANDS[name].target.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        return get_group_from_info(
            TyperInfo(target, name=name),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=None,
            suggest_commands=True,
        )
    return get_command_from_info(
        CommandInfo(name=name, callback=target),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=None,
    )


app = typer.Typer(
    name="omnikpi",
    cls=LazyGroup,
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


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; usage and data errors print one line and exit with code 2."""
    from omnikpi.cli.output import console, error_console

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
