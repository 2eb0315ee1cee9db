"""`omnikpi users`: the people who sign in to the web app, kept beside the warehouse.

Every change goes through `omnikpi.services.users` as `cli:<os user>` and is audited
there, as the same change made on the admin pages is.
"""

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
    parse_role,
    parse_scopes,
)
from omnikpi.auth.audit import Actor
from omnikpi.auth.store import now_utc
from omnikpi.auth.users import check_username
from omnikpi.cli.options import WarehouseOption, warehouse_path
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.errors import ConfigError
from omnikpi.i18n import Locale, parse_locale
from omnikpi.services import users as service

app = typer.Typer(help="Manage the people who sign in to the web app.", no_args_is_help=True)

_ROLE_HELP = f"Role: {', '.join(ROLE_CHOICES)}."
_UNIT_HELP = "Business unit of a bu_user (required for bu_user, refused for other roles)."
_USERNAME_ARGUMENT = typer.Argument(..., help="Sign-in name.")


def open_store(warehouse: Path | None) -> AppStateStore:
    """The app-state store of the warehouse named by --warehouse (or its default)."""
    return AppStateStore.open(app_state_path(warehouse_path(warehouse)))


def _user_row(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "role": str(user.role),
        "business_unit": user.business_unit or "",
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


def _print_temporary(username: str, password: str) -> None:
    console.print(
        f"Temporary password for {username} (give it to them; it is not shown again, and "
        "they choose their own at the next sign-in):",
        markup=False,
    )
    console.print(password, markup=False, highlight=False)


@app.command("add")
def add(
    username: str = _USERNAME_ARGUMENT,
    role: str = typer.Option(..., "--role", "-r", help=_ROLE_HELP),
    business_unit: str | None = typer.Option(None, "--business-unit", help=_UNIT_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    temporary: bool = typer.Option(
        False,
        "--temporary-password",
        help="Print a temporary password instead of asking; replaced at the first sign-in.",
    ),
    language: str | None = typer.Option(None, "--language", help="ko or en (default: browser)."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Add a user; asks for the password (at least 8 characters) unless it is temporary."""
    user_role = parse_role(role)
    check_username(username)
    locale: Locale | None = parse_locale(language) if language else None
    store = open_store(warehouse)
    password = None if temporary else _read_password(password_stdin)
    added = service.add_user(
        store,
        Actor.cli(),
        username,
        user_role,
        password=password,
        business_unit=business_unit,
        locale=locale,
    )
    unit = f", {added.user.business_unit}" if added.user.business_unit else ""
    console.print(f"Added {added.user.username} ({added.user.role}{unit}).", markup=False)
    if added.temporary_password is not None:
        _print_temporary(added.user.username, added.temporary_password)


@app.command("list")
def list_command(
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """Every user with role, business unit, language and whether they may sign in."""
    rows = [_user_row(user) for user in service.users_of(open_store(warehouse), Actor.cli())]
    shown = [{**row, "active": "yes" if row["active"] else "no"} for row in rows]
    columns = ["username", "role", "business_unit", "language", "active", "created"]
    render_rows(shown, columns, fmt.value, "Users", json_document=rows)


@app.command("set-role")
def set_role_command(
    username: str = _USERNAME_ARGUMENT,
    role: str = typer.Argument(..., help=_ROLE_HELP),
    business_unit: str | None = typer.Option(None, "--business-unit", help=_UNIT_HELP),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Change a user's role; it applies to their next request."""
    user = service.change_role(
        open_store(warehouse), Actor.cli(), username, parse_role(role), business_unit=business_unit
    )
    unit = f" in {user.business_unit}" if user.business_unit else ""
    console.print(f"{user.username} is now {user.role}{unit}.", markup=False)


@app.command("set-unit")
def set_unit(
    username: str = _USERNAME_ARGUMENT,
    business_unit: str = typer.Argument(..., help="The bu_user's new business unit."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Move a bu_user to another business unit; it applies to their next request."""
    user = service.change_business_unit(open_store(warehouse), Actor.cli(), username, business_unit)
    console.print(f"{user.username} is now in {user.business_unit}.", markup=False)


@app.command("disable")
def disable(
    username: str = _USERNAME_ARGUMENT,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Stop a user from signing in; ends their sessions and API tokens at once."""
    user = service.disable(open_store(warehouse), Actor.cli(), username)
    console.print(f"{user.username} is disabled.", markup=False)


@app.command("enable")
def enable(
    username: str = _USERNAME_ARGUMENT,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Let a disabled user sign in again."""
    user = service.enable(open_store(warehouse), Actor.cli(), username)
    console.print(f"{user.username} is enabled.", markup=False)


@app.command("reset-password")
def reset_password(
    username: str = _USERNAME_ARGUMENT,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Print a temporary password; the user's sessions end and they choose their own
    password at the next sign-in."""
    password = service.reset_password(open_store(warehouse), Actor.cli(), username)
    _print_temporary(username, password)


@app.command("sessions")
def sessions(
    username: str = _USERNAME_ARGUMENT,
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """A user's open sessions: id, when started, last used, from which address."""
    found = service.sessions_of(open_store(warehouse), Actor.cli(), username)
    rows = [
        {
            "id": session.short_id,
            "started": session.created_at.isoformat(timespec="seconds"),
            "last_seen": session.last_seen_at.isoformat(timespec="seconds")
            if session.last_seen_at
            else None,
            "address": session.address,
            "expires": session.expires_at.isoformat(timespec="seconds"),
        }
        for session in found
    ]
    columns = ["id", "started", "last_seen", "address", "expires"]
    render_rows(rows, columns, fmt.value, f"Sessions of {username}")


@app.command("revoke-session")
def revoke_session(
    username: str = _USERNAME_ARGUMENT,
    session_id: str = typer.Argument(..., help="The id `omnikpi users sessions` lists."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """End one of a user's sessions (their browser is signed out at its next request)."""
    ended = service.revoke_user_session(open_store(warehouse), Actor.cli(), username, session_id)
    console.print(f"Session {ended.short_id} of {ended.username} ended.", markup=False)


@app.command("single-session")
def single_session(
    state: str | None = typer.Argument(None, help="on or off (omit to show the setting)."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Whether signing in ends the user's other sessions (off by default)."""
    store = open_store(warehouse)
    if state is not None:
        if state not in ("on", "off"):
            raise ConfigError(f'single-session "{state}" is not valid (use on or off)')
        service.set_single_session_setting(store, Actor.cli(), state == "on")
    shown = "on" if service.single_session(store) else "off"
    console.print(f"single-session is {shown}.", markup=False)


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
    record, secret = service.create_token(
        open_store(warehouse),
        Actor.cli(),
        username,
        name,
        parse_scopes(scopes),
        expires_at=expires,
    )
    console.print(
        f"Token {record.token_id} for {record.username} "
        f"({', '.join(sorted(s.value for s in record.scopes))}); copy it now, it is not shown "
        "again:",
        markup=False,
    )
    console.print(secret, markup=False, highlight=False)


@app.command("tokens")
def tokens(
    username: str = _USERNAME_ARGUMENT,
    warehouse: Path | None = WarehouseOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """A user's API tokens (never their secrets), newest first."""
    found = service.tokens_of(open_store(warehouse), Actor.cli(), username)
    rows = [
        {
            "id": record.token_id,
            "name": record.name,
            "scopes": " ".join(sorted(scope.value for scope in record.scopes)),
            "created": record.created_at.isoformat(timespec="seconds"),
            "expires": record.expires_at.isoformat(timespec="seconds")
            if record.expires_at
            else None,
            "last_used": record.last_used_at.isoformat(timespec="seconds")
            if record.last_used_at
            else None,
            "revoked": record.revoked,
        }
        for record in found
    ]
    columns = ["id", "name", "scopes", "created", "expires", "last_used", "revoked"]
    render_rows(rows, columns, fmt.value, f"API tokens of {username}")


@app.command("revoke-token")
def revoke_token(
    username: str = _USERNAME_ARGUMENT,
    token_id: int = typer.Argument(..., help="The id `omnikpi users tokens` lists."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Stop one of a user's API tokens from working."""
    record = service.revoke_user_token(open_store(warehouse), Actor.cli(), username, token_id)
    console.print(f"Token {record.token_id} of {record.username} revoked.", markup=False)
