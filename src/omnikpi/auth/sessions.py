"""Server-side sessions: a random token per sign-in, stored hashed, ended on logout."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from omnikpi.auth.store import AppStateStore, now_utc, to_text
from omnikpi.auth.users import User, user_from_row

#: How long a sign-in lasts.
SESSION_LIFETIME = timedelta(hours=12)


def token_hash(token: str) -> str:
    """How a random session or API token is kept at rest (SHA-256; tokens are 256-bit)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(store: AppStateStore, user: User, *, now: datetime | None = None) -> str:
    """A new session for `user`; returns its token (only its hash is stored)."""
    moment = now or now_utc()
    token = secrets.token_urlsafe(32)
    with store.transaction() as connection:
        connection.execute("DELETE FROM sessions WHERE expires_at < ?", (to_text(moment),))
        connection.execute(
            "INSERT INTO sessions (session_hash, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (token_hash(token), user.user_id, to_text(moment), to_text(moment + SESSION_LIFETIME)),
        )
    return token


def session_user(store: AppStateStore, token: str, *, now: datetime | None = None) -> User | None:
    """The active user of an unexpired session, else None."""
    with store.connect() as connection:
        row = connection.execute(
            "SELECT users.* FROM sessions JOIN users USING (user_id) "
            "WHERE sessions.session_hash = ? AND sessions.expires_at > ? AND users.active = 1",
            (token_hash(token), to_text(now or now_utc())),
        ).fetchone()
    return user_from_row(row) if row else None


def end_session(store: AppStateStore, token: str) -> None:
    """End one session (logout)."""
    with store.transaction() as connection:
        connection.execute("DELETE FROM sessions WHERE session_hash = ?", (token_hash(token),))
