"""A load refuses to store e-mail addresses, phone numbers and names in clear, before
anything is written, unless an admin allowed it for the source (audited); order ids,
SKUs, barcodes, dates, amounts, postcodes and analytics ids are not mistaken for them."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from omnikpi.auth import AppStateStore, app_state_path
from omnikpi.auth.audit import Actor, AuditEvent, audit_entries
from omnikpi.auth.permissions import ActionDenied
from omnikpi.auth.roles import Role, UserRole
from omnikpi.ingest import ingest_files
from omnikpi.ingest.identifiers import (
    EMAIL_PATTERN,
    NOT_PHONE_PATTERN,
    PHONE_CHARACTERS,
    PHONE_PATTERN,
    RawIdentifiers,
    identifier_tests,
    personal_name,
)
from omnikpi.ingest.pseudonyms import pseudonym
from omnikpi.services.identifiers import (
    allow_raw_identifiers,
    forbid_raw_identifiers,
    list_raw_identifier_allowances,
    with_allowances,
)
from omnikpi.settings import Settings
from tests.ingest.conftest import HASH_KEY, options, rows, write
from tests.ingest.test_pseudonymisation import CRM, crm_files, leaks, personal_values

#: The CRM mapping of the pseudonymisation tests with the orders' buyer e-mail in clear.
CLEAR_BUYER = CRM.replace(
    "customer_id: {column: Buyer Email, hash: true}", "customer_id: Buyer Email"
)
#: The CRM mapping with both customer ids (the people's and the buyers' e-mail) in clear.
CLEAR_IDS = CLEAR_BUYER.replace("customer_id: {column: Email, hash: true}", "customer_id: Email")
#: One table, one text column under test: `customer_id` from the file's column `{name}`.
PEOPLE = """
name: people
dates: {{format: "%Y-%m-%d", time_zone: Europe/Berlin}}
tables:
  customers:
    columns:
      customer_id: "{name}"
      created_at: Joined
      acquisition_channel: {{value: web}}
      gender: {{value: unknown}}
      is_member: {{value: false}}
      is_business: {{value: false}}
"""


def people(folder: Path, name: str, values: list[str]) -> tuple[Path, Path]:
    """A mapping and a file whose column `name` holds `values` (one customer each)."""
    mapping = write(folder / "people.yaml", PEOPLE.format(name=name))
    lines = [f'"{name}",Joined', *(f'"{v}",2025-01-0{1 + i % 9}' for i, v in enumerate(values))]
    return mapping, write(folder / "people.csv", "\n".join(lines) + "\n")


def snapshot(settings: Settings) -> list[tuple[object, ...]]:
    """What a load would change: the load log, the orders, the customers, the quarantine."""
    return rows(
        settings,
        "SELECT 'load', batch_id, status FROM load_log UNION ALL "
        "SELECT 'order', order_id, customer_id FROM orders UNION ALL "
        "SELECT 'customer', customer_id, email_hash FROM customers UNION ALL "
        "SELECT 'quarantine', batch_id, value FROM quarantine ORDER BY 1, 2, 3",
    )


@pytest.fixture
def store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppStateStore:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    return AppStateStore.open(app_state_path(settings.warehouse))


# -- refused --------------------------------------------------------------------------------
def test_an_email_column_without_hash_is_refused_and_nothing_is_written(
    settings: Settings, tmp_path: Path
) -> None:
    files = crm_files(tmp_path)
    ingest_files(settings, write(tmp_path / "crm.yaml", CRM), files, options(max_error_rate=1.0))
    before = snapshot(settings)

    clear = write(tmp_path / "crm_clear.yaml", CLEAR_BUYER)
    with pytest.raises(RawIdentifiers) as refused:
        ingest_files(settings, clear, files, options(max_error_rate=1.0))

    message = str(refused.value)
    assert message.startswith(
        'sales.csv row 1: column "Buyer Email" (→ orders.customer_id) holds e-mail addresses '
        "(3 of its 3 values)"
    )
    line = CLEAR_BUYER.splitlines().index("      customer_id: Buyer Email") + 1
    assert (
        f"Add `hash: true` to crm_clear.yaml line {line}: tables.orders.columns.customer_id "
        "to store a keyed hash instead"
    ) in message
    assert 'omnikpi sources allow-raw-identifiers crm --column "Buyer Email"' in message
    assert "@" not in message  # the row's number, never its value
    assert refused.value.exit_code == 2
    assert snapshot(settings) == before
    assert leaks(settings, personal_values(*files)) == []


def test_a_dry_run_is_refused_too(settings: Settings, tmp_path: Path) -> None:
    clear = write(tmp_path / "crm.yaml", CLEAR_BUYER)
    with pytest.raises(RawIdentifiers):
        ingest_files(settings, clear, crm_files(tmp_path), options(dry_run=True))


def test_with_hash_true_it_loads_and_no_raw_value_is_stored(
    settings: Settings, tmp_path: Path
) -> None:
    files = crm_files(tmp_path)
    summary = ingest_files(
        settings, write(tmp_path / "crm.yaml", CRM), files, options(max_error_rate=1.0)
    )
    assert summary.status == "loaded"
    assert not any("raw identifiers" in note for note in summary.notes)
    assert leaks(settings, personal_values(*files)) == []
    assert (pseudonym("hana.seo@example.org", HASH_KEY),) in rows(
        settings, "SELECT customer_id FROM orders WHERE order_id = 'S1'"
    )


def test_a_phone_column_is_refused_whatever_its_name(settings: Settings, tmp_path: Path) -> None:
    phones = ["+49 151 2222333", "010-5555-0101", "(030) 123-4567", "01055550102", "C-17"]
    mapping, data = people(tmp_path, "Contact", phones)
    with pytest.raises(RawIdentifiers) as refused:
        ingest_files(settings, mapping, [data], options())
    assert str(refused.value).startswith(
        'people.csv row 1: column "Contact" (→ customers.customer_id) holds phone numbers '
        "(4 of its 5 values)"
    )


@pytest.mark.parametrize(
    ("column", "values", "holds"),
    [
        ("Full Name", ["Hana Seo", "Lukas Brandt"], "a person's name"),
        ("이름", ["김민지", "이서준"], "a person's name"),
        ("고객명", ["김민지", "이서준"], "a person's name"),
        ("휴대폰", ["K1", "K2"], "a phone number"),
        ("E-Mail", ["u1", "u2"], "an e-mail address"),
    ],
)
def test_a_column_named_as_personal_is_refused(
    settings: Settings, tmp_path: Path, column: str, values: list[str], holds: str
) -> None:
    mapping, data = people(tmp_path, column, values)
    with pytest.raises(RawIdentifiers) as refused:
        ingest_files(settings, mapping, [data], options())
    assert str(refused.value).startswith(
        f'people.csv row 1: column "{column}" (→ customers.customer_id) is named as holding {holds}'
    )


def test_a_guest_checkout_mix_of_ids_and_emails_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    ids = [f"1000{n}" for n in range(8)] + ["guest.one@example.org", "guest.two@example.org"]
    mapping, data = people(tmp_path, "Buyer", ids)
    with pytest.raises(RawIdentifiers, match=r"people.csv row 9: .*\(2 of its 10 values\)"):
        ingest_files(settings, mapping, [data], options())


# -- not mistaken for identifiers ---------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("Order", ["100234567", "100234568", "#1001", "SO-2024-000123", "536365"]),
        ("SKU", ["100-200-300", "AB-1234-XL", "4006381333931", "0012345678905", "012345678905"]),
        ("Day", ["2024-01-15", "15.01.2024", "01/15/2024", "20240115", "2024/1/5"]),
        ("Amount", ["1234567.89", "-1234567.89", "+12345678.90", "1.234.567", "1 234 567"]),
        ("Postcode", ["12345-6789", "01234-5678", "06236", "SW1A 1AA", "060-0001", "01310-100"]),
        ("user_pseudo_id", ["1026454.4271112", "123456789.1700000000", "00001", "17850"]),
        ("Name", ["#1001", "#1002"]),  # Shopify's order name
        ("Store Name", ["Gangnam", "Berlin Mitte"]),
        ("email_hash", ["9f86d081884c7d659a2feaa0c55ad015", "a3f5"]),
        ("Accepts Email Marketing", ["yes", "no"]),
        ("Customer", ["김민지", "이서준"]),  # names are found by their column's name only
    ],
)
def test_ids_skus_dates_amounts_and_postcodes_load(
    settings: Settings, tmp_path: Path, column: str, values: list[str]
) -> None:
    mapping, data = people(tmp_path, column, values)
    summary = ingest_files(settings, mapping, [data], options())
    assert summary.status == "loaded"
    assert summary.tables["customers"].inserted == len(values)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("Email", "an e-mail address"),
        ("customerEmail", "an e-mail address"),
        ("e_mail", "an e-mail address"),
        ("Billing Phone", "a phone number"),
        ("mobile", "a phone number"),
        ("Tel.", "a phone number"),
        ("first_name", "a person's name"),
        ("LastName", "a person's name"),
        ("Customer Name", "a person's name"),
        ("전화번호", "a phone number"),
        ("이메일", "an e-mail address"),
        ("Name", None),
        ("Product Name", None),
        ("Campaign Name", None),
        ("Phone Hash", None),
        ("email_sha256", None),
        ("mobile_app_version", None),
        ("Telemetry", None),
        ("Hotel", None),
        ("상품명", None),
    ],
)
def test_what_a_column_name_says(column: str, expected: str | None) -> None:
    assert personal_name(column) == expected


# -- the admin's allowance ----------------------------------------------------------------
def test_an_admin_allowance_stores_the_column_raw_audited_and_forbidding_refuses_again(
    settings: Settings, tmp_path: Path, store: AppStateStore
) -> None:
    clear = write(tmp_path / "crm.yaml", CLEAR_IDS)
    files = crm_files(tmp_path)
    allowed = allow_raw_identifiers(
        store, Actor.cli(), "CRM", ["Email", "orders.customer_id"], reason="CRM sync, DPA #12"
    )
    assert (allowed.source, allowed.columns) == ("CRM", ("Email", "orders.customer_id"))

    summary = ingest_files(
        settings, clear, files, with_allowances(settings, options(max_error_rate=1.0))
    )

    assert summary.status == "loaded"
    assert any(
        "raw identifiers stored in clear, as an admin allowed for source crm: "
        'customers.customer_id ← "Email" (e-mail addresses), '
        'orders.customer_id ← "Buyer Email" (e-mail addresses)' in note
        for note in summary.notes
    )
    stored = rows(settings, "SELECT order_id, customer_id FROM orders")
    assert ("S2", "lukas.brandt@example.org") in stored
    entry = audit_entries(store)[0]
    assert (entry.event, entry.subject, entry.purpose) == (
        AuditEvent.RAW_IDENTIFIERS_ALLOWED,
        "source CRM",
        "CRM sync, DPA #12",
    )
    assert str(entry.username).startswith("cli:")

    withdrawn = forbid_raw_identifiers(store, Actor.cli(), "crm", reason="DPA ended")
    assert withdrawn is not None
    assert withdrawn.columns == ("Email", "orders.customer_id")
    assert audit_entries(store)[0].event == AuditEvent.RAW_IDENTIFIERS_FORBIDDEN
    assert list_raw_identifier_allowances(store) == []
    with pytest.raises(RawIdentifiers):
        ingest_files(settings, clear, files, with_allowances(settings, options()))


def test_an_allowance_of_other_columns_does_not_cover_this_one(
    settings: Settings, tmp_path: Path, store: AppStateStore
) -> None:
    allow_raw_identifiers(store, Actor.cli(), "crm", ["Email"])
    allow_raw_identifiers(store, Actor.cli(), "crm", ["Mobile", "email"])
    assert list_raw_identifier_allowances(store)[0].columns == ("Email", "Mobile")
    clear = write(tmp_path / "crm.yaml", CLEAR_BUYER)
    with pytest.raises(RawIdentifiers, match='"Buyer Email"'):
        ingest_files(settings, clear, crm_files(tmp_path), with_allowances(settings, options()))
    allow_raw_identifiers(store, Actor.cli(), "crm")  # every column
    summary = ingest_files(
        settings, clear, crm_files(tmp_path), with_allowances(settings, options(max_error_rate=1))
    )
    assert summary.status == "loaded"


def test_only_an_admin_may_allow_and_a_refusal_is_audited(store: AppStateStore) -> None:
    analyst = Actor("mina", UserRole(Role.ANALYST), "10.0.0.7")
    with pytest.raises(ActionDenied):
        allow_raw_identifiers(store, analyst, "crm", reason="faster")
    entry = audit_entries(store)[0]
    assert (entry.event, entry.username, entry.subject) == (
        AuditEvent.ACCESS_DENIED,
        "mina",
        "source crm",
    )
    assert list_raw_identifier_allowances(store) == []


def test_without_an_app_state_store_no_source_is_allowed_and_none_is_created(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    assert with_allowances(settings, options()).allowed_identifiers == ()
    assert not app_state_path(settings.warehouse).exists()


#: Values near every edge of the e-mail and phone tests: digit counts (6/7 after "+",
#: 8/9 without, 15/16), dates and decimals written like numbers, ids with letters.
EDGE_VALUES = [
    "+82 10-1234-5678", "+1 555 0101", "+1 555 010", "010-1234-5678", "(02) 123 4567",
    "0212345678", "021234567", "02123456", "123456789012345", "1234567890123456",
    "0031 6 1234 5678", "+82 1012 3456 7890 12", "+82 1012 3456 7890 1", "+82/1012/3456/7890/1",
    "+1 555 01",
    "2024-01-05", "05.01.2024", "1.234.567,89", "O000000123",
    "M0015569", "12/31/2025", "+49 (0)30 1234567", "a@b.co", "Kim <kim@example.com>",
    "no-at-sign.example.com", "x@y", "", " ", "+", "()", "10:30",
]  # fmt: skip


def test_the_sql_identifier_tests_agree_with_the_patterns_value_by_value() -> None:
    """The SQL a load scans with (CASE-guarded, digits counted with translate) classifies
    each value as the patterns say, read with Python's own regular expressions."""
    is_email, is_phone = identifier_tests("v", "$e", "$p", "$c", "$n")
    found = duckdb.sql(
        f"SELECT v, coalesce({is_email}, false), coalesce({is_phone}, false) "
        "FROM unnest($values) AS t(v) ORDER BY v",
        params={
            "values": EDGE_VALUES, "e": EMAIL_PATTERN, "p": PHONE_PATTERN,
            "c": PHONE_CHARACTERS, "n": NOT_PHONE_PATTERN,
        },
    ).fetchall()  # fmt: skip

    def phone(value: str) -> bool:
        digits = sum(c.isdigit() for c in value)
        least = 7 if value.startswith("+") else 9
        return bool(
            re.fullmatch(PHONE_CHARACTERS, value)
            and least <= digits <= 15
            and re.fullmatch(PHONE_PATTERN, value)
            and not re.fullmatch(NOT_PHONE_PATTERN, value)
        )

    expected = [
        (v, "@" in v and bool(re.fullmatch(EMAIL_PATTERN, v)), phone(v))
        for v in sorted(EDGE_VALUES)
    ]
    assert found == expected
    assert sum(p for _, _, p in found) >= 5  # both answers occur
    assert sum(e for _, e, _ in found) >= 2
