"""A GA4 BigQuery export into sessions, events and (without an order source) orders.

Three sessions: A on mobile web from google/cpc (home → product → cart → checkout →
purchase T1001: 2 x 25.00 + 4.90 shipping), B on desktop, direct, signed in as C-42
(search → product), C in the Android app (screen → purchase T1002: 3 x 10.00). GA4's
session_start and user_engagement events are not canonical and are set aside, as is
one page_view without ga_session_id (no session). Conversion: 2 of 3 sessions bought.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from omnikpi.ingest import ingest_files, ingest_preset, parse_mapping
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, options, reasons, rows, value, write

EXPORT = FIXTURES / "ga4" / "events_20240301.jsonl"


def check(settings: Settings) -> None:
    assert rows(
        settings,
        "SELECT channel, device, traffic_source, landing_page_type, customer_id FROM sessions "
        "ORDER BY started_at",
    ) == [
        ("web", "mobile", "paid_search", "home", None),
        ("web", "desktop", "direct", "search", "C-42"),
        ("app", "mobile", "direct", "other", None),
    ]
    assert rows(settings, "SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 1") == [
        ("add_to_cart", 1),
        ("begin_checkout", 1),
        ("page_view", 3),
        ("product_view", 2),
        ("purchase", 2),
        ("search", 1),
    ]
    assert value(
        settings,
        "SELECT count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase') "
        "/ count(DISTINCT session_id) FROM events",
    ) == pytest.approx(2 / 3)
    assert rows(
        settings,
        "SELECT order_id, channel, net_amount, shipping_amount, total_amount FROM orders "
        "ORDER BY 1",
    ) == [
        ("T1001", "web", Decimal("50.00"), Decimal("4.90"), Decimal("54.90")),
        ("T1002", "app", Decimal("30.00"), Decimal("0.00"), Decimal("30.00")),
    ]
    assert rows(settings, "SELECT order_id, product_id, quantity FROM order_lines ORDER BY 1") == [
        ("T1001", "SER-30", 2),
        ("T1002", "TON-200", 3),
    ]
    assert value(settings, "SELECT search_query FROM events WHERE event_type = 'search'") == "toner"
    assert rows(settings, "SELECT customer_id, acquisition_source FROM customers") == [
        ("C-42", "direct")
    ]


def test_json_lines_export(settings: Settings) -> None:
    summary = ingest_preset(settings, "ga4", [EXPORT], options())
    assert summary.problems == ()
    events = summary.tables["events"]
    assert (events.source_rows, events.inserted, events.set_aside) == (14, 10, 4)
    assert reasons(summary, "events") == [
        (
            "set_aside",
            "is a GA4 event the model has no type for (session_start, user_engagement, …)",
            3,
        ),
        ("set_aside", "has no session: GA4 wrote no ga_session_id or user_pseudo_id for it", 1),
    ]
    check(settings)
    again = ingest_preset(settings, "ga4", [EXPORT], options(max_error_rate=0.5))
    assert sum(t.inserted + t.updated for t in again.tables.values()) == 0


def test_parquet_export_with_integer_timestamps(settings: Settings, tmp_path: Path) -> None:
    parquet = tmp_path / "events_20240301.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * REPLACE (CAST(event_timestamp AS BIGINT) AS event_timestamp) "
            f"FROM read_json('{EXPORT}')) TO '{parquet}' (FORMAT parquet)"
        )
        assert con.execute(
            f"SELECT typeof(event_timestamp) FROM '{parquet}' LIMIT 1"
        ).fetchone() == ("BIGINT",)
    ingest_preset(settings, "ga4", [parquet], options(max_error_rate=0.5))
    check(settings)


def test_purchases_of_an_order_source_are_not_doubled(settings: Settings, tmp_path: Path) -> None:
    shop_orders = write(
        tmp_path / "orders.csv",
        "id,placed,amount\nT1001,2024-03-01 08:03:00+00:00,50.00\n",
    )
    mapping = parse_mapping(
        {
            "currency": "EUR",
            "tables": {
                "orders": {
                    "columns": {
                        "order_id": "id",
                        "channel": {"value": "web"},
                        "placed_at": "placed",
                        "status": {"value": "completed"},
                        "status_changed_at": "placed",
                        "fulfilment": {"value": "delivery"},
                        "gross_amount": "amount",
                        "discount_amount": {"value": 0},
                        "net_amount": "amount",
                        "shipping_amount": {"value": 0},
                        "tax_amount": {"value": 0},
                        "total_amount": "amount",
                    }
                }
            },
        }
    )
    ingest_files(settings, mapping, [shop_orders], options())
    summary = ingest_preset(settings, "ga4", [EXPORT], options(max_error_rate=0.5))
    assert summary.tables["orders"].inserted == 1  # only T1002
    assert rows(settings, "SELECT order_id, status FROM orders ORDER BY 1") == [
        ("T1001", "completed"),
        ("T1002", "paid"),
    ]
    assert value(settings, "SELECT count(*) FROM events WHERE order_id = 'T1001'") == 1
