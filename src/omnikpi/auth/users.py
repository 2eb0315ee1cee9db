"""Users: create, list, change role and business unit, disable, authenticate, remember their
language.

A password an administrator resets is temporary: its stored hash carries the prefix
`temporary:` (argon2 hashes start with `$`, so the two never clash), sign-in then asks
for a new password before it starts a session, and any new password drops the prefix.
"""

from __future__ import annotations

import hashlib
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
#: A business unit's name: 1-64 letters (any script), digits, spaces and `& . _ -`.
_BUSINESS_UNIT = re.compile(r"^[^\W_][\w &.-]{0,63}$")
#: Prefix of the stored hash of a temporary password (see the module docstring).
_TEMPORARY = "temporary:"


class PasswordChangeExpired(ConfigError):
    """The temporary password was replaced (or reset again) since the change form was
    shown: sign in again."""


@dataclass(frozen=True)
class User:
    """A person who signs in to omnikpi."""

    user_id: int
    username: str
    role: UserRole
    locale: Locale | None
    active: bool
    created_at: datetime
    #: The business unit of a bu_user (DESIGN §6: a BU sees its own data packages).
    business_unit: str | None = None
    #: When the user was disabled (None while active).
    disabled_at: datetime | None = None
    #: Whether the password is a temporary one that must be replaced at sign-in.
    password_temporary: bool = False


def check_username(username: str) -> str:
    """`username` if it is 1-64 letters, digits or `_ . @ -`, else a ConfigError."""
    if not _USERNAME.match(username):
        raise ConfigError(
            f'username "{username}" is not valid (use 1-64 letters, digits, "_", ".", "@" '
            'or "-", starting with a letter or digit)'
        )
    return username


def check_business_unit(name: str) -> str:
    """`name` with its spaces tidied if it is a valid business unit name, else a ConfigError.

    >>> check_business_unit("  Home   & Living ")
    'Home & Living'
    """
    tidy = " ".join(name.split())
    if not _BUSINESS_UNIT.match(tidy):
        raise ConfigError(
            f'business unit "{name}" is not valid (use 1-64 letters, digits, spaces, "&", ".", '
            '"_" or "-", starting with a letter or digit)'
        )
    return tidy


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
        business_unit=row["business_unit"],
        disabled_at=from_text(row["disabled_at"]),
        password_temporary=str(row["password_hash"]).startswith(_TEMPORARY),
    )


def create_user(
    store: AppStateStore,
    username: str,
    password: str,
    role: UserRole,
    *,
    locale: Locale | None = None,
    business_unit: str | None = None,
    temporary: bool = False,
    check_strength: bool = True,
    now: datetime | None = None,
) -> User:
    """A new active user; ConfigError if the name is taken or the password too weak.

    A `temporary` password must be replaced at the first sign-in.
    """
    check_username(username)
    unit = check_business_unit(business_unit) if business_unit is not None else None
    if check_strength:
        check_password_strength(password)
    stamp = to_text(now or now_utc())
    password_hash = _stored_hash(password, temporary=temporary)
    with store.transaction() as connection:
        try:
            connection.execute(
                "INSERT INTO users (username, password_hash, role, locale, business_unit, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (username, password_hash, str(role), locale, unit, stamp, stamp),
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
    now: datetime | None = None,
) -> User:
    # `assignments` is always a literal from this module, never user input.
    with store.transaction() as connection:
        cursor = connection.execute(
            f"UPDATE users SET {assignments}, updated_at = ? WHERE username = ?",
            (*values, to_text(now or now_utc()), username),
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


def set_role(
    store: AppStateStore, username: str, role: UserRole, *, business_unit: str | None = None
) -> User:
    """Give `username` the role `role` and the business unit `business_unit` (a bu_user's;
    None for other roles); takes effect on their next request."""
    unit = check_business_unit(business_unit) if business_unit is not None else None
    return _update(store, username, "role = ?, business_unit = ?", (str(role), unit))


def set_business_unit(store: AppStateStore, username: str, business_unit: str | None) -> User:
    """Move `username` to `business_unit` (None: none); takes effect on their next request."""
    unit = check_business_unit(business_unit) if business_unit is not None else None
    return _update(store, username, "business_unit = ?", (unit,))


def disable_user(store: AppStateStore, username: str, *, now: datetime | None = None) -> User:
    """Stop `username` from signing in; ends their sessions, and their API tokens stop working."""
    moment = now or now_utc()
    assignments = "active = 0, disabled_at = ?"
    return _update(store, username, assignments, (to_text(moment),), end_sessions=True, now=moment)


def enable_user(store: AppStateStore, username: str) -> User:
    """Let a disabled user sign in again."""
    return _update(store, username, "active = 1, disabled_at = NULL", ())


def _stored_hash(password: str, *, temporary: bool) -> str:
    """The hash to store for `password` (marked if it is temporary)."""
    return (_TEMPORARY if temporary else "") + hash_password(password)


def set_password(
    store: AppStateStore,
    username: str,
    password: str,
    *,
    temporary: bool = False,
    check_strength: bool = True,
) -> User:
    """Replace the password of `username`; ends their sessions. A `temporary` password must
    be replaced at the next sign-in."""
    if check_strength:
        check_password_strength(password)
    stored = _stored_hash(password, temporary=temporary)
    return _update(store, username, "password_hash = ?", (stored,), end_sessions=True)


def temporary_password_stamp(store: AppStateStore, username: str) -> str | None:
    """A fingerprint of the temporary password `username` has now (None if theirs is not
    temporary): a form to replace it carries the stamp, so it works once."""
    with store.connect() as connection:
        row = connection.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
    if row is None or not str(row["password_hash"]).startswith(_TEMPORARY):
        return None
    return hashlib.sha256(str(row["password_hash"]).encode("utf-8")).hexdigest()


def replace_temporary_password(
    store: AppStateStore, username: str, stamp: str, password: str
) -> User:
    """Replace the temporary password whose stamp is `stamp` with `password` (the user's
    own choice); PasswordChangeExpired if that temporary password is gone."""
    check_password_strength(password)
    stored = hash_password(password)
    with store.transaction() as connection:
        row = connection.execute(
            "SELECT password_hash FROM users WHERE username = ?", (username,)
        ).fetchone()
        current = str(row["password_hash"]) if row else ""
        fingerprint = hashlib.sha256(current.encode("utf-8")).hexdigest()
        if not current.startswith(_TEMPORARY) or fingerprint != stamp:
            raise PasswordChangeExpired(
                f'the temporary password of "{username}" has changed since this form was '
                "shown (sign in again with the password you have now)"
            )
        connection.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE username = ?",
            (stored, to_text(now_utc()), username),
        )
    return get_user(store, username)


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
    password_hash = str(row["password_hash"]).removeprefix(_TEMPORARY) if row else None
    if not verify_password(password_hash, password) or row is None or not row["active"]:
        return None
    temporary = str(row["password_hash"]).startswith(_TEMPORARY)
    if password_hash and not temporary and needs_rehash(password_hash):
        with store.transaction() as connection:
            connection.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?",
                (hash_password(password), row["user_id"]),
            )
    return user_from_row(row)
