"""The audit log: security events worth a later look, kept in the app-state store.

Each entry says when, what (`AuditEvent`), for which username and client address, and a
line of detail. Entries are also written to the `omnikpi.audit` logger, so they show in
the server's log as they happen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omnikpi.auth.store import AppStateStore, from_text, now_utc, to_text

log = logging.getLogger("omnikpi.audit")
#: Longest username or address kept in an entry (what a form sends may be far longer).
_MAX_TEXT = 128


class AuditEvent(StrEnum):
    """What an audit entry records."""

    #: Failed sign-ins made an account or address wait before its next attempt.
    SIGN_IN_THROTTLED = "sign_in_throttled"
    #: Failed sign-ins locked an account or address out for a while.
    SIGN_IN_LOCKED = "sign_in_locked"


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log."""

    entry_id: int
    occurred_at: datetime
    event: AuditEvent
    username: str | None
    address: str | None
    detail: str


def record_audit(
    store: AppStateStore,
    event: AuditEvent,
    detail: str,
    *,
    username: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
) -> None:
    """Add an entry to the audit log (and the `omnikpi.audit` logger).

    >>> record_audit(store, AuditEvent.SIGN_IN_LOCKED, "locked", username="mina")  # doctest: +SKIP
    """
    name = username[:_MAX_TEXT] if username is not None else None
    where = address[:_MAX_TEXT] if address is not None else None
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO audit_log (occurred_at, event, username, address, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (to_text(now or now_utc()), str(event), name, where, detail),
        )
    log.warning("%s username=%r address=%s: %s", event, name, where, detail)


def audit_entries(store: AppStateStore, *, limit: int = 100) -> list[AuditEntry]:
    """The latest `limit` entries of the audit log, newest first."""
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM audit_log ORDER BY entry_id DESC LIMIT ?", (limit,)
        ).fetchall()
    entries = []
    for row in rows:
        moment = from_text(row["occurred_at"])
        assert moment is not None  # NOT NULL column
        entries.append(
            AuditEntry(
                entry_id=int(row["entry_id"]),
                occurred_at=moment,
                event=AuditEvent(row["event"]),
                username=row["username"],
                address=row["address"],
                detail=str(row["detail"]),
            )
        )
    return entries
