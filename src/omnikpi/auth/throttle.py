"""Failed sign-ins slow down, then stop: per account and per client address.

Each account (the username as typed, whether or not such a user exists, so the answer
never tells) and each client address counts its failed sign-ins within a window. Past
`free` failures, the next attempt must wait a delay that doubles with each further
failure; at `lockout` failures the key is locked out for a while. An attempt that must
wait is refused before any password is checked (HTTP 429 with Retry-After).

The counts live in this process, in a bounded LRU map shared by the server's threads: an
attacker sending ever new usernames pushes out the oldest entries instead of growing it.
They are not kept across restarts (see docs/security.md for why).
"""

from __future__ import annotations

import ipaddress
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from omnikpi.errors import ConfigError

#: The environment variables that change the defaults of `LoginLimits` (see from_environment).
LIMIT_VARIABLES = {
    "account_free": "OMNIKPI_LOGIN_ACCOUNT_FREE",
    "account_lockout": "OMNIKPI_LOGIN_ACCOUNT_LOCKOUT",
    "address_free": "OMNIKPI_LOGIN_ADDRESS_FREE",
    "address_lockout": "OMNIKPI_LOGIN_ADDRESS_LOCKOUT",
    "window_seconds": "OMNIKPI_LOGIN_WINDOW_SECONDS",
    "lockout_seconds": "OMNIKPI_LOGIN_LOCKOUT_SECONDS",
}
#: Longest account name kept as a key (usernames have at most 64 characters).
_MAX_KEY = 128


@dataclass(frozen=True)
class LoginLimits:
    """When failed sign-ins slow down and stop.

    An account may fail `account_free` times within `window_seconds` freely; each
    further failure makes the next attempt wait `first_delay_seconds`, doubled each time
    (at most `max_delay_seconds`); `account_lockout` failures lock it out for
    `lockout_seconds`. A client address has the same, with its own, larger thresholds
    (an office shares one address). `max_keys` bounds how many accounts and addresses are
    remembered at once.
    """

    account_free: int = 5
    account_lockout: int = 10
    address_free: int = 20
    address_lockout: int = 100
    window_seconds: float = 15 * 60
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    lockout_seconds: float = 15 * 60
    max_keys: int = 10_000

    def __post_init__(self) -> None:
        for kind in ("account", "address"):
            free, lockout = getattr(self, f"{kind}_free"), getattr(self, f"{kind}_lockout")
            if not 0 <= free < lockout:
                raise ConfigError(
                    f"login limits: {kind} lock-out after {lockout} failures must come after "
                    f"its {free} free failures (set {LIMIT_VARIABLES[kind + '_lockout']})"
                )
        if min(self.window_seconds, self.lockout_seconds, self.first_delay_seconds) <= 0:
            raise ConfigError("login limits: the window, lock-out and delay must be positive")
        if self.max_keys < 1:
            raise ConfigError("login limits: max_keys must be at least 1")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LoginLimits:
        """The defaults, changed by any of the `OMNIKPI_LOGIN_*` variables set."""
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for name, variable in LIMIT_VARIABLES.items():
            text = env.get(variable, "").strip()
            if not text:
                continue
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number < 0:
                raise ConfigError(f'{variable} "{text}" is not a number of failures or seconds')
            values[name] = number if name.endswith("seconds") else int(number)
        return cls(**values)  # type: ignore[arg-type]

    def free(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_free"))

    def lockout(self, kind: str) -> int:
        return int(getattr(self, f"{kind}_lockout"))

    def delay(self, failures: int, free: int) -> float:
        """How long the attempt after `failures` failures waits (0 while they are free)."""
        if failures <= free:
            return 0.0
        doublings = min(failures - free - 1, 32)
        return float(min(self.first_delay_seconds * 2**doublings, self.max_delay_seconds))


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in attempt may not go ahead, and for how many more seconds."""

    kind: str  # "account" or "address"
    locked: bool
    seconds: float

    @property
    def retry_after(self) -> int:
        """Whole seconds for the Retry-After header (at least 1)."""
        return max(1, math.ceil(self.seconds))


@dataclass(frozen=True)
class ThrottleEvent:
    """A key began to wait, or was locked out, after a failure: what the audit log keeps."""

    kind: str
    key: str
    failures: int
    locked: bool
    seconds: float


@dataclass
class _Failures:
    count: int = 0
    first: float = 0.0  # when the first failure of the window happened
    last: float = 0.0
    locked_until: float = 0.0
    pending: int = 0  # attempts whose password is being checked now


class LoginThrottle:
    """The failed sign-ins of recent accounts and addresses, shared by threads; `clock`
    gives seconds (monotonic: a change of the wall clock neither frees nor locks anyone).

    Every attempt calls `begin` before its password is checked, then exactly one of
    `failed`, `succeeded` or `abandoned`. An attempt in progress counts as a failure
    until it ends, so parallel attempts cannot slip past the limits together.

    >>> throttle = LoginThrottle(LoginLimits(account_free=0, account_lockout=2))
    >>> throttle.begin("mina", "10.0.0.1") is None
    True
    >>> throttle.failed("mina", "10.0.0.1")[0].seconds
    1.0
    >>> throttle.begin("mina", "10.0.0.1").kind
    'account'
    """

    def __init__(
        self, limits: LoginLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or LoginLimits()
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, account: str, address: str) -> Refusal | None:
        """Start an attempt for `account` from `address`, or say why it must wait."""
        now = self.clock()
        with self._lock:
            keys = self._keys(account, address)
            found = [r for kind, key in keys if (r := self._refusal(kind, key, now))]
            if found:
                return max(found, key=lambda r: (r.locked, r.seconds))
            for key in keys:
                self._entry(key, now).pending += 1
            self._evict()
        return None

    def failed(self, account: str, address: str) -> list[ThrottleEvent]:
        """End an attempt whose password was wrong; the keys it made wait or locked out."""
        now = self.clock()
        events = []
        with self._lock:
            for kind, key in self._keys(account, address):
                entry = self._entry((kind, key), now)
                entry.pending = max(0, entry.pending - 1)
                if entry.count == 0:
                    entry.first = now
                entry.count += 1
                entry.last = now
                free = self.limits.free(kind)
                if entry.count >= self.limits.lockout(kind):
                    entry.locked_until = now + self.limits.lockout_seconds
                    seconds = self.limits.lockout_seconds
                    events.append(ThrottleEvent(kind, key, entry.count, True, seconds))
                elif entry.count > free:
                    seconds = self.limits.delay(entry.count, free)
                    events.append(ThrottleEvent(kind, key, entry.count, False, seconds))
            self._evict()
        return events

    def succeeded(self, account: str, address: str) -> None:
        """End an attempt that signed in: the account's failures are forgotten (the
        address keeps its count: one good password must not clear an attacker's tally)."""
        with self._lock:
            account_entry = ("account", account_key(account))
            self._entries.pop(account_entry, None)
            self._release(("address", address_key(address)))

    def abandoned(self, account: str, address: str) -> None:
        """End an attempt whose password could not be checked (it counts for nothing)."""
        with self._lock:
            for key in self._keys(account, address):
                self._release(key)

    def _keys(self, account: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return (("account", account_key(account)), ("address", address_key(address)))

    def _refusal(self, kind: str, key: str, now: float) -> Refusal | None:
        entry = self._entries.get((kind, key))
        if entry is None:
            return None
        self._expire(entry, now)
        if entry.locked_until > now:
            return Refusal(kind, True, entry.locked_until - now)
        free = self.limits.free(kind)
        if entry.count + entry.pending <= free:
            return None
        if entry.pending:  # past the free failures, one attempt at a time
            return Refusal(kind, False, self.limits.first_delay_seconds)
        ready = entry.last + self.limits.delay(entry.count, free)
        return Refusal(kind, False, ready - now) if ready > now else None

    def _entry(self, key: tuple[str, str], now: float) -> _Failures:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Failures()
        self._expire(entry, now)
        self._entries.move_to_end(key)
        return entry

    def _expire(self, entry: _Failures, now: float) -> None:
        """Start counting afresh once the window and any lock-out are over."""
        window_over = now >= entry.first + self.limits.window_seconds
        if entry.count and window_over and now >= entry.locked_until:
            entry.count, entry.locked_until = 0, 0.0

    def _release(self, key: tuple[str, str]) -> None:
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.pending = max(0, entry.pending - 1)
        if entry.count == 0 and entry.pending == 0:
            del self._entries[key]

    def _evict(self) -> None:
        """The least recently used keys go once there are more than `max_keys`."""
        while len(self._entries) > self.limits.max_keys:
            self._entries.popitem(last=False)


def account_key(username: str) -> str:
    """How failures of a username are counted: trimmed and case-folded (usernames are
    unique regardless of case), and cut short (a form may send megabytes).

    >>> account_key("  Mina ")
    'mina'
    """
    return username.strip().casefold()[:_MAX_KEY]


def address_key(address: str) -> str:
    """How failures of a client address are counted: an IPv6 address by its /64 network
    (one subscriber gets a whole /64), anything else as it is.

    >>> address_key("2001:db8::1:2:3:4")
    '2001:db8::/64'
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:_MAX_KEY]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
