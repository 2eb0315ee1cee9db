"""No raw e-mail address, phone number or name reaches the warehouse: after the Shopify
preset and a mapping with `hash: true` are loaded, every text column of every table
(canonical, quarantine, load log) is searched for the personal values of the input files.
Contact lists match customers through the same keyed hash (phones as digits and `+`, the
way the presets store them)."""

from __future__ import annotations

import csv
from pathlib import Path

from omnikpi.ingest import ingest_files, ingest_preset
from omnikpi.ingest.pseudonyms import email_key, phone_key, pseudonym
from omnikpi.services.contacts import match_contacts
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import FIXTURES, HASH_KEY, options, rows, write
from tests.services.forget_data import find_text

#: Columns of the input files that hold personal identifiers.
PERSONAL = {
    "Email",
    "Buyer Email",
    "Phone",
    "Mobile",
    "Billing Phone",
    "Shipping Phone",
    "Default Address Phone",
    "First Name",
    "Last Name",
    "Full Name",
    "Buyer Name",
    "Billing Name",
    "Shipping Name",
}
CRM = """
name: crm
currency: EUR
dates: {format: "%Y-%m-%d", time_zone: Europe/Berlin}
sources:
  people: {files: ["people*.csv"]}
  sales: {files: ["sales*.csv"]}
tables:
  customers:
    source: people
    columns:
      customer_id: {column: Email, hash: true}
      email_hash: {column: Email, hash: true}
      phone_hash: {column: Mobile, hash: true}
      created_at: Joined
      acquisition_channel: {value: web}
      gender: {value: unknown}
      is_member: {value: false}
      is_business: {value: false}
  orders:
    source: sales
    columns:
      order_id: Order
      customer_id: {column: Buyer Email, hash: true}
      channel: {value: web}
      placed_at: Date
      status: {value: paid}
      status_changed_at: Date
      fulfilment: {value: delivery}
      gross_amount: Amount
      discount_amount: {value: 0}
      net_amount: Amount
      shipping_amount: {value: 0}
      tax_amount: {value: 0}
      total_amount: Amount
"""
PEOPLE = (
    "Email,Mobile,Full Name,Joined\n"
    "Hana.Seo@example.org,+821055550101,Hana Seo,2025-01-05\n"
    "lukas.brandt@example.org,+491512222333,Lukas Brandt,2025-01-06\n"
)
SALES = (
    "Order,Buyer Email,Buyer Name,Date,Amount\n"
    "S1,hana.seo@example.org,Hana Seo,2025-02-01,30.00\n"
    "S2,lukas.brandt@example.org,Lukas Brandt,2025-02-02,12.50\n"
    # a buyer the people file does not know: quarantined as a missing customer
    "S3,mira.vogel@example.org,Mira Vogel,2025-02-03,9.90\n"
    # a row with one field too many: it cannot be read as a row
    "S4,jonas.weber@example.org,Jonas Weber,2025-02-04,5.00,extra\n"
)


def personal_values(*files: Path) -> set[str]:
    """The personal values of the files' personal columns (names whole and in parts)."""
    found: set[str] = set()
    for path in files:
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.reader(stream):
                found |= {v for v in row if "@" in v}  # e-mail addresses in any column
            stream.seek(0)
            for record in csv.DictReader(stream):
                for column in PERSONAL & set(record):
                    text = (record[column] or "").strip()
                    found |= {text, *text.split()} if text else set()
                    found |= {email_key(text) or "", phone_key(text) or ""} - {""}
    return {v for v in found if len(v) >= 4}


def crm_files(folder: Path) -> list[Path]:
    return [write(folder / "people.csv", PEOPLE), write(folder / "sales.csv", SALES)]


def leaks(settings: Settings, values: set[str]) -> list[tuple[str, str, str]]:
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        return find_text(warehouse, tuple(sorted(values)))


def test_no_raw_identifier_is_stored_after_shopify_and_a_hashed_mapping(
    settings: Settings, tmp_path: Path
) -> None:
    shopify = sorted((FIXTURES / "shopify").glob("*.csv"))
    ingest_preset(settings, "shopify", [FIXTURES / "shopify"], options(max_error_rate=0.5))
    mapping = write(tmp_path / "crm.yaml", CRM)
    files = crm_files(tmp_path)
    summary = ingest_files(settings, mapping, files, options(max_error_rate=1.0))
    assert summary.status == "loaded"
    values = personal_values(*shopify, *files)
    assert {"jane@example.com", "Hana Seo", "Brandt", "+821055550101"} <= values
    assert leaks(settings, values) == []
    assert leaks(settings, {v.lower() for v in values}) == []


def test_the_quarantine_shows_the_hash_not_the_address(settings: Settings, tmp_path: Path) -> None:
    mapping = write(tmp_path / "crm.yaml", CRM)
    ingest_files(settings, mapping, crm_files(tmp_path), options(max_error_rate=1.0))
    quarantined = rows(
        settings, "SELECT row_number, column_name, value FROM quarantine ORDER BY row_number"
    )
    # S3's buyer is shown as its keyed hash, as the orders would have stored it.
    assert (3, "Buyer Email", pseudonym("mira.vogel@example.org", HASH_KEY)) in quarantined
    # S4 could not be read: the row is counted but not shown.
    assert (4, "", None) in quarantined


def test_a_contact_list_matches_customers_through_the_keyed_hash(
    settings: Settings, tmp_path: Path
) -> None:
    mapping = write(tmp_path / "crm.yaml", CRM)
    ingest_files(settings, mapping, crm_files(tmp_path), options(max_error_rate=1.0))
    hana = pseudonym("hana.seo@example.org", HASH_KEY)
    lukas = pseudonym("lukas.brandt@example.org", HASH_KEY)

    found = match_contacts(
        settings,
        HASH_KEY,
        emails=[" HANA.SEO@example.org ", "nobody@example.org", ""],
        phones=["+49 (151) 222-2333"],
    )

    assert found.customer_ids == tuple(sorted([hana, lukas]))
    assert (found.contacts, found.unmatched) == (3, 1)
    assert (
        match_contacts(settings, "another-key", emails=["hana.seo@example.org"]).customer_ids == ()
    )
