"""The first load into an empty warehouse stores the source's time zone and currency.

Each preset's own settings, checked against its export's documentation: Online Retail is
a UK shop (Europe/London, GBP), Olist Brazilian (America/Sao_Paulo, BRL), CDNOW American
(America/New_York, USD). Shopify and GA4 exports do not say: their times and currency
codes do (the fixtures' shops: Berlin and EUR; New York, Los Angeles and USD).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from omnikpi.ingest import ingest_files, ingest_preset, parse_mapping
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import FIXTURES, options, reasons, rows, value, write

LONDON = {"time_zone": "Europe/London", "currency": "GBP"}
CDNOW_LINES = " 00001 0001 19970101  1   11.77\n 00002 0002 19970112  1   12.00\n"


def stored(settings: Settings) -> dict[str, str]:
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        return warehouse.stored_settings()


@pytest.mark.parametrize(
    ("preset", "path", "expected"),
    [
        ("online-retail", FIXTURES / "online_retail" / "online_retail_II.csv", LONDON),
        ("olist", FIXTURES / "olist", {"time_zone": "America/Sao_Paulo", "currency": "BRL"}),
        ("cdnow", Path("CDNOW_sample.txt"), {"time_zone": "America/New_York", "currency": "USD"}),
        ("shopify", FIXTURES / "shopify", {"time_zone": "Europe/Berlin", "currency": "EUR"}),
        ("ga4", FIXTURES / "ga4", {"time_zone": "Europe/Berlin", "currency": "EUR"}),
    ],
)
def test_each_preset_stores_its_settings_in_an_empty_warehouse(
    settings: Settings, tmp_path: Path, preset: str, path: Path, expected: dict[str, str]
) -> None:
    if preset == "cdnow":
        path = write(tmp_path / path.name, CDNOW_LINES)
    summary = ingest_preset(settings, preset, [path], options(max_error_rate=0.5))
    assert summary.stored_settings == expected
    assert stored(settings) == expected
    assert summary.settings_notes == ()


def test_a_second_load_never_changes_them_and_says_where_the_source_differs(
    settings: Settings,
) -> None:
    ingest_preset(settings, "online-retail", [FIXTURES / "online_retail" / "data.csv"], options())
    olist = ingest_preset(settings, "olist", [FIXTURES / "olist"], options(max_error_rate=0.5))
    assert stored(settings) == LONDON
    assert olist.source_settings == {"time_zone": "America/Sao_Paulo", "currency": "BRL"}
    assert olist.stored_settings == {}
    assert olist.settings_notes == (
        "the warehouse keeps its time-zone Europe/London; this source's is America/Sao_Paulo "
        "(loads never change stored settings: `omnikpi warehouse set time-zone "
        "America/Sao_Paulo` does)",
        "the warehouse keeps its currency GBP; this source's is BRL (loads never change "
        "stored settings: `omnikpi warehouse set currency BRL` does)",
    )
    # Olist's local dates are London's now: e481… placed 2017-10-02 10:56 in Sao Paulo
    # (-03:00) is 14:56 in London (+01:00, BST)
    assert value(
        settings,
        "SELECT strftime(placed_at, '%H:%M') FROM orders WHERE order_id LIKE 'e481%'",
    ) == ("14:56")


def test_a_warehouse_with_rows_but_no_settings_gets_none(
    settings: Settings, tmp_path: Path
) -> None:
    """A warehouse filled before loads stored settings keeps the defaults it had."""
    products = write(tmp_path / "products.csv", "id,name,price\nP1,Serum,25.00\n")
    mapping = parse_mapping(
        {
            "currency": "EUR",
            "tables": {
                "products": {
                    "columns": {
                        "product_id": "id",
                        "sku": "id",
                        "name": "name",
                        "category": {"value": "skincare"},
                        "subcategory": {"value": "serum"},
                        "brand": {"value": "Glow Lab"},
                        "list_price": "price",
                    }
                }
            },
        }
    )
    with Warehouse.create(settings.warehouse) as warehouse:
        warehouse.run_sql(
            "INSERT INTO products (product_id, sku, name, category, subcategory, brand, "
            "currency) VALUES ('P0', 'P0', 'Toner', 'skincare', 'toner', 'Glow Lab', 'KRW')"
        )
    summary = ingest_files(settings, mapping, [products], options())
    assert summary.stored_settings == {}
    assert stored(settings) == {}
    assert summary.settings_notes == (
        "the warehouse keeps its currency KRW; this source's is EUR (loads never change "
        "stored settings: `omnikpi warehouse set currency EUR` does)",
    )


def test_dry_runs_and_rejected_loads_store_nothing(settings: Settings, tmp_path: Path) -> None:
    data = FIXTURES / "online_retail" / "online_retail_II.csv"
    dry = ingest_preset(settings, "online-retail", [data], options(dry_run=True))
    assert (dry.new_settings, dry.stored_settings) == (LONDON, {})
    assert not settings.warehouse.exists()
    Warehouse.create(settings.warehouse).close()
    ingest_preset(settings, "online-retail", [data], options(dry_run=True))
    rejected = ingest_preset(settings, "online-retail", [data], options(max_error_rate=0.0))
    assert (rejected.status, rejected.stored_settings) == ("rejected", {})
    assert stored(settings) == {}
    loaded = ingest_preset(settings, "online-retail", [data], options(max_error_rate=0.5))
    assert loaded.stored_settings == LONDON
    assert stored(settings) == LONDON


def test_shopify_zone_from_offsets_across_both_dst_changes(settings: Settings) -> None:
    """The US shop's times: -0500 on Mar 11, -0400 on Mar 13 and Nov 4, -0500 on Nov 6
    2023 — New York's clocks (DST from Mar 12 to Nov 5), not Bogota's (-0500 all year) nor
    Chicago's. Its export is of the older layout without a Source column: web orders."""
    summary = ingest_preset(settings, "shopify", [FIXTURES / "shopify_us"], options())
    assert stored(settings) == {"time_zone": "America/New_York", "currency": "USD"}
    assert summary.settings_notes == ()
    # #2002 was placed 09:30 -0400: 13:30 UTC; local dates are New York's
    assert rows(
        settings,
        "SELECT order_id, channel, strftime(timezone('UTC', placed_at), '%H:%M'), "
        "CAST(placed_at AS DATE), net_amount FROM orders ORDER BY 1",
    ) == [
        ("#2001", "web", "19:05", date(2023, 3, 11), Decimal("30.00")),
        ("#2002", "web", "13:30", date(2023, 3, 13), Decimal("60.00")),
        ("#2003", "web", "22:00", date(2023, 11, 4), Decimal("12.00")),
        ("#2004", "web", "15:00", date(2023, 11, 6), Decimal("12.00")),
    ]


def test_ga4_property_zone_from_event_dates_across_its_dst_change(settings: Settings) -> None:
    """Events at 23:30 and 00:30 around Mar 10 (PST, -8) and 23:45 and 00:15 around Mar 11
    (PDT, -7) carry the property's local dates: Los Angeles. The purchase without a
    transaction id is set aside; the currency is that of the purchases, USD."""
    summary = ingest_preset(settings, "ga4", [FIXTURES / "ga4_dst"], options())
    assert stored(settings) == {"time_zone": "America/Los_Angeles", "currency": "USD"}
    assert rows(settings, "SELECT order_id, net_amount FROM orders") == [
        ("T9001", Decimal("40.00"))
    ]
    assert reasons(summary, "orders") == [
        ("set_aside", 'is a purchase without a transaction id (GA4 writes "(not set)")', 1)
    ]
    # GA4's "(not set)" region is unknown
    assert rows(settings, "SELECT region FROM sessions ORDER BY started_at") == [
        ("California",),
        (None,),
        ("Oregon",),
    ]
