"""The audit guard and the audit log's service: the one way to customer-level data.

Every page, API endpoint and CLI command that returns customer-level rows does so inside
`customer_level(...)`: it checks the permission table (a refusal is audited and raises
ActionDenied, HTTP 403), requires a purpose for exports, and on leaving writes one
audit entry with the number of rows the body returned. A route cannot do one without
the other. The audit log itself is listed, exported to CSV and verified here for the
CLI (`omnikpi audit`) and the admin page (`/admin/audit`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from omnikpi.auth import CUSTOMER_LEVEL_ACTIONS, Action, AppStateStore, check_allowed
from omnikpi.auth.audit import (
    Actor,
    AuditEntry,
    AuditEvent,
    ChainReport,
    audit_entries,
    record_audit,
    verify_audit_chain,
)
from omnikpi.auth.permissions import ActionDenied
from omnikpi.errors import ConfigError, InvalidChoice
from omnikpi.services.export import write_csv

__all__ = [
    "AUDIT_COLUMNS",
    "Actor",
    "AuditFilter",
    "CustomerAccess",
    "PurposeRequired",
    "audit_csv",
    "audit_rows",
    "check_audit_log",
    "customer_level",
    "list_audit_log",
    "parse_audit_filter",
]

#: Most entries one listing returns (the page and the CLI default to fewer).
MAX_LISTED = 10_000
#: Which audit event a customer-level action writes (reads unless listed here).
_EVENTS = {Action.EXPORT_CUSTOMER_LEVEL: AuditEvent.CUSTOMER_EXPORT}


class PurposeRequired(ConfigError):
    """A customer-level export without a purpose (HTTP 400): say why the rows leave."""

    def __init__(self, subject: str) -> None:
        super().__init__(
            f'exporting "{subject}" needs a purpose: say why these customer rows are exported '
            '(e.g. purpose "win-back campaign list for the CRM team"); it is kept in the '
            "audit log"
        )
        self.subject = subject


@dataclass
class CustomerAccess:
    """What the body of `customer_level` reports: the customer rows it returned."""

    row_count: int = 0
    reported: bool = field(default=False, repr=False)

    def rows(self, count: int) -> None:
        """Count `count` more customer rows returned (call once, or per batch)."""
        if count < 0:
            raise ValueError(f"a row count cannot be negative ({count})")
        self.row_count += count
        self.reported = True


@contextmanager
def customer_level(
    store: AppStateStore,
    actor: Actor,
    action: Action,
    subject: str,
    *,
    purpose: str | None = None,
    detail: str | None = None,
    event: AuditEvent | None = None,
    now: datetime | None = None,
) -> Iterator[CustomerAccess]:
    """Check that `actor` may do the customer-level `action` on `subject`, run the body,
    and audit it with the number of rows the body reported.

    A refusal writes an `access_denied` entry and raises ActionDenied; an export without
    `purpose` raises PurposeRequired; a body that fails is still audited (its detail says
    so). `event` overrides the entry's event (e.g. `customer_forgotten`).

    >>> with customer_level(store, actor, Action.VIEW_CUSTOMER_LEVEL, "customer 42") as access:
    ...     access.rows(len(rows))  # doctest: +SKIP
    """
    if action not in CUSTOMER_LEVEL_ACTIONS:
        raise ValueError(f"{action} is not a customer-level action ({CUSTOMER_LEVEL_ACTIONS})")
    note = f"{actor.channel} {action.value}" + (f": {detail}" if detail else "")
    try:
        check_allowed(actor.role, action, actor.scopes)
    except ActionDenied:
        refused = f"refused {note}"
        record_audit(
            store, AuditEvent.ACCESS_DENIED, refused, actor=actor, subject=subject, now=now
        )
        raise
    clean_purpose = purpose.strip() if purpose else None
    if action is Action.EXPORT_CUSTOMER_LEVEL and not clean_purpose:
        raise PurposeRequired(subject)
    access = CustomerAccess()
    entry = event or _EVENTS.get(action, AuditEvent.CUSTOMER_READ)
    try:
        yield access
    except BaseException as failure:
        record_audit(
            store,
            entry,
            f"failed {note} ({type(failure).__name__})",
            actor=actor,
            subject=subject,
            row_count=access.row_count,
            purpose=clean_purpose,
            now=now,
        )
        raise
    counted = "" if access.reported else " (the row count was not reported)"
    record_audit(
        store,
        entry,
        note + counted,
        actor=actor,
        subject=subject,
        row_count=access.row_count if access.reported else None,
        purpose=clean_purpose,
        now=now,
    )


# -- reading the audit log -----------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list: by whom, since when, which event, how many at most."""

    username: str | None = None
    since: datetime | None = None
    event: AuditEvent | None = None
    limit: int = 200


def parse_audit_filter(
    user: str | None = None,
    since: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> AuditFilter:
    """An AuditFilter from what a form or the command line sends; InvalidChoice names the
    bad value (`since` is a day YYYY-MM-DD, or an ISO instant; `action` an event name).

    >>> parse_audit_filter("mina", "2025-03-01", "customer_export").event
    <AuditEvent.CUSTOMER_EXPORT: 'customer_export'>
    """
    moment: datetime | None = None
    if since and since.strip():
        text = since.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            else:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError:
            raise InvalidChoice("since", text, "YYYY-MM-DD or an ISO 8601 time") from None
    event: AuditEvent | None = None
    if action and action.strip():
        try:
            event = AuditEvent(action.strip())
        except ValueError:
            raise InvalidChoice("action", action, ", ".join(AuditEvent)) from None
    if limit is not None and not 1 <= limit <= MAX_LISTED:
        raise InvalidChoice("limit", str(limit), f"1 to {MAX_LISTED}")
    name = user.strip() if user and user.strip() else None
    return AuditFilter(name, moment, event, limit if limit is not None else AuditFilter.limit)


def list_audit_log(
    store: AppStateStore, actor: Actor, wanted: AuditFilter | None = None
) -> list[AuditEntry]:
    """The entries `wanted`, newest first, if `actor` may view the audit log (admins).

    >>> list_audit_log(store, Actor.cli(), parse_audit_filter(user="mina"))  # doctest: +SKIP
    """
    check_allowed(actor.role, Action.VIEW_AUDIT_LOG, actor.scopes)
    wanted = wanted or AuditFilter()
    return audit_entries(
        store,
        username=wanted.username,
        since=wanted.since,
        event=wanted.event,
        limit=wanted.limit,
    )


def check_audit_log(store: AppStateStore, actor: Actor) -> ChainReport:
    """Verify the audit log's hash chain, if `actor` may view the audit log."""
    check_allowed(actor.role, Action.VIEW_AUDIT_LOG, actor.scopes)
    return verify_audit_chain(store)


#: The columns of a listed entry, in order (CLI table, JSON, CSV).
AUDIT_COLUMNS: tuple[str, ...] = (
    "entry_id",
    "occurred_at",
    "event",
    "username",
    "actor_role",
    "address",
    "subject",
    "row_count",
    "purpose",
    "detail",
    "entry_hash",
)


def audit_rows(entries: Sequence[AuditEntry]) -> list[dict[str, object]]:
    """Entries as plain rows (`AUDIT_COLUMNS`), times in ISO 8601 UTC."""
    return [
        {
            "entry_id": entry.entry_id,
            "occurred_at": entry.occurred_at.astimezone(UTC).isoformat(timespec="seconds"),
            "event": str(entry.event),
            "username": entry.username,
            "actor_role": entry.actor_role,
            "address": entry.address,
            "subject": entry.subject,
            "row_count": entry.row_count,
            "purpose": entry.purpose,
            "detail": entry.detail,
            "entry_hash": entry.entry_hash,
        }
        for entry in entries
    ]


def audit_csv(entries: Sequence[AuditEntry], *, for_spreadsheets: bool = False) -> str:
    """Entries as CSV by the one CSV writer (`write_csv`): a username or purpose that would
    start a spreadsheet formula is written as text.

    >>> audit_csv([]).split(",")[:3]
    ['entry_id', 'occurred_at', 'event']
    """
    return write_csv(AUDIT_COLUMNS, audit_rows(entries), for_spreadsheets=for_spreadsheets)
