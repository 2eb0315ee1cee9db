"""Users: create, list, change role, disable, authenticate, remember their language."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from omnikpi.auth.passwords import (
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from omnikpi.auth.roles import UserRole, parse_role
from omnikpi.auth.store import AppStateStore, from_text, now_utc, to_text
from omnikpi.errors import ConfigError, NotFound
from omnikpi.i18n import Locale, is_locale

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class User:
    """A person who signs in to omnikpi."""

    user_id: int
    username: str
    role: UserRole
    locale: Locale | None
    active: bool
    created_at: datetime


def check_username(username: str) -> str:
    """`username` if it is 1-64 letters, digits or `_ . @ -`, else a ConfigError."""
    if not _USERNAME.match(username):
        raise ConfigError(
            f'username "{username}" is not valid (use 1-64 letters, digits, "_", ".", "@" '
            'or "-", starting with a letter or digit)'
        )
    return username


def user_from_row(row: sqlite3.Row) -> User:
    """A User from a row of the users table."""
    locale = row["locale"]
    created = from_text(row["created_at"])
    assert created is not None  # NOT NULL column
    return User(
        user_id=int(row["user_id"]),
        username=str(row["username"]),
        role=parse_role(row["role"]),
        locale=locale if is_locale(locale) else None,
        active=bool(row["active"]),
        created_at=created,
    )


def create_user(
    store: AppStateStore,
    username: str,
    password: str,
    role: UserRole,
    *,
    locale: Locale | None = None,
    check_strength: bool = True,
    now: datetime | None = None,
) -> User:
    """A new active user; ConfigError if the name is taken or the password too weak."""
    check_username(username)
    if check_strength:
        check_password_strength(password)
    stamp = to_text(now or now_utc())
    password_hash = hash_password(password)
    with store.transaction() as connection:
        try:
            connection.execute(
                "INSERT INTO users (username, password_hash, role, locale, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (username, password_hash, str(role), locale, stamp, stamp),
            )
        except sqlite3.IntegrityError:
            raise ConfigError(
                f'user "{username}" already exists (use `omnikpi users set-role` to change it)'
            ) from None
    return get_user(store, username)


def get_user(store: AppStateStore, username: str) -> User:
    """The user called `username` (case-insensitive); NotFound if there is none."""
    with store.connect() as connection:
        row = connection.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise NotFound(f'no user "{username}" (see `omnikpi users list`)')
    return user_from_row(row)


def find_user(store: AppStateStore, user_id: int) -> User | None:
    """The user with id `user_id`, or None."""
    with store.connect() as connection:
        row = connection.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return user_from_row(row) if row else None


def list_users(store: AppStateStore) -> list[User]:
    """Every user, by name."""
    with store.connect() as connection:
        rows = connection.execute("SELECT * FROM users ORDER BY username").fetchall()
    return [user_from_row(row) for row in rows]


def _update(
    store: AppStateStore,
    username: str,
    assignments: str,
    values: tuple[object, ...],
    *,
    end_sessions: bool = False,
) -> User:
    # `assignments` is always a literal from this module, never user input.
    with store.transaction() as connection:
        cursor = connection.execute(
            f"UPDATE users SET {assignments}, updated_at = ? WHERE username = ?",
            (*values, to_text(now_utc()), username),
        )
        if cursor.rowcount == 0:
            raise NotFound(f'no user "{username}" (see `omnikpi users list`)')
        if end_sessions:
            connection.execute(
                "DELETE FROM sessions WHERE user_id = "
                "(SELECT user_id FROM users WHERE username = ?)",
                (username,),
            )
    return get_user(store, username)


def set_role(store: AppStateStore, username: str, role: UserRole) -> User:
    """Give `username` the role `role` (takes effect on their next request)."""
    return _update(store, username, "role = ?", (str(role),))


def disable_user(store: AppStateStore, username: str) -> User:
    """Stop `username` from signing in; ends their sessions, and their API tokens stop working."""
    return _update(store, username, "active = 0", (), end_sessions=True)


def enable_user(store: AppStateStore, username: str) -> User:
    """Let a disabled user sign in again."""
    return _update(store, username, "active = 1", ())


def set_password(
    store: AppStateStore, username: str, password: str, *, check_strength: bool = True
) -> User:
    """Replace the password of `username`; ends their sessions."""
    if check_strength:
        check_password_strength(password)
    return _update(
        store, username, "password_hash = ?", (hash_password(password),), end_sessions=True
    )


def set_locale(store: AppStateStore, user_id: int, locale: Locale) -> None:
    """Remember the language `user_id` chose."""
    with store.transaction() as connection:
        connection.execute("UPDATE users SET locale = ? WHERE user_id = ?", (locale, user_id))


def authenticate(store: AppStateStore, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    with store.connect() as connection:
        row = connection.execute(
            "SELECT * FROM users WHERE username = ?", (username.strip(),)
        ).fetchone()
    password_hash = str(row["password_hash"]) if row else None
    if not verify_password(password_hash, password) or row is None or not row["active"]:
        return None
    if password_hash and needs_rehash(password_hash):
        with store.transaction() as connection:
            connection.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?",
                (hash_password(password), row["user_id"]),
            )
    return user_from_row(row)
