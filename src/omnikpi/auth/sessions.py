"""Server-side sessions: a random token per sign-in, stored hashed, ended on logout.

Each session remembers when and from which address it was last used, so an administrator
can list a user's sessions and end one. The use is written at most once per
`SEEN_INTERVAL` (or when the address changes), not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from omnikpi.auth.store import AppStateStore, from_text, now_utc, to_text
from omnikpi.auth.users import User, user_from_row
from omnikpi.errors import NotFound

#: How long a sign-in lasts.
SESSION_LIFETIME = timedelta(hours=12)
#: How stale a session's last use may get before a request writes it again.
SEEN_INTERVAL = timedelta(minutes=5)
#: The shortest session id (the start of its stored hash) that revokes a session.
MIN_SESSION_ID = 8
#: The app setting that makes a sign-in end the user's other sessions ("on" / "off").
SINGLE_SESSION_SETTING = "single_session"


@dataclass(frozen=True)
class Session:
    """A session's record (never its token). `session_id` is its stored hash."""

    session_id: str
    username: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    address: str | None

    @property
    def short_id(self) -> str:
        """The first characters of the id: enough to tell sessions apart."""
        return self.session_id[:12]


def token_hash(token: str) -> str:
    """How a random session or API token is kept at rest (SHA-256; tokens are 256-bit)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    store: AppStateStore,
    user: User,
    *,
    now: datetime | None = None,
    address: str | None = None,
    end_others: bool = False,
) -> str:
    """A new session for `user` from `address`; returns its token (only its hash is stored).
    `end_others` ends the user's other sessions (the single-session setting)."""
    moment = to_text(now or now_utc())
    ends = to_text((now or now_utc()) + SESSION_LIFETIME)
    token = secrets.token_urlsafe(32)
    with store.transaction() as connection:
        connection.execute("DELETE FROM sessions WHERE expires_at < ?", (moment,))
        if end_others:
            connection.execute("DELETE FROM sessions WHERE user_id = ?", (user.user_id,))
        connection.execute(
            "INSERT INTO sessions (session_hash, user_id, created_at, expires_at, last_seen_at, "
            "address) VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash(token), user.user_id, moment, ends, moment, address),
        )
    return token


def session_user(
    store: AppStateStore,
    token: str,
    *,
    now: datetime | None = None,
    address: str | None = None,
) -> User | None:
    """The active user of an unexpired session, else None. With `address`, the session's
    last use is recorded (at most once per SEEN_INTERVAL, or when the address changes)."""
    moment = now or now_utc()
    digest = token_hash(token)
    with store.connect() as connection:
        row = connection.execute(
            "SELECT users.*, sessions.last_seen_at AS session_seen, "
            "sessions.address AS session_address FROM sessions JOIN users USING (user_id) "
            "WHERE sessions.session_hash = ? AND sessions.expires_at > ? AND users.active = 1",
            (digest, to_text(moment)),
        ).fetchone()
    if row is None:
        return None
    if address is not None and _stale(row, moment, address):
        with store.transaction() as connection:
            connection.execute(
                "UPDATE sessions SET last_seen_at = ?, address = ? WHERE session_hash = ?",
                (to_text(moment), address, digest),
            )
    return user_from_row(row)


def _stale(row: sqlite3.Row, moment: datetime, address: str) -> bool:
    seen = from_text(row["session_seen"])
    return seen is None or moment - seen >= SEEN_INTERVAL or row["session_address"] != address


def end_session(store: AppStateStore, token: str) -> None:
    """End one session (logout)."""
    with store.transaction() as connection:
        connection.execute("DELETE FROM sessions WHERE session_hash = ?", (token_hash(token),))


def list_sessions(
    store: AppStateStore, username: str, *, now: datetime | None = None
) -> list[Session]:
    """The unexpired sessions of `username`, most recently used first."""
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT sessions.*, users.username FROM sessions JOIN users USING (user_id) "
            "WHERE users.username = ? AND sessions.expires_at > ? "
            "ORDER BY COALESCE(sessions.last_seen_at, sessions.created_at) DESC",
            (username, to_text(now or now_utc())),
        ).fetchall()
    return [_session_from_row(row) for row in rows]


def _session_from_row(row: sqlite3.Row) -> Session:
    created, expires = from_text(row["created_at"]), from_text(row["expires_at"])
    assert created is not None  # NOT NULL column
    assert expires is not None  # NOT NULL column
    return Session(
        session_id=str(row["session_hash"]),
        username=str(row["username"]),
        created_at=created,
        expires_at=expires,
        last_seen_at=from_text(row["last_seen_at"]),
        address=row["address"],
    )


def revoke_session(store: AppStateStore, username: str, session_id: str) -> Session:
    """End the session of `username` whose id starts with `session_id` (at least
    MIN_SESSION_ID characters); NotFound if no single session of theirs matches."""
    prefix = session_id.strip().lower()
    with store.transaction() as connection:
        rows = connection.execute(
            "SELECT sessions.*, users.username FROM sessions JOIN users USING (user_id) "
            "WHERE users.username = ? AND substr(sessions.session_hash, 1, ?) = ?",
            (username, len(prefix), prefix),
        ).fetchall()
        if len(prefix) < MIN_SESSION_ID or len(rows) != 1:
            raise NotFound(
                f'no session "{session_id}" of user "{username}" (give at least '
                f"{MIN_SESSION_ID} characters of an id `omnikpi users sessions {username}` lists)"
            )
        connection.execute(
            "DELETE FROM sessions WHERE session_hash = ?", (rows[0]["session_hash"],)
        )
    return _session_from_row(rows[0])


def single_session(store: AppStateStore) -> bool:
    """Whether a sign-in ends the user's other sessions (off unless an admin turned it on)."""
    return store.get_setting(SINGLE_SESSION_SETTING) == "on"


def set_single_session(store: AppStateStore, on: bool) -> None:
    """Turn the single-session setting on or off."""
    with store.transaction() as connection:
        connection.execute(
            "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
            (SINGLE_SESSION_SETTING, "on" if on else "off"),
        )
