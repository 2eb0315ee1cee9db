"""The audit log: an append-only, tamper-evident record kept in the app-state store.

Each entry says when, what (`AuditEvent`), who acted (username, role, client address),
what it was about (`subject`: a customer id, a username, an export), how many
customer rows it returned, why (`purpose`, required for exports) and a line of detail.
Entries are also written to the `omnikpi.audit` logger, so they show in the server's log.

Tamper-evident: each entry carries the hash of the one before it (`previous_hash`) and
its own (`entry_hash`, SHA-256 over the entry and `previous_hash`), so changing an entry
breaks its hash and removing one breaks the link of the next; `verify_audit_chain` finds
the first break. The newest entry's id and hash are also kept in `app_settings` (the
head), so removing the last entries is evident too. There is no API to change or remove
an entry. Entries written before the hash chain existed (schema 2) carry no hash; the
chain starts at the first hashed entry.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnikpi.auth.permissions import Action
from omnikpi.auth.roles import Role, UserRole
from omnikpi.auth.store import AppStateStore, from_text, now_utc, to_text

log = logging.getLogger("omnikpi.audit")
#: Longest username, address or role kept in an entry (what a form sends may be far longer).
_MAX_TEXT = 128
#: Longest subject and purpose kept in an entry.
_MAX_LONG_TEXT = 1000
#: The `previous_hash` of the first hashed entry.
GENESIS_HASH = "0" * 64
#: The app setting that holds "<entry id> <entry hash>" of the newest entry.
HEAD_SETTING = "audit_log_head"


class AuditEvent(StrEnum):
    """What an audit entry records; values are stable (stored, and `--action` filters)."""

    #: A sign-in with a wrong username or password.
    SIGN_IN_FAILED = "sign_in_failed"
    #: Failed sign-ins made an account or address wait before its next attempt.
    SIGN_IN_THROTTLED = "sign_in_throttled"
    #: Failed sign-ins locked an account or address out for a while.
    SIGN_IN_LOCKED = "sign_in_locked"
    #: Customer-level rows were read (page, API or CLI).
    CUSTOMER_READ = "customer_read"
    #: Customer-level rows were exported (with a purpose).
    CUSTOMER_EXPORT = "customer_export"
    #: A customer was forgotten (erased or pseudonymised).
    CUSTOMER_FORGOTTEN = "customer_forgotten"
    #: An admin allowed (or forbade again) a source's personal identifiers in clear.
    RAW_IDENTIFIERS_ALLOWED = "raw_identifiers_allowed"
    RAW_IDENTIFIERS_FORBIDDEN = "raw_identifiers_forbidden"
    USER_ADDED = "user_added"
    ROLE_CHANGED = "role_changed"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    PASSWORD_RESET = "password_reset"
    SESSION_REVOKED = "session_revoked"
    BUSINESS_UNIT_CHANGED = "business_unit_changed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    #: An analyst's SQL ran in the workspace, or was refused (the detail says which).
    ADHOC_SQL = "adhoc_sql"
    #: The permission table refused a customer-level action.
    ACCESS_DENIED = "access_denied"


#: Events that are logged as warnings (the rest at info level).
_WARNINGS = frozenset(
    {
        AuditEvent.SIGN_IN_FAILED,
        AuditEvent.SIGN_IN_THROTTLED,
        AuditEvent.SIGN_IN_LOCKED,
        AuditEvent.ACCESS_DENIED,
    }
)


@dataclass(frozen=True)
class Actor:
    """Who asks: a signed-in user on a page or the API, or someone at the command line.

    `channel` is `page`, `api` or `cli`; `scopes` narrows an API token.

    >>> Actor("mina", UserRole(Role.ANALYST), "10.0.0.7", channel="api").channel
    'api'
    """

    username: str
    role: UserRole
    address: str | None = None
    channel: str = "page"
    scopes: frozenset[Action] | None = None

    @classmethod
    def cli(cls) -> Actor:
        """The person running the CLI, as `cli:<os user>`, with the admin role (whoever
        can run it on the server can read the warehouse and app-state files anyway)."""
        try:
            name = getpass.getuser()
        except (OSError, KeyError):  # no user name in the environment or the passwd file
            name = f"uid{os.getuid()}"
        return cls(f"cli:{name}", UserRole(Role.ADMIN), None, channel="cli")


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log."""

    entry_id: int
    occurred_at: datetime
    event: AuditEvent
    username: str | None
    address: str | None
    detail: str
    actor_role: str | None = None
    subject: str | None = None
    row_count: int | None = None
    purpose: str | None = None
    previous_hash: str | None = None
    entry_hash: str | None = None


def entry_hash(
    entry_id: int,
    occurred_at: str,
    event: str,
    username: str | None,
    address: str | None,
    actor_role: str | None,
    subject: str | None,
    row_count: int | None,
    purpose: str | None,
    detail: str,
    previous_hash: str,
) -> str:
    """The SHA-256 (hex) of an entry: a JSON array of its stored values, in column order.

    >>> entry_hash(1, "2025-01-01T00:00:00+00:00", "sign_in_failed", "mina", None, None,
    ...            None, None, None, "wrong password", GENESIS_HASH)[:12]
    '6c9773e916e9'
    """
    canonical = json.dumps(
        [
            entry_id,
            occurred_at,
            event,
            username,
            address,
            actor_role,
            subject,
            row_count,
            purpose,
            detail,
            previous_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _cut(text: str | None, limit: int) -> str | None:
    return text[:limit] if text is not None else None


def _head(connection: sqlite3.Connection) -> tuple[int, str] | None:
    """The id and hash of the newest entry, as the head setting keeps them."""
    row = connection.execute(
        "SELECT value FROM app_settings WHERE key = ?", (HEAD_SETTING,)
    ).fetchone()
    if row is None:
        return None
    entry_id, _, digest = str(row["value"]).partition(" ")
    return int(entry_id), digest


def record_audit(
    store: AppStateStore,
    event: AuditEvent,
    detail: str,
    *,
    username: str | None = None,
    address: str | None = None,
    actor_role: str | None = None,
    subject: str | None = None,
    row_count: int | None = None,
    purpose: str | None = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append an entry to the audit log (and the `omnikpi.audit` logger).

    `username` is who acted (`cli:<os user>` for the CLI), `subject` what it was about;
    an `actor` fills in username, role and address at once.
    The entry links to the newest one under the store's write lock, so concurrent
    writers cannot fork the chain.

    >>> record_audit(store, AuditEvent.SIGN_IN_LOCKED, "locked", username="mina")  # doctest: +SKIP
    """
    if actor is not None:
        username, address, actor_role = actor.username, actor.address, str(actor.role)
    name = _cut(username, _MAX_TEXT)
    where = _cut(address, _MAX_TEXT)
    role = _cut(actor_role, _MAX_TEXT)
    about = _cut(subject, _MAX_LONG_TEXT)
    why = _cut(purpose, _MAX_LONG_TEXT)
    stamp = to_text(now or now_utc())
    with store.transaction() as connection:
        last = connection.execute(
            "SELECT entry_id, entry_hash FROM audit_log ORDER BY entry_id DESC LIMIT 1"
        ).fetchone()
        head = _head(connection)
        if head is not None:
            # Link to what was last written, even if someone removed it since: the break shows.
            previous_id, previous = head
            entry_id = max(previous_id, int(last["entry_id"]) if last else 0) + 1
        else:
            entry_id = int(last["entry_id"]) + 1 if last else 1
            previous = str(last["entry_hash"]) if last and last["entry_hash"] else GENESIS_HASH
        digest = entry_hash(
            entry_id, stamp, str(event), name, where, role, about, row_count, why, detail, previous
        )
        connection.execute(
            "INSERT INTO audit_log (entry_id, occurred_at, event, username, address, detail, "
            "actor_role, subject, row_count, purpose, previous_hash, entry_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry_id,
                stamp,
                str(event),
                name,
                where,
                detail,
                role,
                about,
                row_count,
                why,
                previous,
                digest,
            ),
        )
        connection.execute(
            "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
            (HEAD_SETTING, f"{entry_id} {digest}"),
        )
    level = logging.WARNING if event in _WARNINGS else logging.INFO
    log.log(level, "%s username=%r address=%s subject=%r: %s", event, name, where, about, detail)
    return AuditEntry(
        entry_id=entry_id,
        occurred_at=from_text(stamp) or now_utc(),
        event=event,
        username=name,
        address=where,
        detail=detail,
        actor_role=role,
        subject=about,
        row_count=row_count,
        purpose=why,
        previous_hash=previous,
        entry_hash=digest,
    )


def _entry_from_row(row: sqlite3.Row) -> AuditEntry:
    moment = from_text(row["occurred_at"])
    assert moment is not None  # NOT NULL column
    return AuditEntry(
        entry_id=int(row["entry_id"]),
        occurred_at=moment,
        event=AuditEvent(row["event"]),
        username=row["username"],
        address=row["address"],
        detail=str(row["detail"]),
        actor_role=row["actor_role"],
        subject=row["subject"],
        row_count=row["row_count"],
        purpose=row["purpose"],
        previous_hash=row["previous_hash"],
        entry_hash=row["entry_hash"],
    )


def audit_entries(
    store: AppStateStore,
    *,
    username: str | None = None,
    since: datetime | None = None,
    event: AuditEvent | None = None,
    limit: int | None = 100,
) -> list[AuditEntry]:
    """The latest `limit` entries (None: all), newest first, optionally only those by
    `username` (case-insensitive), of `event`, or at or after `since`.

    >>> audit_entries(store, event=AuditEvent.CUSTOMER_EXPORT, limit=10)  # doctest: +SKIP
    """
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM audit_log WHERE (? IS NULL OR username = ? COLLATE NOCASE) "
            "AND (? IS NULL OR event = ?) AND (? IS NULL OR occurred_at >= ?) "
            "ORDER BY entry_id DESC LIMIT ?",
            (
                username,
                username,
                event and str(event),
                event and str(event),
                since and to_text(since),
                since and to_text(since),
                -1 if limit is None else limit,
            ),
        ).fetchall()
    return [_entry_from_row(row) for row in rows]


class ChainBreak(StrEnum):
    """How the chain is broken at an entry."""

    #: The entry's values no longer match its hash: it was changed.
    EDITED = "edited"
    #: The entry is gone (its id is missing, or the next entry links to another hash).
    DELETED = "deleted"
    #: The entry has no hash although entries before it have one (its hash was removed).
    UNHASHED = "unhashed"


@dataclass(frozen=True)
class ChainReport:
    """What `verify_audit_chain` found: how many entries it checked, how many older
    entries predate the hash chain, and the first broken entry (None: intact)."""

    checked: int
    unhashed_before: int
    first_hashed: int | None
    broken_entry: int | None = None
    broken_how: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        return self.broken_entry is None

    def describe(self) -> str:
        """One line for people: intact, or the first broken entry and what happened to it."""
        start = ""
        if self.unhashed_before:
            start = (
                f"; {self.unhashed_before} older entries predate the hash chain, which "
                f"starts at entry {self.first_hashed}"
            )
        if self.intact:
            return f"audit log intact: {self.checked} entries checked{start}"
        what = {
            ChainBreak.EDITED: "was changed after it was written (its hash does not match)",
            ChainBreak.DELETED: "was removed (the entry after it links to a missing hash)",
            ChainBreak.UNHASHED: "had its hash removed",
        }[self.broken_how or ChainBreak.EDITED]
        return (
            f"audit log broken: entry {self.broken_entry} {what}; "
            f"{self.checked} entries before it checked{start}"
        )


def _stored_rows(store: AppStateStore) -> Iterator[sqlite3.Row]:
    with store.connect() as connection:
        yield from connection.execute("SELECT * FROM audit_log ORDER BY entry_id")


def _recomputed(row: sqlite3.Row) -> str:
    return entry_hash(
        int(row["entry_id"]),
        str(row["occurred_at"]),
        str(row["event"]),
        row["username"],
        row["address"],
        row["actor_role"],
        row["subject"],
        row["row_count"],
        row["purpose"],
        str(row["detail"]),
        str(row["previous_hash"]),
    )


def verify_audit_chain(store: AppStateStore) -> ChainReport:
    """Check every hashed entry's hash and its link to the one before; name the first break.

    >>> verify_audit_chain(store).describe()  # doctest: +SKIP
    'audit log intact: 42 entries checked'
    """
    with store.connect() as connection:
        head = _head(connection)
    unhashed = checked = 0
    first: int | None = None
    previous: tuple[int, str] | None = None  # id and hash of the last checked entry

    def broken(entry_id: int, how: ChainBreak) -> ChainReport:
        return ChainReport(checked, unhashed, first, entry_id, how)

    for row in _stored_rows(store):
        entry_id = int(row["entry_id"])
        if row["entry_hash"] is None:
            if first is None:
                unhashed += 1
                continue
            return broken(entry_id, ChainBreak.UNHASHED)
        if first is None:
            first = entry_id
            if row["previous_hash"] != GENESIS_HASH:
                # Hashed entries before this one were removed (or stripped of their hash).
                return broken(entry_id - 1, ChainBreak.DELETED)
        elif previous is not None and entry_id != previous[0] + 1:
            return broken(previous[0] + 1, ChainBreak.DELETED)
        if _recomputed(row) != row["entry_hash"]:
            return broken(entry_id, ChainBreak.EDITED)
        if previous is not None and row["previous_hash"] != previous[1]:
            # The ids run on, so the entry before was rewritten together with its hash.
            return broken(previous[0], ChainBreak.EDITED)
        previous = (entry_id, str(row["entry_hash"]))
        checked += 1
    if head is not None and (previous is None or previous[0] < head[0]):
        # The newest entries were removed: the head names one that is no longer there.
        return broken(previous[0] + 1 if previous else head[0], ChainBreak.DELETED)
    if head is not None and previous is not None and previous != head:
        return broken(previous[0], ChainBreak.EDITED)
    return ChainReport(checked, unhashed, first)
