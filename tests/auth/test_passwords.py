"""Password hashes run a few at a time: the rest wait briefly or are refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from omnikpi.auth import passwords
from omnikpi.auth.passwords import HashPool, PasswordCheckBusy, hash_password, verify_password
from omnikpi.errors import ConfigError


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to reach a state (fails the test after 30 s)."""
    ready = threading.Event()
    for _ in range(3_000):
        if condition():
            return
        ready.wait(0.01)
    raise AssertionError("the threads never reached the expected state")


class GatedHasher:
    """Stands in for argon2: each check holds its turn until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
        assert self.gate.wait(30)
        return password == "right password"


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HashPool, GatedHasher]]:
    pool = HashPool(size=2, max_waiting=3, wait_seconds=30)
    hasher = GatedHasher()
    monkeypatch.setattr(passwords, "PASSWORD_HASHING", pool)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    yield pool, hasher
    hasher.gate.set()


def test_at_most_size_checks_run_at_once_and_the_excess_is_refused_at_once(
    gated: tuple[HashPool, GatedHasher],
) -> None:
    pool, hasher = gated
    outcomes: list[str] = []
    lock = threading.Lock()

    def check() -> None:
        try:
            result = "match" if verify_password("stored", "wrong") else "no match"
        except PasswordCheckBusy:
            result = "busy"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=check) for _ in range(12)]
    for thread in threads:
        thread.start()
    # 2 checking, 3 waiting for a turn, the other 7 refused without waiting
    wait_until(lambda: pool.active == 2 and pool.refused == 7)
    assert hasher.calls == 2
    assert sorted(outcomes) == ["busy"] * 7
    hasher.gate.set()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy"] * 7 + ["no match"] * 5
    assert (pool.peak, pool.active, hasher.calls) == (2, 0, 5)


def test_a_wait_that_finds_no_turn_in_time_is_refused(
    gated: tuple[HashPool, GatedHasher],
) -> None:
    pool, hasher = gated
    pool.wait_seconds = 0
    holders = [threading.Thread(target=verify_password, args=("stored", "x")) for _ in range(2)]
    for thread in holders:
        thread.start()
    wait_until(lambda: pool.active == 2)
    with pytest.raises(PasswordCheckBusy, match="2 passwords are being checked"):
        verify_password("stored", "x")
    hasher.gate.set()
    for thread in holders:
        thread.join()
    assert (pool.refused, pool.peak, hasher.calls) == (1, 2, 2)


def test_hashing_a_new_password_takes_a_turn_too(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = HashPool(size=1, max_waiting=0)
    monkeypatch.setattr(passwords, "PASSWORD_HASHING", pool)
    with pool.slot(), pytest.raises(PasswordCheckBusy):
        hash_password("correct horse")
    assert verify_password(hash_password("correct horse"), "correct horse")
    assert pool.peak == 1


def test_a_pool_needs_room_for_one_hash() -> None:
    with pytest.raises(ConfigError, match="use at least 1 hash at a time"):
        HashPool(size=0)
