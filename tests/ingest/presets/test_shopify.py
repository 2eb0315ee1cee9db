"""Shopify orders and customers exports, with customers pseudonymized by e-mail.

Orders: #1001 Jane, 2 lines (25.00 + 2 x 10.00 = 45.00), fulfilled → completed;
#1002 Max, 2 x 25.00 less SPRING10 5.00 = 45.00, paid; #1003 Jane, refunded and
cancelled, 10.00; #1004 a walk-in at the Berlin store, 15.00 cash; #1005 has the date
2024-02-30 and is quarantined. Revenue of orders not cancelled: 45 + 45 + 15 = 105.00,
average order value 35.00. Erika never ordered, so the exports do not date her record:
she is set aside. The shop's settings come from the export: EUR, and Europe/Berlin (the
times are +0100 and the billing country is DE).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from omnikpi.errors import ConfigError
from omnikpi.ingest import ingest_preset
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, HASH_KEY, options, reasons, rows, value

FOLDER = FIXTURES / "shopify"


def customer(email: str) -> str:
    return hashlib.sha256((HASH_KEY + email).encode()).hexdigest()


@pytest.fixture
def shop(settings: Settings) -> Settings:
    ingest_preset(settings, "shopify", [FOLDER], options(max_error_rate=0.5))
    return settings


def test_orders_statuses_and_revenue(shop: Settings) -> None:
    assert rows(shop, "SELECT order_id, status, channel, fulfilment FROM orders ORDER BY 1") == [
        ("#1001", "completed", "web", "delivery"),
        ("#1002", "paid", "web", "delivery"),
        ("#1003", "cancelled", "web", "delivery"),
        ("#1004", "completed", "store", "in_store"),
    ]
    assert rows(
        shop,
        "SELECT sum(net_amount), avg(net_amount), sum(discount_amount) FROM orders "
        "WHERE status <> 'cancelled'",
    ) == [(Decimal("105.00"), 35.0, Decimal("5.00"))]
    assert rows(
        shop,
        "SELECT order_id, gross_amount, total_amount FROM orders "
        "WHERE order_id IN ('#1001', '#1002') ORDER BY 1",
    ) == [
        ("#1001", Decimal("45.00"), Decimal("49.90")),
        ("#1002", Decimal("50.00"), Decimal("45.00")),
    ]


def test_customers_are_keyed_hashes_of_their_email(shop: Settings) -> None:
    jane, max_ = customer("jane@example.com"), customer("max@example.com")
    assert rows(
        shop,
        "SELECT customer_id, order_id FROM orders WHERE customer_id IS NOT NULL ORDER BY order_id",
    ) == [(jane, "#1001"), (max_, "#1002"), (jane, "#1003")]
    assert rows(
        shop,
        "SELECT customer_id, city, is_business, email_opt_in_at IS NOT NULL "
        "FROM customers ORDER BY city",
    ) == [(jane, "Berlin", False, True), (max_, "Hamburg", True, False)]
    everything = " ".join(
        str(cell)
        for table in ("customers", "orders")
        for row in rows(shop, f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {table}")
        for cell in row
    )
    assert "@" not in everything


def test_lines_products_and_what_was_quarantined(shop: Settings) -> None:
    assert rows(shop, "SELECT product_id, brand, list_price FROM products ORDER BY 1") == [
        ("Gift Box", "Glow Lab", Decimal("15.00")),  # no SKU: the item name is the key
        ("SER-30", "Glow Lab", Decimal("25.00")),
        ("TON-200", "Glow Lab", Decimal("12.00")),  # the compare-at price
    ]
    assert value(shop, "SELECT sum(quantity) FROM order_lines") == 7
    assert rows(
        shop, "SELECT DISTINCT source, row_number, table_name FROM quarantine ORDER BY 1, 2, 3"
    ) == [
        ("orders_export_1.csv", 6, "order_lines"),
        ("orders_export_1.csv", 6, "orders"),
    ]


def test_a_customer_without_orders_is_set_aside_with_the_reason(settings: Settings) -> None:
    summary = ingest_preset(settings, "shopify", [FOLDER], options(max_error_rate=0.5))
    customers = summary.tables["customers"]
    assert (customers.source_rows, customers.inserted, customers.set_aside) == (3, 2, 1)
    assert reasons(summary, "customers") == [
        (
            "set_aside",
            "has no order in the orders export, and the customers export has no creation date "
            "to date the customer by (load both exports together)",
            1,
        )
    ]


def test_pseudonymization_needs_a_key(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="set OMNIKPI_PSEUDONYM_KEY"):
        ingest_preset(settings, "shopify", [FOLDER], options(hash_key=None))
