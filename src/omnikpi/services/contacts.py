"""Matching a contact list (e-mail addresses, phone numbers) to the warehouse's customers
through the same keyed hash the loads store (`omnikpi.ingest.pseudonyms`): the list's raw
values are hashed in memory and never written anywhere.

The customer ids it returns are customer-level data: a page, API route or command that
shows them does so inside `omnikpi.services.audit.customer_level` (analysts and admins,
audited).

    >>> match_contacts(settings, key, emails=["jane@example.com"]).customer_ids  # doctest: +SKIP
    ('9f2c…',)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from omnikpi.ingest.pseudonyms import email_key, phone_key, pseudonym
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings

__all__ = ["ContactMatch", "match_contacts"]


@dataclass(frozen=True)
class ContactMatch:
    """The customers a contact list names, and how many of its contacts matched none."""

    customer_ids: tuple[str, ...]
    contacts: int
    unmatched: int


def match_contacts(
    settings: Settings,
    hash_key: str,
    *,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
) -> ContactMatch:
    """The customers whose e-mail or phone hash is one of the list's (each normalised as
    the presets normalise it), sorted; empty entries are skipped."""
    hashed_emails = {pseudonym(e, hash_key) for e in map(email_key, emails) if e}
    hashed_phones = {pseudonym(p, hash_key) for p in map(phone_key, phones) if p}
    contacts = len(hashed_emails) + len(hashed_phones)
    if not contacts:
        return ContactMatch((), 0, 0)
    with read_warehouse(settings) as warehouse:
        rows = warehouse.fetch_rows(
            "SELECT customer_id, email_hash, phone_hash FROM customers "
            "WHERE email_hash IN (SELECT unnest($e)) OR phone_hash IN (SELECT unnest($p))",
            {"e": sorted(hashed_emails) or [""], "p": sorted(hashed_phones) or [""]},
        )
    found = {str(r[1]) for r in rows if r[1] in hashed_emails}
    found |= {str(r[2]) for r in rows if r[2] in hashed_phones}
    ids = tuple(sorted({str(r[0]) for r in rows}))
    return ContactMatch(ids, contacts, contacts - len(found))
