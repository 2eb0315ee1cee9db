"""Signing in within the limits: refused attempts check no password, reveal no account, and
every slow-down and lock-out is in the audit log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnikpi.auth import (
    AppStateStore,
    AuditEvent,
    LoginLimits,
    LoginThrottle,
    PasswordCheckBusy,
    SignInRefused,
    audit_entries,
    create_user,
    parse_role,
    passwords,
    sign_in,
)
from omnikpi.auth.store import _MIGRATIONS, SCHEMA_VERSION
from tests.auth.test_throttle import Clock

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
HOME = "10.0.0.7"
LIMITS = LoginLimits(account_free=2, account_lockout=4, lockout_seconds=600)


@pytest.fixture
def mina(store: AppStateStore) -> AppStateStore:
    create_user(store, "mina", "correct horse", parse_role("member:cs_agent"))
    return store


class CountingHasher:
    """argon2's hasher, counting the passwords it checks."""

    def __init__(self) -> None:
        self.checks = 0
        self.real = passwords._HASHER

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return bool(self.real.verify(password_hash, password))

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, password_hash: str) -> bool:
        return bool(self.real.check_needs_rehash(password_hash))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "_HASHER", counting)
    return counting


def attempt(
    store: AppStateStore, throttle: LoginThrottle, username: str, password: str = "wrong!!!"
) -> str:
    """What one sign-in attempt came to: the user's name, "failed", or the refusal."""
    try:
        user = sign_in(store, throttle, username, password, address=HOME, now=NOW)
    except SignInRefused as exc:
        return str(exc)
    return user.username if user else "failed"


def test_a_refused_attempt_checks_no_password_and_is_the_same_for_every_account(
    mina: AppStateStore, hasher: CountingHasher
) -> None:
    outcomes = {}
    for username in ("mina", "nobody"):  # an account that exists and one that does not
        throttle = LoginThrottle(LIMITS, Clock())
        tries = [attempt(mina, throttle, username) for _ in range(4)]
        checks = hasher.checks
        tries.append(attempt(mina, throttle, username, "correct horse"))
        assert hasher.checks == checks  # refused before any password was checked
        outcomes[username] = tries
    assert outcomes["mina"] == outcomes["nobody"]
    assert (
        outcomes["mina"]
        == ["failed"] * 3
        + [
            "too many failed sign-ins: sign-in is slowed down for 1 s (try again then, or ask an "
            "administrator)"
        ]
        * 2
    )


def test_a_locked_account_refuses_even_the_right_password_until_the_lock_out_ends(
    mina: AppStateStore,
) -> None:
    clock = Clock()
    throttle = LoginThrottle(LIMITS, clock)
    for _ in range(4):
        assert attempt(mina, throttle, "mina") == "failed"
        clock.now += 60  # past every slow-down
    with pytest.raises(SignInRefused) as refused:
        sign_in(mina, throttle, "mina", "correct horse", address=HOME, now=NOW)
    assert refused.value.http_status == 429
    assert refused.value.retry_after == 540  # 600 s from the 4th failure, 60 s ago
    assert "locked out for 540 s" in str(refused.value)
    clock.now += 540
    assert attempt(mina, throttle, "mina", "correct horse") == "mina"
    assert attempt(mina, throttle, "mina") == "failed"  # signing in cleared the count


def test_every_failure_slow_down_and_lock_out_is_audited(mina: AppStateStore) -> None:
    clock = Clock()
    throttle = LoginThrottle(LIMITS, clock)
    for _ in range(4):
        attempt(mina, throttle, " Mina ")
        clock.now += 60
    entries = list(reversed(audit_entries(mina)))
    failed = [e for e in entries if e.event is AuditEvent.SIGN_IN_FAILED]
    assert [(e.username, e.address) for e in failed] == [("Mina", HOME)] * 4
    entries = [e for e in entries if e.event is not AuditEvent.SIGN_IN_FAILED]
    assert [(e.event, e.username, e.address, e.detail) for e in entries] == [
        (
            AuditEvent.SIGN_IN_THROTTLED,
            "Mina",
            HOME,
            "account mina: 3 failed sign-ins, must wait 1 s",
        ),
        (
            AuditEvent.SIGN_IN_LOCKED,
            "Mina",
            HOME,
            "account mina: 4 failed sign-ins, locked out 600 s",
        ),
    ]
    assert {e.occurred_at for e in entries} == {NOW}


def test_a_check_that_could_not_run_counts_as_no_failure(
    mina: AppStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle = LoginThrottle(LoginLimits(account_free=0, account_lockout=1), Clock())
    busy = passwords.HashPool(size=1, max_waiting=0)
    monkeypatch.setattr(passwords, "PASSWORD_HASHING", busy)
    with busy.slot(), pytest.raises(PasswordCheckBusy):
        sign_in(mina, throttle, "mina", "wrong!!!", address=HOME)
    assert len(throttle) == 0
    assert attempt(mina, throttle, "mina", "correct horse") == "mina"


def test_a_store_of_the_previous_version_gains_the_audit_log(tmp_path: Path) -> None:
    path = tmp_path / "old.state.sqlite"
    with sqlite3.connect(path) as connection:
        # The version-1 store: its tables as its migration made them, no audit log.
        for statement in _MIGRATIONS[0]:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 1")
    store = AppStateStore.open(path)
    assert audit_entries(store) == []
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in connection.execute("PRAGMA table_info(audit_log)")}
        assert {"entry_hash", "previous_hash", "row_count", "purpose"} <= columns
        users = {row[1] for row in connection.execute("PRAGMA table_info(users)")}
        assert {"business_unit", "disabled_at"} <= users
