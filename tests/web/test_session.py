"""The sign-in form under abuse: failed attempts slow down and lock out (429 with
Retry-After), password checks run a few at a time (503 beyond), and a new sign-in gets a
new CSRF token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import (
    AppStateStore,
    AuditEvent,
    LoginLimits,
    LoginThrottle,
    audit_entries,
    create_user,
    parse_role,
    passwords,
)
from omnikpi.settings import Settings
from omnikpi.web import create_app
from omnikpi.web.security import CSRF_COOKIE
from tests.auth.test_passwords import GatedHasher, wait_until
from tests.auth.test_throttle import Clock
from tests.web.conftest import csrf_from, fixed_now, serving

ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """The app with one user, on a warehouse not loaded yet (the form needs no data), and
    small limits on a clock the test moves."""
    store = AppStateStore.open(tmp_path / "state.sqlite")
    create_user(store, "mina", "correct horse", parse_role("member:cs_agent"))
    app = create_app(Settings(warehouse=tmp_path / "shop.duckdb"), store=store, now=fixed_now)
    limits = LoginLimits(account_free=2, account_lockout=4, lockout_seconds=600)
    app.state.login_throttle = LoginThrottle(limits, Clock())
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, headers=ENGLISH) as test_client:
        yield test_client


class CountingHasher(GatedHasher):
    """argon2 as it is, counting the checks."""

    def __init__(self) -> None:
        super().__init__()
        self.gate.set()
        self.real = passwords._HASHER

    def verify(self, password_hash: str, password: str) -> bool:
        super().verify(password_hash, password)
        return bool(self.real.verify(password_hash, password))


def post_login(client: TestClient, username: str, password: str = "wrong horse") -> httpx.Response:
    token = csrf_from(client.get("/login").text)
    form = {"username": username, "password": password, "csrf_token": token, "next": "/"}
    return client.post("/login", data=form)


def test_failed_sign_ins_slow_down_then_lock_out_alike_for_every_account(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    answers = {}
    for username in ("mina", "nobody"):  # an account that exists and one that does not
        statuses = [post_login(client, username).status_code for _ in range(3)]
        checks = hasher.calls
        throttled = post_login(client, username, "correct horse")
        assert hasher.calls == checks  # answered without checking the password
        answers[username] = (statuses, throttled.status_code, throttled.headers["retry-after"])
        assert "Too many failed sign-ins. Try again in 1 second." in throttled.text
    assert answers["mina"] == answers["nobody"] == ([400, 400, 400], 429, "1")


def test_a_locked_out_account_is_told_when_to_come_back_and_the_lock_out_is_audited(
    app: FastAPI, client: TestClient
) -> None:
    clock = app.state.login_throttle.clock
    for _ in range(4):
        assert post_login(client, "mina").status_code == 400
        clock.now += 60
    locked = post_login(client, "mina", "correct horse")
    assert (locked.status_code, locked.headers["retry-after"]) == (429, "540")
    assert "Try again in 9 minutes, or ask your administrator." in locked.text
    assert 'value="mina"' in locked.text  # the form keeps the name typed
    korean = client.post(
        "/login",
        data={"username": "mina", "password": "x", "csrf_token": csrf_from(locked.text)},
        headers={"Accept-Language": "ko"},
    )
    assert "9분 후에 다시 시도하거나" in korean.text
    entries = audit_entries(app.state.context.store)
    events = [(e.event, e.address) for e in entries if e.event != AuditEvent.SIGN_IN_FAILED]
    assert events == [
        (AuditEvent.SIGN_IN_LOCKED, "testclient"),
        (AuditEvent.SIGN_IN_THROTTLED, "testclient"),
    ]
    clock.now += 540
    assert post_login(client, "mina", "correct horse").status_code == 303


def test_too_many_password_checks_at_once_answer_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = passwords.HashPool(size=1, max_waiting=0)
    monkeypatch.setattr(passwords, "PASSWORD_HASHING", full)
    with full.slot():
        busy = post_login(client, "mina", "correct horse")
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
    assert "Many sign-ins are being checked right now" in busy.text
    assert post_login(client, "mina", "correct horse").status_code == 303  # not a failure


def test_a_new_sign_in_gets_a_new_csrf_token(app: FastAPI, client: TestClient) -> None:
    before = csrf_from(client.get("/login").text)
    planted = client.cookies[CSRF_COOKIE]
    form = {"username": "mina", "password": "correct horse", "csrf_token": before}
    signed_in = client.post("/login", data=form)
    assert signed_in.status_code == 303
    assert client.cookies[CSRF_COOKIE] != planted
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 403  # the token from before the sign-in is no longer valid
    current = app.state.context.signer.unsign(client.cookies[CSRF_COOKIE], "csrf", 3600)
    assert current != before
    assert client.post("/logout", data={"csrf_token": current}).status_code == 303


def test_parallel_wrong_sign_ins_never_run_more_hashes_than_the_pool_allows(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """32 wrong sign-ins at once against the served app: 2 checks run, 8 wait for a turn
    and the other 22 are answered 503 at once; the number of hashes running together,
    counted by the pool, never exceeds 2."""
    pool = passwords.HashPool(size=2, max_waiting=8, wait_seconds=60)
    hasher = GatedHasher()
    monkeypatch.setattr(passwords, "PASSWORD_HASHING", pool)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    roomy = LoginLimits(address_free=1_000, address_lockout=2_000)
    app.state.login_throttle = LoginThrottle(roomy)
    statuses: list[int] = []
    lock = threading.Lock()
    with serving(app) as base, httpx.Client(base_url=base) as first:
        token = csrf_from(first.get("/login").text)
        cookies = dict(first.cookies)

        def wrong_sign_in(number: int) -> None:
            with httpx.Client(base_url=base, cookies=cookies, timeout=120) as browser:
                form = {"username": f"user{number}", "password": "wrong", "csrf_token": token}
                status = browser.post("/login", data=form).status_code
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=wrong_sign_in, args=(n,)) for n in range(32)]
        for thread in threads:
            thread.start()
        try:
            # the excess is answered while the first two checks still hold their turns
            wait_until(lambda: len(statuses) == 22)
            assert (pool.active, pool.refused, sorted(statuses)) == (2, 22, [503] * 22)
        finally:
            hasher.gate.set()
            for thread in threads:
                thread.join()
    assert sorted(statuses) == [400] * 10 + [503] * 22
    assert (pool.peak, hasher.calls) == (2, 10)
