"""Password hashing with argon2id (RFC 9106 parameters of argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from omnikpi.errors import ConfigError

#: Shortest password `omnikpi users add` accepts (the demo's "demo" is set explicitly).
MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024

_HASHER = PasswordHasher()
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
    return str(_HASHER.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None: unknown user, always False)."""
    if len(password) > _MAX_PASSWORD_LENGTH:
        return False
    try:
        matched = bool(_HASHER.verify(password_hash or _DUMMY_HASH, password))
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash uses weaker parameters than the current ones."""
    return bool(_HASHER.check_needs_rehash(password_hash))
