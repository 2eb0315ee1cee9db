"""Password hashing with argon2id (RFC 9106 parameters of argon2-cffi), a few at a time.

Each argon2id hash takes 64 MiB of memory for a fraction of a second, so every hash and
every check goes through one small pool per process (`PASSWORD_HASHING`): at most `size`
run at once, a few more wait briefly, and the rest are refused at once with
`PasswordCheckBusy` (HTTP 503). Thirty-two wrong sign-ins in parallel then cost two
hashes' memory, not thirty-two.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from omnikpi.errors import ConfigError, OmnikpiError

#: Shortest password `omnikpi users add` accepts (the demo's "demo" is set explicitly).
MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024

_HASHER = PasswordHasher()


class PasswordCheckBusy(OmnikpiError):
    """Too many passwords are being checked at once; the request may be sent again in a
    moment (HTTP 503 with Retry-After)."""

    http_status = 503
    retry_after = 1


class HashPool:
    """At most `size` password hashes at a time; `max_waiting` more wait up to
    `wait_seconds` for a turn, and any beyond are refused at once.

    `active`, `peak` and `refused` count what it did (the tests read them).

    >>> pool = HashPool(size=2)
    >>> with pool.slot():
    ...     pool.active
    1
    """

    def __init__(self, size: int = 2, *, max_waiting: int = 8, wait_seconds: float = 2.0) -> None:
        if size < 1 or max_waiting < 0 or wait_seconds < 0:
            raise ConfigError(
                f"password hashing pool of {size} (waiting {max_waiting}, {wait_seconds} s) "
                "is not valid: use at least 1 hash at a time and no negative numbers"
            )
        self.size = size
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.active = 0
        self.peak = 0
        self.refused = 0
        self._waiting = 0
        self._turn = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """A turn to hash; PasswordCheckBusy if none comes free in time."""
        with self._turn:
            if self.active >= self.size:
                if self._waiting >= self.max_waiting:
                    self._refuse()
                self._waiting += 1
                try:
                    free = self._turn.wait_for(lambda: self.active < self.size, self.wait_seconds)
                finally:
                    self._waiting -= 1
                if not free:
                    self._refuse()
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self._turn:
                self.active -= 1
                self._turn.notify()

    def _refuse(self) -> None:
        self.refused += 1
        raise PasswordCheckBusy(
            f"{self.active} passwords are being checked and more are waiting; try again in a moment"
        )


#: The pool every hash and check of this process goes through.
PASSWORD_HASHING = HashPool()

#: Verified when a username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("omnikpi-no-such-user")


def check_password_strength(password: str) -> None:
    """Raise ConfigError if `password` is too short or too long to be accepted."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
        )
    if len(password) > _MAX_PASSWORD_LENGTH:
        raise ConfigError(f"the password is longer than {_MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, with its own random salt."""
    with PASSWORD_HASHING.slot():
        return str(_HASHER.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None: unknown user, always False);
    PasswordCheckBusy if too many checks are running."""
    if len(password) > _MAX_PASSWORD_LENGTH:
        return False
    try:
        with PASSWORD_HASHING.slot():
            matched = bool(_HASHER.verify(password_hash or _DUMMY_HASH, password))
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash uses weaker parameters than the current ones."""
    return bool(_HASHER.check_needs_rehash(password_hash))
