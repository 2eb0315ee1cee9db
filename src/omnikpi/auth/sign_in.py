"""Signing in with a username and password, within the limits on failed attempts."""

from __future__ import annotations

from datetime import datetime

from omnikpi.auth.audit import AuditEvent, record_audit
from omnikpi.auth.store import AppStateStore
from omnikpi.auth.throttle import LoginThrottle, Refusal, ThrottleEvent
from omnikpi.auth.users import User, authenticate
from omnikpi.errors import OmnikpiError


class SignInRefused(OmnikpiError):
    """Too many failed sign-ins for this account or from this address: the attempt was
    not checked (HTTP 429 with Retry-After). The message is the same whether or not the
    account exists."""

    http_status = 429

    def __init__(self, refusal: Refusal) -> None:
        wait = "locked out" if refusal.locked else "slowed down"
        super().__init__(
            f"too many failed sign-ins: sign-in is {wait} for {refusal.retry_after} s "
            "(try again then, or ask an administrator)"
        )
        self.refusal = refusal
        self.retry_after = refusal.retry_after


def sign_in(
    store: AppStateStore,
    throttle: LoginThrottle,
    username: str,
    password: str,
    *,
    address: str,
    now: datetime | None = None,
) -> User | None:
    """The active user with this name and password, else None.

    Raises SignInRefused, before any password is checked, while failed attempts make the
    account or the client `address` wait; PasswordCheckBusy when too many passwords are
    being checked at once. Every failure is audited, and so is each slow-down and lock-out
    it causes (attempts refused while waiting are not: they cost an attacker nothing, and
    the lock-out entry already names the key).

    >>> sign_in(store, LoginThrottle(), "mina", "secret!!", address="10.0.0.7")  # doctest: +SKIP
    """
    refusal = throttle.begin(username, address)
    if refusal is not None:
        raise SignInRefused(refusal)
    try:
        user = authenticate(store, username, password)
    except BaseException:
        throttle.abandoned(username, address)
        raise
    if user is not None:
        throttle.succeeded(username, address)
        return user
    record_audit(
        store,
        AuditEvent.SIGN_IN_FAILED,
        "wrong username or password, or the user is disabled",
        username=username.strip(),
        address=address,
        now=now,
    )
    for event in throttle.failed(username, address):
        record_audit(
            store,
            AuditEvent.SIGN_IN_LOCKED if event.locked else AuditEvent.SIGN_IN_THROTTLED,
            _describe(event),
            username=username.strip(),
            address=address,
            now=now,
        )
    return None


def _describe(event: ThrottleEvent) -> str:
    what = "locked out" if event.locked else "must wait"
    return f"{event.kind} {event.key}: {event.failures} failed sign-ins, {what} {event.seconds:g} s"
