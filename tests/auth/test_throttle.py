"""Failed sign-ins slow down, then lock out, per account and per client address."""

from __future__ import annotations

import threading

import pytest

from omnikpi.auth.throttle import LoginLimits, LoginThrottle, Refusal, account_key, address_key
from omnikpi.errors import ConfigError

HOME = "10.0.0.7"


class Clock:
    """Seconds that a test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, account: str, address: str = HOME) -> None:
    """One attempt that was allowed and whose password was wrong."""
    assert throttle.begin(account, address) is None
    throttle.failed(account, address)


def refused(throttle: LoginThrottle, account: str, address: str = HOME) -> tuple[str, bool] | None:
    """Which key refuses an attempt, and whether it is locked out (None: it may go ahead)."""
    refusal = throttle.begin(account, address)
    return (refusal.kind, refusal.locked) if refusal else None


def test_an_account_fails_freely_then_waits_twice_as_long_each_time_then_is_locked() -> None:
    clock = Clock()
    limits = LoginLimits(account_free=3, account_lockout=6, lockout_seconds=900)
    throttle = LoginThrottle(limits, clock)
    for _ in range(3):
        fail(throttle, "mina")
    assert throttle.begin("mina", HOME) is None  # 3 failures are free: the 4th try goes ahead
    assert [e.seconds for e in throttle.failed("mina", HOME)] == [1.0]
    assert throttle.begin("mina", HOME) == Refusal("account", False, 1.0)
    clock.now += 1
    fail(throttle, "mina")  # 5th failure: the next waits 2 s
    clock.now += 1.5
    assert throttle.begin("mina", HOME) == Refusal("account", False, 0.5)
    clock.now += 0.5
    assert throttle.begin("mina", HOME) is None
    (event,) = throttle.failed("mina", HOME)  # the 6th locks the account out
    assert (event.kind, event.key, event.failures, event.locked, event.seconds) == (
        "account",
        "mina",
        6,
        True,
        900,
    )
    clock.now += 899
    refusal = throttle.begin("mina", HOME)
    assert refusal == Refusal("account", True, 1.0)
    assert refusal.retry_after == 1
    clock.now += 1  # the lock-out and the window are over: counting starts afresh
    for _ in range(3):
        fail(throttle, "mina")
    assert throttle.begin("mina", HOME) is None


def test_delays_double_up_to_their_maximum() -> None:
    limits = LoginLimits(account_free=2, first_delay_seconds=1, max_delay_seconds=60)
    assert [limits.delay(n, 2) for n in range(1, 10)] == [0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert limits.delay(10_000, 2) == 60


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(LoginLimits(account_free=2, window_seconds=600), clock)
    fail(throttle, "mina")
    fail(throttle, "mina")
    clock.now += 600
    fail(throttle, "mina")
    fail(throttle, "mina")
    assert throttle.begin("mina", HOME) is None  # two in this window: still free


def test_one_address_trying_many_accounts_is_slowed_down_and_locked_out() -> None:
    clock = Clock()
    limits = LoginLimits(address_free=4, address_lockout=8, lockout_seconds=900)
    throttle = LoginThrottle(limits, clock)
    for number in range(4):
        fail(throttle, f"user{number}")
    assert throttle.begin("user4", HOME) is None
    (event,) = throttle.failed("user4", HOME)
    assert (event.kind, event.key, event.seconds) == ("address", HOME, 1.0)
    assert refused(throttle, "someone-else") == ("address", False)
    assert throttle.begin("someone-else", "10.0.0.8") is None  # another address may go on
    throttle.abandoned("someone-else", "10.0.0.8")
    for number in range(5, 8):
        clock.now += 60
        fail(throttle, f"user{number}")
    assert refused(throttle, "user9") == ("address", True)


def test_a_lock_out_outranks_a_shorter_wait() -> None:
    limits = LoginLimits(account_free=0, account_lockout=1, address_free=0, address_lockout=5)
    throttle = LoginThrottle(limits, Clock())
    fail(throttle, "mina")  # the account is locked, the address waits a second
    assert refused(throttle, "mina") == ("account", True)


def test_signing_in_clears_the_account_but_not_the_address() -> None:
    throttle = LoginThrottle(LoginLimits(account_free=2, address_free=3), Clock())
    fail(throttle, "mina")
    fail(throttle, "mina")
    assert throttle.begin("mina", HOME) is None
    throttle.succeeded("mina", HOME)
    fail(throttle, "mina")
    fail(throttle, "mina")  # two new failures: free again, the old ones are gone
    assert refused(throttle, "mina") == ("address", False)  # the address counts all four


def test_attempts_in_progress_count_so_parallel_ones_cannot_slip_past() -> None:
    throttle = LoginThrottle(LoginLimits(account_free=2), Clock())
    for _ in range(3):  # were the first two to fail, the third would still go ahead
        assert throttle.begin("mina", HOME) is None
    refusal = throttle.begin("mina", HOME)  # three are being checked: a fourth must wait
    assert refusal == Refusal("account", False, 1.0)
    throttle.abandoned("mina", HOME)  # a check that could not run counts for nothing
    assert throttle.begin("mina", HOME) is None


def test_usernames_count_as_typed_whatever_their_case_or_spaces() -> None:
    throttle = LoginThrottle(LoginLimits(account_free=1), Clock())
    fail(throttle, "Mina")
    fail(throttle, " mina ")
    assert throttle.begin("MINA", HOME) is not None
    assert account_key("x" * 5_000) == "x" * 128


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("10.0.0.7", "10.0.0.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber
        ("::ffff:10.0.0.7", "10.0.0.7"),
        ("testclient", "testclient"),
    ],
)
def test_addresses_are_counted_by_subscriber(address: str, key: str) -> None:
    assert address_key(address) == key


def test_the_record_never_holds_more_than_max_keys() -> None:
    throttle = LoginThrottle(
        LoginLimits(max_keys=50, address_free=5_000, address_lockout=10_000), Clock()
    )
    for number in range(1_000):
        fail(throttle, f"user{number}", HOME)
    assert len(throttle) == 50
    # the most recently used stay: the address and the latest accounts
    assert throttle.begin("user999", HOME) is None


def test_threads_share_one_consistent_record() -> None:
    """8 threads fail 50 times each through one address: the address counts all 400."""
    limits = LoginLimits(
        account_free=100, account_lockout=101, address_free=400, address_lockout=999
    )
    throttle = LoginThrottle(limits, Clock())
    start = threading.Barrier(8)

    def attempts(thread: int) -> None:
        start.wait()
        for number in range(50):
            account = f"t{thread}-{number % 5}"
            assert throttle.begin(account, HOME) is None
            throttle.failed(account, HOME)

    threads = [threading.Thread(target=attempts, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert throttle.begin("anyone", HOME) is None  # 400 failures: the last free one
    assert [e.failures for e in throttle.failed("anyone", HOME)] == [401]


def test_limits_come_from_the_environment() -> None:
    limits = LoginLimits.from_environment(
        {"OMNIKPI_LOGIN_ACCOUNT_FREE": "3", "OMNIKPI_LOGIN_LOCKOUT_SECONDS": "120"}
    )
    assert (limits.account_free, limits.account_lockout, limits.lockout_seconds) == (3, 10, 120)
    assert LoginLimits.from_environment({}) == LoginLimits()
    with pytest.raises(ConfigError, match='OMNIKPI_LOGIN_ACCOUNT_FREE "many" is not a number'):
        LoginLimits.from_environment({"OMNIKPI_LOGIN_ACCOUNT_FREE": "many"})
    with pytest.raises(ConfigError, match="lock-out after 10 failures must come after its 12"):
        LoginLimits.from_environment({"OMNIKPI_LOGIN_ACCOUNT_FREE": "12"})
