"""The keyed hash that pseudonymises personal identifiers, in Python: the same value a
mapping's `hash: true` column stores (`sha256(key || lower(value))`, see `expressions.py`),
so that a contact list (e-mail addresses, phone numbers) matches the warehouse's customers
without the raw values ever being stored.

    >>> pseudonym(email_key(" Jane@Example.com "), "k") == pseudonym("jane@example.com", "k")
    True
"""

from __future__ import annotations

import hashlib
import re

from omnikpi.errors import ConfigError

_NOT_PHONE = re.compile(r"[^0-9+]")


def pseudonym(value: str, key: str) -> str:
    """The keyed SHA-256 (hex) a `hash: true` column stores for `value`."""
    if not key:
        raise ConfigError(
            "no pseudonymization key is set (set OMNIKPI_PSEUDONYM_KEY to the key the loads use)"
        )
    return hashlib.sha256((key + value.lower()).encode("utf-8")).hexdigest()


def email_key(email: str) -> str | None:
    """An e-mail address as the presets hash it: trimmed and lowercased (None: empty)."""
    cleaned = email.strip().lower()
    return cleaned or None


def phone_key(phone: str) -> str | None:
    """A phone number as the presets hash it: digits and `+` only (None: none left).

    >>> phone_key("+49 (30) 123-4567")
    '+49301234567'
    """
    cleaned = _NOT_PHONE.sub("", phone)
    return cleaned or None
