"""The secret that signs cookies, and signing itself (itsdangerous).

The secret comes from $OMNIKPI_SECRET_KEY, else it is generated once and kept in the
app-state store, so sessions survive a restart and no secret is ever written in code.
"""

from __future__ import annotations

import os
import secrets

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from omnikpi.auth.store import AppStateStore
from omnikpi.errors import ConfigError

_MIN_SECRET_LENGTH = 32
_SECRET_SETTING = "session_secret"


def secret_key(store: AppStateStore) -> str:
    """The signing secret: $OMNIKPI_SECRET_KEY, else the store's (created on first use)."""
    env = os.environ.get("OMNIKPI_SECRET_KEY")
    if env is not None:
        if len(env) < _MIN_SECRET_LENGTH:
            raise ConfigError(
                f"OMNIKPI_SECRET_KEY has {len(env)} characters; use at least "
                f'{_MIN_SECRET_LENGTH} (e.g. python -c "import secrets; '
                'print(secrets.token_urlsafe(48))")'
            )
        return env
    return store.setting_or_create(_SECRET_SETTING, secrets.token_urlsafe(48))


class CookieSigner:
    """Signs cookie values with a purpose (`salt`) so one cookie cannot stand in for another."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def sign(self, value: str, purpose: str) -> str:
        """`value` with a timestamped signature for `purpose`."""
        return TimestampSigner(self._secret, salt=purpose).sign(value).decode("ascii")

    def unsign(self, signed: str, purpose: str, max_age_seconds: int) -> str | None:
        """The value of a signed cookie, or None if forged, for another purpose or too old."""
        try:
            value = TimestampSigner(self._secret, salt=purpose).unsign(
                signed, max_age=max_age_seconds
            )
        except (BadSignature, SignatureExpired):
            return None
        return value.decode("ascii", errors="replace")
