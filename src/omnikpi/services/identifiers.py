"""An admin's allowance to store a source's personal identifiers in clear, audited.

Loads refuse a mapped text column that holds e-mail addresses, phone numbers or names
without `hash: true` (`omnikpi.ingest.identifiers`). An admin may allow it for one source
(a mapping's `name:` or file name, a preset's name), for every column or the listed ones;
the allowance lives in the app-state store (`app_settings`, one key per source) and every
change is written to the audit log with its reason. The load services read the
allowances before each load (`with_allowances`).

    >>> allow_raw_identifiers(store, Actor.cli(), "crm", ["Email"], reason="CRM sync")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from omnikpi.auth import Action, AppStateStore, app_state_path, check_allowed
from omnikpi.auth.audit import Actor, AuditEvent, record_audit
from omnikpi.auth.permissions import ActionDenied
from omnikpi.auth.store import from_text, now_utc, to_text
from omnikpi.errors import ConfigError
from omnikpi.ingest.identifiers import RawAllowance
from omnikpi.ingest.pipeline import LoadOptions
from omnikpi.settings import Settings

__all__ = [
    "RawIdentifierAllowance",
    "allow_raw_identifiers",
    "forbid_raw_identifiers",
    "list_raw_identifier_allowances",
    "raw_allowances",
    "with_allowances",
]

#: Prefix of the app settings that hold the allowances (one per source, lowercased).
SETTING_PREFIX = "raw_identifiers:"
#: Longest reason kept with an allowance.
MAX_REASON = 500


@dataclass(frozen=True)
class RawIdentifierAllowance:
    """A stored allowance: which source, which columns (empty: every column), who allowed
    it, when and why."""

    source: str
    columns: tuple[str, ...]
    allowed_by: str
    allowed_at: datetime | None
    reason: str | None

    @property
    def allowance(self) -> RawAllowance:
        """What a load needs of it."""
        return RawAllowance(self.source, self.columns)

    def describe(self) -> str:
        """`every column` or the columns, for messages and listings."""
        return ", ".join(self.columns) if self.columns else "every column"


def _key(source: str) -> str:
    return SETTING_PREFIX + source.lower()


def _source(source: str) -> str:
    name = source.strip()
    if not name:
        raise ConfigError(
            "name the source: a mapping's name (its name: field, else its file name without "
            ".yaml) or a preset's name, e.g. shopify"
        )
    return name


def _check(store: AppStateStore, actor: Actor, source: str, now: datetime | None) -> None:
    """Only admins change allowances; a refusal is audited."""
    try:
        check_allowed(actor.role, Action.ALLOW_RAW_IDENTIFIERS, actor.scopes)
    except ActionDenied:
        record_audit(
            store,
            AuditEvent.ACCESS_DENIED,
            f"refused {actor.channel} {Action.ALLOW_RAW_IDENTIFIERS.value}",
            actor=actor,
            subject=f"source {source}",
            now=now,
        )
        raise


def _read(store: AppStateStore, key: str, value: str) -> RawIdentifierAllowance:
    data = json.loads(value)
    return RawIdentifierAllowance(
        source=str(data.get("source") or key.removeprefix(SETTING_PREFIX)),
        columns=tuple(str(c) for c in data.get("columns", ())),
        allowed_by=str(data.get("allowed_by", "")),
        allowed_at=from_text(data.get("allowed_at")),
        reason=data.get("reason"),
    )


def list_raw_identifier_allowances(store: AppStateStore) -> list[RawIdentifierAllowance]:
    """Every stored allowance, by source name."""
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT key, value FROM app_settings WHERE key LIKE ? ORDER BY key",
            (SETTING_PREFIX + "%",),
        ).fetchall()
    return [_read(store, str(row["key"]), str(row["value"])) for row in rows]


def raw_allowances(store: AppStateStore) -> tuple[RawAllowance, ...]:
    """What loads need of the stored allowances."""
    return tuple(a.allowance for a in list_raw_identifier_allowances(store))


def allow_raw_identifiers(
    store: AppStateStore,
    actor: Actor,
    source: str,
    columns: Sequence[str] = (),
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> RawIdentifierAllowance:
    """Allow `source`'s personal identifiers in clear (admins only, audited): in every
    column, or in `columns` (source column names or `table.column`), added to those
    already allowed. An allowance of every column stays one."""
    name = _source(source)
    _check(store, actor, name, now)
    wanted = tuple(dict.fromkeys(c.strip() for c in columns if c.strip()))
    current = store.get_setting(_key(name))
    before = _read(store, _key(name), current) if current else None
    if before is not None and not before.columns:
        wanted = ()
    elif before is not None and wanted:
        known = {c.lower() for c in before.columns}
        wanted = before.columns + tuple(c for c in wanted if c.lower() not in known)
    why = (reason or "").strip()[:MAX_REASON] or None
    moment = now or now_utc()
    allowance = RawIdentifierAllowance(name, wanted, actor.username, moment, why)
    # The audit entry first: no allowance is stored without it.
    record_audit(
        store,
        AuditEvent.RAW_IDENTIFIERS_ALLOWED,
        f"{actor.channel}: personal identifiers of source {name} may be stored in clear "
        f"({allowance.describe()})",
        actor=actor,
        subject=f"source {name}",
        purpose=why,
        now=moment,
    )
    value = {
        "source": name,
        "columns": list(wanted),
        "allowed_by": actor.username,
        "allowed_at": to_text(moment),
        "reason": why,
    }
    with store.transaction() as connection:
        connection.execute(
            "INSERT OR REPLACE INTO app_settings (key, value) VALUES (?, ?)",
            (_key(name), json.dumps(value, ensure_ascii=False)),
        )
    return allowance


def forbid_raw_identifiers(
    store: AppStateStore,
    actor: Actor,
    source: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> RawIdentifierAllowance | None:
    """Withdraw `source`'s allowance (admins only, audited): its next load refuses
    personal identifiers in clear again. Returns the withdrawn allowance (None: none)."""
    name = _source(source)
    _check(store, actor, name, now)
    current = store.get_setting(_key(name))
    if current is None:
        return None
    before = _read(store, _key(name), current)
    with store.transaction() as connection:
        connection.execute("DELETE FROM app_settings WHERE key = ?", (_key(name),))
    record_audit(
        store,
        AuditEvent.RAW_IDENTIFIERS_FORBIDDEN,
        f"{actor.channel}: personal identifiers of source {name} are refused in clear again "
        f"(the allowance covered {before.describe()})",
        actor=actor,
        subject=f"source {name}",
        purpose=(reason or "").strip()[:MAX_REASON] or None,
        now=now,
    )
    return before


def with_allowances(settings: Settings, options: LoadOptions) -> LoadOptions:
    """`options` with the allowances of the settings' app-state store (none while there
    is no store: loads then refuse every personal identifier in clear)."""
    path = app_state_path(settings.warehouse)
    if options.allowed_identifiers or not path.exists():
        return options
    return replace(options, allowed_identifiers=raw_allowances(AppStateStore.open(path)))
