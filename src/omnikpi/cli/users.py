"""`omnikpi users`: the people who sign in to the web app, kept beside the warehouse."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import typer

from omnikpi.auth import (
    ROLE_CHOICES,
    Action,
    AppStateStore,
    User,
    app_state_path,
    create_api_token,
    create_user,
    disable_user,
    enable_user,
    list_users,
    parse_role,
    parse_scopes,
    set_role,
)
from omnikpi.auth.store import now_utc
from omnikpi.auth.users import check_username
from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.errors import ConfigError
from omnikpi.i18n import Locale, parse_locale

app = typer.Typer(help="Manage the people who sign in to the web app.", no_args_is_help=True)

_ROLE_HELP = f"Role: {', '.join(ROLE_CHOICES)}."


def open_store(warehouse: Path | None) -> AppStateStore:
    """The app-state store of the warehouse named by --warehouse (or its default)."""
    return AppStateStore.open(app_state_path(warehouse_path(warehouse)))


def _user_row(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "role": str(user.role),
        "language": user.locale or "",
        "active": user.active,
        "created": user.created_at.isoformat(timespec="seconds"),
    }


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ConfigError("--password-stdin read an empty line (pipe the password in)")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option(..., "--role", "-r", help=_ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    language: str | None = typer.Option(None, "--language", help="ko or en (default: browser)."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Add a user; asks for the password (at least 8 characters)."""
    user_role = parse_role(role)
    check_username(username)
    locale: Locale | None = parse_locale(language) if language else None
    store = open_store(warehouse)
    password = _read_password(password_stdin)
    user = create_user(store, username, password, user_role, locale=locale)
    console.print(f"Added {user.username} ({user.role}).", markup=False)


@app.command("list")
def list_command(
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """Every user with role, language and whether they may sign in."""
    rows = [_user_row(user) for user in list_users(open_store(warehouse))]
    shown = [{**row, "active": "yes" if row["active"] else "no"} for row in rows]
    columns = ["username", "role", "language", "active", "created"]
    render_rows(shown, columns, fmt.value, "Users", json_document=rows)


@app.command("set-role")
def set_role_command(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Argument(..., help=_ROLE_HELP),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Change a user's role; it applies to their next request."""
    user = set_role(open_store(warehouse), username, parse_role(role))
    console.print(f"{user.username} is now {user.role}.", markup=False)


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="Sign-in name."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Stop a user from signing in; ends their sessions and API tokens at once."""
    user = disable_user(open_store(warehouse), username)
    console.print(f"{user.username} is disabled.", markup=False)


@app.command("enable")
def enable(
    username: str = typer.Argument(..., help="Sign-in name."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Let a disabled user sign in again."""
    user = enable_user(open_store(warehouse), username)
    console.print(f"{user.username} is enabled.", markup=False)


@app.command("token")
def token(
    username: str = typer.Argument(..., help="Sign-in name of the token's owner."),
    name: str = typer.Option(..., "--name", help="What the token is for, e.g. 'BI refresh'."),
    scopes: list[str] = typer.Option(
        ...,
        "--scope",
        help=f"An action the token may do (repeat): {', '.join(a.value for a in Action)}.",
    ),
    days: int | None = typer.Option(None, "--days", min=1, help="Expire after this many days."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Create a bearer token for the JSON API; it is printed once and stored hashed."""
    expires = now_utc() + timedelta(days=days) if days else None
    record, secret = create_api_token(
        open_store(warehouse), username, name, parse_scopes(scopes), expires_at=expires
    )
    console.print(
        f"Token {record.token_id} for {record.username} "
        f"({', '.join(sorted(s.value for s in record.scopes))}); copy it now, it is not shown "
        "again:",
        markup=False,
    )
    console.print(secret, markup=False, highlight=False)
