"""Bearer API tokens: scoped to a few actions, shown once, stored hashed."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from omnikpi.auth.permissions import Action, parse_scopes
from omnikpi.auth.sessions import token_hash
from omnikpi.auth.store import AppStateStore, from_text, now_utc, to_text
from omnikpi.auth.users import User, get_user, user_from_row
from omnikpi.errors import ConfigError

#: Every token starts with this, so leaked tokens are easy to spot in logs and scanners.
TOKEN_PREFIX = "okpi_"


@dataclass(frozen=True)
class ApiToken:
    """A token's record (never its secret)."""

    token_id: int
    username: str
    name: str
    scopes: frozenset[Action]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


def _token_from_row(row: sqlite3.Row) -> ApiToken:
    created = from_text(row["created_at"])
    assert created is not None  # NOT NULL column
    return ApiToken(
        token_id=int(row["token_id"]),
        username=str(row["username"]),
        name=str(row["name"]),
        scopes=parse_scopes(str(row["scopes"]).split()),
        created_at=created,
        expires_at=from_text(row["expires_at"]),
        last_used_at=from_text(row["last_used_at"]),
        revoked=row["revoked_at"] is not None,
    )


def create_api_token(
    store: AppStateStore,
    username: str,
    name: str,
    scopes: frozenset[Action],
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `username`; returns its record and the secret (shown only now)."""
    if not scopes:
        raise ConfigError("an API token needs at least one scope (e.g. --scope read_profile)")
    user = get_user(store, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as connection:
        cursor = connection.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                user.user_id,
                name,
                token_hash(secret),
                " ".join(sorted(scope.value for scope in scopes)),
                to_text(now or now_utc()),
                to_text(expires_at) if expires_at else None,
            ),
        )
        token_id = cursor.lastrowid
    return next(t for t in list_api_tokens(store, username) if t.token_id == token_id), secret


def list_api_tokens(store: AppStateStore, username: str | None = None) -> list[ApiToken]:
    """Tokens of `username` (or of everyone), newest first."""
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT api_tokens.*, users.username FROM api_tokens JOIN users USING (user_id) "
            "WHERE ? IS NULL OR users.username = ? ORDER BY token_id DESC",
            (username, username),
        ).fetchall()
    return [_token_from_row(row) for row in rows]


def revoke_api_token(store: AppStateStore, token_id: int, *, now: datetime | None = None) -> None:
    """Stop a token from working."""
    with store.transaction() as connection:
        connection.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
            (to_text(now or now_utc()), token_id),
        )


def authenticate_token(
    store: AppStateStore, secret: str, *, now: datetime | None = None
) -> tuple[User, frozenset[Action]] | None:
    """The active user and scopes of a valid, unexpired, unrevoked token, else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    moment = to_text(now or now_utc())
    with store.transaction() as connection:
        row = connection.execute(
            "SELECT users.*, api_tokens.token_id, api_tokens.scopes FROM api_tokens "
            "JOIN users USING (user_id) WHERE api_tokens.token_hash = ? "
            "AND api_tokens.revoked_at IS NULL AND users.active = 1 "
            "AND (api_tokens.expires_at IS NULL OR api_tokens.expires_at > ?)",
            (token_hash(secret), moment),
        ).fetchone()
        if row is None:
            return None
        connection.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?", (moment, row["token_id"])
        )
    return user_from_row(row), parse_scopes(str(row["scopes"]).split())
