"""The Olist folder into the canonical model, with KPIs worked out by hand.

The fixture holds 8 orders of 7 people (customer_unique_id 7c396fd… ordered twice) and
6 products, of which 5a848e… (perfumaria) was never sold in these orders:
5 delivered, 1 shipped, 1 canceled, 1 unavailable. Of the 4 delivered shipments that
load, 3 arrived by the estimated date (e481…: Oct 10 ≤ Oct 18, 53cd…: Aug 7 ≤ Aug 13,
a459…: Jul 26 ≤ Aug 1) and 4777… came Aug 17 for Aug 16; 6514… claims delivery before
it was shipped and is quarantined. Reviews 4, 5, 1, 3, 5, 5 and 1 load (mean 24/7): the
last is of the unavailable order, which has no items, so it is of no product (unknown).
The first load into the empty warehouse stores Olist's own settings (America/Sao_Paulo,
BRL), so local dates are Brazilian dates without any override.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from omnikpi.ingest import ingest_preset
from omnikpi.kpi import query
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, options, rows, value


@pytest.fixture
def olist(settings: Settings) -> Settings:
    ingest_preset(settings, "olist", [FIXTURES / "olist"], options(max_error_rate=0.5))
    return settings


def test_kpis_from_the_engine(olist: Settings) -> None:
    """The same figures through the KPI engine, per year (local time: Sao Paulo).

    Orders 2017: e481 a459 6514 completed, 949d paid (shipped), 76c6 cancelled (unavailable);
    2018: 53cd 4777 completed, ad21 cancelled. Deliveries 2017: e481 and a459 on time (2/2);
    2018: 53cd on time, 4777 a day late (1/2). Reviews 2017: 4, 3, 5, 5, 1 (= 18/5);
    2018: 5, 1.
    """
    result = query(
        ["orders", "on_time_delivery_rate", "review_rating"],
        "year",
        "2017-01-01",
        "2018-12-31",
        settings=olist,
    )
    assert _values(result, "on_time_delivery_rate") == {"2017-01-01": 1.0, "2018-01-01": 0.5}
    assert _values(result, "review_rating") == {"2017-01-01": 18 / 5, "2018-01-01": 3.0}
    assert _values(result, "orders") == {"2017-01-01": 5, "2018-01-01": 3}
    by_status = query(
        ["orders"], "year", "2017-01-01", "2018-12-31", by=["order_status"], settings=olist
    )
    assert {(str(r.period_start), r.order_status): r.value for r in by_status.itertuples()} == {
        ("2017-01-01", "completed"): 3,
        ("2017-01-01", "paid"): 1,
        ("2017-01-01", "cancelled"): 1,
        ("2018-01-01", "completed"): 2,
        ("2018-01-01", "cancelled"): 1,
        ("2018-01-01", "paid"): 0,
    }


def _values(result: pd.DataFrame, kpi: str) -> dict[str, object]:
    rows = result[result["kpi"] == kpi]
    return {str(p): v for p, v in zip(rows["period_start"], rows["value"], strict=True)}


def test_orders_by_status(olist: Settings) -> None:
    assert rows(olist, "SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 1") == [
        ("cancelled", 2),
        ("completed", 5),
        ("paid", 1),
    ]


def test_on_time_delivery_rate(olist: Settings) -> None:
    on_time = value(
        olist,
        "SELECT avg(CASE WHEN CAST(delivered_at AS DATE) <= promised_date THEN 1.0 ELSE 0 END) "
        "FROM shipments WHERE status = 'delivered'",
    )
    assert on_time == 0.75


def test_mean_review_score(olist: Settings) -> None:
    assert value(olist, "SELECT avg(rating) FROM reviews") == pytest.approx(24 / 7)
    # the review of the unavailable order 76c6…, which has no items, is of no product
    assert rows(olist, "SELECT order_id, rating FROM reviews WHERE product_id IS NULL") == [
        ("76c6e866289321a7c93b82b54852dc33", 1)
    ]


def test_people_not_per_order_customer_ids(olist: Settings) -> None:
    assert value(olist, "SELECT count(*) FROM customers") == 7
    assert rows(
        olist,
        "SELECT customer_id, count(*) FROM orders GROUP BY 1 HAVING count(*) > 1",
    ) == [("7c396fd4830fd04220f754e42b4e5bff", 2)]
    # campinas (13056) has no geolocation row: the centroid of SP's rows stands in
    assert rows(
        olist, "SELECT round(latitude, 4), postcode FROM customers WHERE city = 'campinas'"
    ) == [(-23.5656, "13056")]


def test_revenue_lines_and_payments(olist: Settings) -> None:
    # not cancelled: 29.99 + 118.70 + (159.90 + 29.99) + 45.00 + 19.90 + 29.99 = 433.47
    assert value(olist, "SELECT sum(net_amount) FROM orders WHERE status <> 'cancelled'") == (
        Decimal("433.47")
    )
    assert value(olist, "SELECT count(*) FROM order_lines") == 8
    # 6514…'s payment type is "not_defined": a payment of unknown method
    assert rows(olist, "SELECT method, count(*) FROM payments GROUP BY 1 ORDER BY 1") == [
        ("bank_transfer", 1),
        ("card", 5),
        ("gift_card", 1),
        (None, 1),
    ]
    assert rows(olist, "SELECT category, count(*) FROM products GROUP BY 1 ORDER BY 1") == [
        ("bed_bath_table", 1),
        ("computers_accessories", 1),
        ("health_beauty", 1),
        ("pc_gamer", 1),  # no English name in the translation file
        ("perfumery", 1),
        ("unknown", 1),
    ]


def test_a_product_never_sold_loads_with_an_unknown_price(olist: Settings) -> None:
    """The products file is the whole catalog, the orders one period: a product without
    order items has no price in the export, so its list price is unknown, not an error."""
    assert rows(
        olist, "SELECT product_id, category, list_price FROM products WHERE list_price IS NULL"
    ) == [("5a848e4ab52fd5445cdc07aab1c40e48", "perfumery", None)]
    # list price = the highest price sold: 87285… sold at 29.99 three times
    assert value(olist, "SELECT list_price FROM products WHERE product_id LIKE '87285%'") == (
        Decimal("29.99")
    )


def test_what_was_quarantined(olist: Settings) -> None:
    assert rows(
        olist, "SELECT source, row_number, table_name, column_name FROM quarantine ORDER BY 1, 2"
    ) == [("olist_orders_dataset.csv", 7, "shipments", "order_delivered_customer_date")]
