"""Forgetting a customer on request (`omnikpi customers forget`, the admin page
`/admin/customers`): every table at once, in one transaction, audited.

The customer's id becomes a random tombstone wherever it appears, the identifying
details of its row are cleared and its quarantined problems deleted
(`omnikpi.warehouse.erasure`); orders, sessions and every other counted row stay, so the
KPIs keep their totals and their distinct counts. The tombstone is kept with a keyed
digest of the old id (the key lives in the app-state store, not in the warehouse), so a
second request for the same id is recognised and changes nothing, and the audit entry
names the tombstone, never the id. The KPI rollups of the changed tables are refreshed
after the commit, as after a load.

    >>> forget_customer(settings, store, Actor.cli(), "C000123", reason="erasure request #88")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from omnikpi.auth import Action, AppStateStore, check_allowed
from omnikpi.auth.audit import Actor, AuditEvent, record_audit
from omnikpi.auth.permissions import ActionDenied
from omnikpi.errors import ConfigError, NotFound, RefreshFailed
from omnikpi.services.audience_store import forget_in_audiences
from omnikpi.services.warehouse import write_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse.erasure import (
    erase_customer,
    find_forgotten,
    has_traces,
    new_tombstone,
    record_forgotten,
)

__all__ = ["CustomerNotFound", "ForgetResult", "forget_customer", "forgotten_digest"]

#: The app-state setting holding the key of the forgotten ids' digests.
FORGET_KEY_SETTING = "forget_key"
#: Longest reason kept (the audit log keeps it as the entry's purpose).
MAX_REASON = 500


class CustomerNotFound(NotFound):
    """No table of the warehouse holds the customer id, and it was never forgotten."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(
            f'customer "{customer_id}" is not in the warehouse and was never forgotten '
            "(give the customer_id as the customers table has it: a pseudonymised source's "
            "ids are keyed hashes)"
        )
        self.customer_id = customer_id


@dataclass(frozen=True)
class ForgetResult:
    """What a forget did: the tombstone that replaced the id, rows changed per table
    (removed, for the quarantine), and when. `already_forgotten`: an earlier request did
    it and this one changed nothing. `refresh_error`: the KPI rollups could not be
    refreshed afterwards (the dashboards compute those KPIs directly until they are)."""

    tombstone: str
    forgotten_at: datetime
    rows: dict[str, int] = field(default_factory=dict)
    already_forgotten: bool = False
    refresh_error: str | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def forgotten_digest(store: AppStateStore, customer_id: str) -> str:
    """HMAC-SHA256 of a customer id with the app-state store's forget key (made on first
    use): what the warehouse keeps of a forgotten id, useless without the store."""
    key = store.setting_or_create(FORGET_KEY_SETTING, secrets.token_urlsafe(48))
    return hmac.new(key.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def forget_customer(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    customer_id: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> ForgetResult:
    """Forget `customer_id` in the settings' warehouse (admins only), audited; then
    refresh the KPI rollups of the tables it changed.

    A second request for the same id changes nothing (`already_forgotten`); an id no
    table holds raises CustomerNotFound. A customer brought back by a later load is
    forgotten again under the same tombstone.
    """
    try:
        check_allowed(actor.role, Action.FORGET_CUSTOMER, actor.scopes)
    except ActionDenied:
        record_audit(
            store,
            AuditEvent.ACCESS_DENIED,
            f"refused {actor.channel} {Action.FORGET_CUSTOMER.value}",
            actor=actor,
            now=now,
        )
        raise
    wanted = customer_id.strip()
    if not wanted:
        raise ConfigError("give the id of the customer to forget (the customers table's id)")
    why = (reason or "").strip()[:MAX_REASON] or None
    moment = now or datetime.now(UTC)
    digest = forgotten_digest(store, wanted)
    with write_warehouse(settings) as warehouse:
        earlier = find_forgotten(warehouse, digest)
        if not has_traces(warehouse, wanted):
            if earlier is None:
                raise CustomerNotFound(wanted)
            return ForgetResult(earlier[0], earlier[1], already_forgotten=True)
        tombstone = earlier[0] if earlier else new_tombstone()
        with warehouse.transaction():
            erased = erase_customer(warehouse, wanted, tombstone)
            forget_in_audiences(warehouse, wanted, tombstone)  # target lists sent keep a row
            record_forgotten(warehouse, tombstone, digest, moment, erased.total)
            warehouse.mark_changed(erased.changed, f"forget-{tombstone}")
            # Inside the transaction: no forget is committed without its audit entry.
            tables = ", ".join(f"{name} {count}" for name, count in erased.rows.items())
            record_audit(
                store,
                AuditEvent.CUSTOMER_FORGOTTEN,
                f"{actor.channel}: customer forgotten as {tombstone} ({tables})",
                actor=actor,
                subject=tombstone,
                row_count=erased.total,
                purpose=why,
                now=moment,
            )
    result = ForgetResult(tombstone, moment, dict(erased.rows))
    return _refreshed(settings, result) if erased.changed else result


def _refreshed(settings: Settings, result: ForgetResult) -> ForgetResult:
    from omnikpi.services.ingest import refresh_changed

    try:
        refresh_changed(settings)
    except RefreshFailed as exc:  # recorded: data status and the next load show it
        return ForgetResult(
            result.tombstone, result.forgotten_at, result.rows, refresh_error=str(exc)
        )
    return result
