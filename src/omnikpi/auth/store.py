"""The app-state store: users, sessions, API tokens, app settings and the audit log in one
SQLite file.

It sits beside the warehouse (`shop.duckdb` → `shop.state.sqlite`), not inside it, so
`omnikpi users ...` can change users while the server runs and while the warehouse is
being loaded. SQLite in WAL mode lets one writer and many readers work at once; every
call opens its own short connection, so threads never share one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from omnikpi.errors import ConfigError

#: Bumped whenever _MIGRATIONS grows; stored in SQLite's user_version.
SCHEMA_VERSION = 6

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE users (
            user_id       INTEGER PRIMARY KEY,
            username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role          TEXT NOT NULL,
            locale        TEXT,
            active        INTEGER NOT NULL DEFAULT 1,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        )""",
        """CREATE TABLE sessions (
            session_hash TEXT PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
            created_at   TEXT NOT NULL,
            expires_at   TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_by_user ON sessions (user_id)",
        """CREATE TABLE api_tokens (
            token_id     INTEGER PRIMARY KEY,
            user_id      INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
            name         TEXT NOT NULL,
            token_hash   TEXT NOT NULL UNIQUE,
            scopes       TEXT NOT NULL,
            created_at   TEXT NOT NULL,
            expires_at   TEXT,
            last_used_at TEXT,
            revoked_at   TEXT
        )""",
        """CREATE TABLE app_settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    ),
    (
        """CREATE TABLE audit_log (
            entry_id    INTEGER PRIMARY KEY,
            occurred_at TEXT NOT NULL,
            event       TEXT NOT NULL,
            username    TEXT,
            address     TEXT,
            detail      TEXT NOT NULL
        )""",
        "CREATE INDEX audit_log_by_time ON audit_log (occurred_at)",
    ),
    (
        # The audit log of governance (DESIGN §6): who did what to which customer-level data,
        # how many rows, why, and a hash chain that makes edits and deletions evident.
        "ALTER TABLE audit_log ADD COLUMN actor_role TEXT",
        "ALTER TABLE audit_log ADD COLUMN subject TEXT",
        "ALTER TABLE audit_log ADD COLUMN row_count INTEGER",
        "ALTER TABLE audit_log ADD COLUMN purpose TEXT",
        "ALTER TABLE audit_log ADD COLUMN previous_hash TEXT",
        "ALTER TABLE audit_log ADD COLUMN entry_hash TEXT",
        "CREATE INDEX audit_log_by_user ON audit_log (username, occurred_at)",
        "CREATE INDEX audit_log_by_event ON audit_log (event, occurred_at)",
    ),
    (
        # User administration: a bu_user's business unit, who disabled a user and when, and
        # when each session was last seen (the sessions list per user).
        "ALTER TABLE users ADD COLUMN business_unit TEXT",
        "ALTER TABLE users ADD COLUMN disabled_at TEXT",
        "ALTER TABLE sessions ADD COLUMN last_seen_at TEXT",
        "ALTER TABLE sessions ADD COLUMN address TEXT",
    ),
    (
        # The analysts' SQL workspace: each user's queries (the audit log keeps them too).
        """CREATE TABLE workspace_history (
            run_id     INTEGER PRIMARY KEY,
            username   TEXT NOT NULL COLLATE NOCASE,
            ran_at     TEXT NOT NULL,
            sql_text   TEXT NOT NULL,
            status     TEXT NOT NULL,
            row_count  INTEGER,
            truncated  INTEGER NOT NULL DEFAULT 0,
            elapsed_ms INTEGER,
            message    TEXT
        )""",
        "CREATE INDEX workspace_history_by_user ON workspace_history (username, run_id)",
    ),
    (
        # Business units' audience requests, and the audience an analyst attached to each.
        """CREATE TABLE audience_requests (
            request_id       INTEGER PRIMARY KEY,
            business_unit    TEXT,
            requested_by     TEXT NOT NULL COLLATE NOCASE,
            requested_at     TEXT NOT NULL,
            goal             TEXT NOT NULL,
            audience_idea    TEXT NOT NULL,
            desired_size     INTEGER,
            timing           TEXT,
            status           TEXT NOT NULL DEFAULT 'open',
            audience_id      TEXT,
            audience_version INTEGER,
            attached_by      TEXT,
            attached_at      TEXT,
            note             TEXT,
            campaign_start   TEXT,
            campaign_end     TEXT,
            campaign_cost    REAL
        )""",
        "CREATE INDEX audience_requests_by_unit ON audience_requests (business_unit, status)",
    ),
)


def app_state_path(warehouse: Path) -> Path:
    """Where the app state of `warehouse` lives: $OMNIKPI_APP_STATE, else beside it."""
    env = os.environ.get("OMNIKPI_APP_STATE")
    if env:
        return Path(env)
    return warehouse.with_name(f"{warehouse.stem}.state.sqlite")


def now_utc() -> datetime:
    """The current instant in UTC (the default clock of the store's services)."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """An instant as stored: ISO 8601 in UTC."""
    if moment.tzinfo is None:
        raise ValueError("app-state timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_text(text: str | None) -> datetime | None:
    """A stored instant back as an aware datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


class AppStateStore:
    """Users, sessions, tokens and settings of one omnikpi installation.

    >>> store = AppStateStore.open(Path("shop.state.sqlite"))  # doctest: +SKIP
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path) -> AppStateStore:
        """The store at `path`, created (readable by its owner only) and migrated if needed."""
        if not path.parent.exists():
            raise ConfigError(
                f"cannot create the app-state store {path}: folder {path.parent} does not exist "
                "(create it, or set OMNIKPI_APP_STATE to a file in an existing folder)"
            )
        if not path.exists():
            # The file holds password hashes and the session secret: owner only.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        store = cls(path)
        store._migrate()
        return store

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection in autocommit mode; closed on exit."""
        try:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the app-state store {self.path}: {exc}") from exc
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA busy_timeout = 10000")
            yield connection
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection whose statements commit together (taking the write lock at once)."""
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _migrate(self) -> None:
        with self.connect() as connection:
            connection.execute("PRAGMA journal_mode = WAL")
        with self.transaction() as connection:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the app-state store {self.path} has schema version {version}, newer than "
                    f"this omnikpi understands ({SCHEMA_VERSION}); upgrade omnikpi"
                )
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    connection.execute(statement)
            # PRAGMA takes no parameters; SCHEMA_VERSION is our own integer.
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    # -- app settings ---------------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        """The stored value of app setting `key`, or None."""
        with self.connect() as connection:
            row = connection.execute(
                "SELECT value FROM app_settings WHERE key = ?", (key,)
            ).fetchone()
        return str(row["value"]) if row else None

    def setting_or_create(self, key: str, value: str) -> str:
        """The stored value of `key`; stores `value` first if there is none (race-free)."""
        with self.transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO app_settings (key, value) VALUES (?, ?)", (key, value)
            )
            row = connection.execute(
                "SELECT value FROM app_settings WHERE key = ?", (key,)
            ).fetchone()
        return str(row["value"])
