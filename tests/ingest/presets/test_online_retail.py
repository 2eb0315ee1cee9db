"""UCI Online Retail (I and II, CSV and XLSX) into the canonical model, checked by hand.

online_retail_II.csv holds 18 invoice lines (Dec 2009 and Jan 2010), written from the UCI
attribute descriptions and what the real files hold (cancellations "C", bad-debt "A"
invoices, stock adjustments at price 0 without a description, customer ids as 13085.0,
the country "Unspecified"); the expected values are worked out with a calculator:

- Dec 2009 orders: 489434 (12 x 6.95 + 12 x 6.75 = 164.40, plus POST 18.00 shipping),
  489435 (12 x 2.55 = 30.60), 489436 (24 x 1.25 = 30.00), guest 489437 (6 x 2.10 = 12.60)
  → 4 orders, revenue 237.60. Row 8 (489450, -6 "damaged" at price 0, no customer) is a
  stock adjustment, not an order: set aside.
- Jan 2010 orders: 493100 (6 x 6.95 + 12 x 2.55 = 72.30), 493200 (48 x 1.06 = 50.88),
  493201 (12 x 1.25 = 15.00), guest 493300 (3 x 2.10 = 6.30), 493600 (6 x 1.25 = 7.50,
  customer 12346 of country "Unspecified": no region) → 5 orders, 151.98.
  493400 has the impossible date 2010-13-01 and is quarantined with its line. 493500
  (56 x 22139 at price 0, no description) is a stock adjustment and A506401 (bad debt,
  price -53,594.36) an accounting adjustment: both set aside.
- Cancellation C493101 returns 2 x 85048 of 493100 line 1 (refund 13.90); C489449 has no
  earlier purchase of customer 16321 in the file (bought before it begins), so it is set
  aside.
- Customers buying in Jan: 13085, 14000, 13078, 12346; 13085 and 13078 had bought in
  Dec, so the returning-customer share in Jan is 2/4.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from omnikpi.ingest import LoadSummary, ingest_preset
from omnikpi.kpi import query
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, options, reasons, rows, value

FOLDER = FIXTURES / "online_retail"
MONTHLY = (
    "SELECT strftime(placed_at, '%Y-%m') AS month, count(*), sum(net_amount) "
    "FROM orders GROUP BY month ORDER BY month"
)
RETURNING_SHARE = """
WITH buyers AS (SELECT DISTINCT customer_id, strftime(placed_at, '%Y-%m') AS month
                FROM orders WHERE customer_id IS NOT NULL)
SELECT avg(CASE WHEN EXISTS (SELECT 1 FROM buyers b WHERE b.customer_id = m.customer_id
                             AND b.month < m.month) THEN 1.0 ELSE 0.0 END)
FROM buyers m WHERE month = '2010-01'
"""


def load(settings: Settings, path: Path) -> LoadSummary:
    return ingest_preset(settings, "online-retail", [path], options(max_error_rate=0.5))


def check_online_retail_ii(settings: Settings) -> None:
    # The KPI engine on the same data: revenue of completed orders (cancellations are
    # returns, not cancelled orders), orders, buyers and the returning-customer share.
    result = query(
        ["revenue", "orders", "purchasing_customers", "returning_customer_share"],
        "month",
        "2009-12-01",
        "2010-01-31",
        settings=settings,
    )
    assert {(r.kpi, str(r.period_start)): r.value for r in result.itertuples()} == {
        ("revenue", "2009-12-01"): pytest.approx(237.60),
        ("revenue", "2010-01-01"): pytest.approx(151.98),
        ("orders", "2009-12-01"): 4,
        ("orders", "2010-01-01"): 5,
        ("purchasing_customers", "2009-12-01"): 2,  # 13085 (489434, 489435), 13078
        ("purchasing_customers", "2010-01-01"): 4,  # 13085 14000 13078 12346
        ("returning_customer_share", "2009-12-01"): 0.0,
        ("returning_customer_share", "2010-01-01"): pytest.approx(2 / 4),
    }
    assert rows(settings, MONTHLY) == [
        ("2009-12", 4, Decimal("237.60")),
        ("2010-01", 5, Decimal("151.98")),
    ]
    assert value(settings, RETURNING_SHARE) == 2 / 4
    # 16321 only cancelled (bought before the file begins), still a customer
    assert value(settings, "SELECT count(*) FROM customers") == 5
    assert value(settings, "SELECT region FROM customers WHERE customer_id = '12346'") is None
    assert value(settings, "SELECT count(*) FROM orders WHERE customer_id IS NULL") == 2
    assert value(settings, "SELECT sum(shipping_amount) FROM orders") == Decimal("18.00")
    assert rows(
        settings, "SELECT order_id, line_number, product_id, quantity, refund_amount FROM returns"
    ) == [("493100", 1, "85048", 2, Decimal("13.90"))]
    assert value(settings, "SELECT count(*) FROM order_lines") == 11
    assert value(settings, "SELECT list_price FROM products WHERE product_id = '21871'") == Decimal(
        "1.25"
    )  # the most frequent price: 1.25 three times, 1.06 once
    # only ever counted in stock (489450 "damaged", 493500): products without a name (the
    # description of an adjustment is a note) or price; the bad debt's "B" is no product
    assert rows(
        settings,
        "SELECT product_id, name, list_price FROM products WHERE list_price IS NULL ORDER BY 1",
    ) == [("21733", "21733", None), ("22139", "22139", None)]
    assert value(settings, "SELECT count(*) FROM products WHERE product_id = 'B'") == 0


def test_online_retail_ii_csv(settings: Settings) -> None:
    summary = load(settings, FOLDER / "online_retail_II.csv")
    assert [p.message() for p in summary.problems] == [
        'online_retail_II.csv row 15: column "Invoice" value "493400" refers to a row of orders '
        "that is quarantined itself (see its problem)",
        'online_retail_II.csv row 15: column "InvoiceDate" value "2010-13-01 10:00:00" is not '
        "a date in format %Y-%m-%d %H:%M:%S or %m/%d/%Y %H:%M or %Y-%m-%d %H:%M "
        "(set dates.format in the mapping)",
    ]
    assert (summary.rows_read, summary.rows_quarantined) == (18, 1)
    check_online_retail_ii(settings)


def test_the_report_accounts_for_every_invoice_and_line(settings: Settings) -> None:
    """Per table, source rows = rows loaded + quarantined + set aside, each with its reason.

    Orders: 15 invoices = 9 orders + 493400 (bad date) + 2 cancellations (C489449, C493101)
    + 2 stock adjustments (489450, 493500) + the bad debt A506401. Lines: 18 = 11 order
    lines + 493400's line + 2 cancellation lines + 1 postage line (489434) + the 2 lines
    of stock adjustments + the bad-debt line.
    """
    summary = load(settings, FOLDER / "online_retail_II.csv")
    orders, lines = summary.tables["orders"], summary.tables["order_lines"]
    stock = (
        "is a stock adjustment, not an order: every line of the invoice is at price 0 "
        "(damaged, found, check, ?)"
    )
    debt = 'is an accounting adjustment (an "A" invoice: bad debt), not a sale'
    bad_date = (
        "is not a date in format %Y-%m-%d %H:%M:%S or %m/%d/%Y %H:%M or %Y-%m-%d %H:%M "
        "(set dates.format in the mapping)"
    )
    assert (orders.source_rows, orders.inserted, orders.quarantined, orders.set_aside) == (
        15,
        9,
        1,
        5,
    )
    assert reasons(summary, "orders") == [
        ("set_aside", "is a cancellation (its lines are loaded as returns)", 2),
        ("set_aside", stock, 2),
        ("quarantined", bad_date, 1),
        ("set_aside", debt, 1),
    ]
    assert (lines.source_rows, lines.inserted, lines.quarantined, lines.set_aside) == (18, 11, 1, 6)
    quarantined_order = "refers to a row of orders that is quarantined itself (see its problem)"
    assert sorted(reasons(summary, "order_lines")) == [
        ("quarantined", quarantined_order, 1),
        ("set_aside", "is a cancellation line (loaded as a return)", 2),
        ("set_aside", stock, 2),
        ("set_aside", debt, 1),
        ("set_aside", "is postage (the shipping amount of its order)", 1),
    ]
    assert reasons(summary, "returns") == [
        (
            "set_aside",
            "is a cancellation of no earlier invoice line of its customer and StockCode in these "
            "files (bought before they begin?)",
            1,
        )
    ]
    # load_log keeps the same report, per table and reason
    (logged,) = rows(settings, "SELECT tables FROM load_log")
    report = json.loads(logged[0])
    assert report["orders"]["set_aside"] == 5
    assert {
        "outcome": "set_aside",
        "column": "",
        "rows": 2,
        "reason": "is a cancellation (its lines are loaded as returns)",
    } in (report["orders"]["reasons"])


def test_price_0_invoices_are_not_orders(settings: Settings, tmp_path: Path) -> None:
    """Stock adjustments written as invoices (UCI: "damaged", "check", "?", "found", every
    line at price 0) make no order, no customer and no revenue.

    Invoice 536365 sells 6 x 2.55 to 17850; 536414 ("?", no customer), 536415 ("check",
    customer 14911, two lines) and 536416 ("found", +5) are all at price 0. Orders: 1,
    revenue 15.30, AOV 15.30, customers: 17850 only (14911 appears on no sale).
    """
    path = tmp_path / "Online Retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,"
        "United Kingdom\n"
        "536414,22139,?,56,12/1/2010 11:52,0,,United Kingdom\n"
        "536415,21275,check,-2,12/1/2010 12:00,0,14911,EIRE\n"
        "536415,21276,check,-1,12/1/2010 12:00,0.00,14911,EIRE\n"
        "536416,85123A,found,5,12/2/2010 9:00,0,,United Kingdom\n",
        encoding="latin-1",
    )
    summary = load(settings, path)
    assert summary.rows_quarantined == 0  # adjustments are no errors
    assert rows(settings, "SELECT order_id, net_amount FROM orders") == [
        ("536365", Decimal("15.30"))
    ]
    assert rows(settings, "SELECT customer_id FROM customers") == [("17850",)]
    adjustment = (
        "is a stock adjustment, not an order: every line of the invoice is at price 0 "
        "(damaged, found, check, ?)"
    )
    assert reasons(summary, "orders") == [("set_aside", adjustment, 3)]
    assert reasons(summary, "order_lines") == [("set_aside", adjustment, 4)]
    assert reasons(summary, "customers") == [
        ("set_aside", "appears only on stock adjustments, never on an order or a return", 1)
    ]
    result = query(
        ["orders", "revenue", "aov", "purchasing_customers"],
        "month",
        "2010-12-01",
        "2010-12-31",
        settings=settings,
    )
    assert {r.kpi: r.value for r in result.itertuples()} == {
        "orders": 1,
        "revenue": pytest.approx(15.30),
        "aov": pytest.approx(15.30),
        "purchasing_customers": 1,
    }
    # the products counted in stock are in the catalog, those never sold without a price
    assert rows(settings, "SELECT product_id, list_price FROM products ORDER BY 1") == [
        ("21275", None),
        ("21276", None),
        ("22139", None),
        ("85123A", Decimal("2.55")),
    ]


def test_online_retail_ii_xlsx_with_a_sheet_per_year(settings: Settings, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheets = {"2009": book.active, "2010": book.create_sheet("Year 2010-2011")}
    assert sheets["2009"] is not None
    sheets["2009"].title = "Year 2009-2010"
    with (FOLDER / "online_retail_II.csv").open() as stream:
        lines = list(csv.reader(stream))
    for sheet in sheets.values():
        assert sheet is not None
        sheet.append(lines[0])
    for invoice, code, text, quantity, when, price, customer, country in lines[1:]:
        try:  # cells typed as in the UCI workbook: numbers, dates, text where Excel had text
            moment: object = dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            moment = when
        sheet = sheets[when[:4]]
        assert sheet is not None
        sheet.append(
            [
                int(invoice) if invoice.isdigit() else invoice,
                code,
                text,
                int(quantity),
                moment,
                float(price),
                float(customer) if customer else None,
                country,
            ]
        )
    path = tmp_path / "online_retail_II.xlsx"
    book.save(path)
    summary = load(settings, path)
    assert summary.rows_quarantined == 1
    assert {p.source for p in summary.problems} == {"online_retail_II.xlsx:Year 2010-2011"}
    check_online_retail_ii(settings)


def test_online_retail_i_csv_in_latin1_with_us_dates(settings: Settings) -> None:
    summary = load(settings, FOLDER / "data.csv")
    # 536365: 6 x 2.55 + 6 x 3.39 = 35.64; 536366: 11.10; 536367: 32 x 1.69 = 54.08;
    # 536368: 6 x 4.25 = 25.50; 536370: 24 x 3.75 = 90.00 plus 3 x 18 = 54.00 postage
    assert rows(
        settings, "SELECT order_id, net_amount, shipping_amount FROM orders ORDER BY 1"
    ) == [
        ("536365", Decimal("35.64"), Decimal("0.00")),
        ("536366", Decimal("11.10"), Decimal("0.00")),
        ("536367", Decimal("54.08"), Decimal("0.00")),
        ("536368", Decimal("25.50"), Decimal("0.00")),
        ("536370", Decimal("90.00"), Decimal("54.00")),
    ]
    assert value(settings, "SELECT name FROM products WHERE product_id = '22960'") == (
        "CAFÉ JAM MAKING SET WITH JARS"
    )
    # 12/1/2010 8:26 is December 1st (US order), 08:26 in London = UTC in winter
    assert (
        value(
            settings,
            "SELECT strftime(timezone('UTC', placed_at), '%Y-%m-%d %H:%M') FROM orders "
            "WHERE order_id = '536365'",
        )
        == "2010-12-01 08:26"
    )
    assert summary.problems == ()
    assert reasons(summary, "returns") == [
        ("set_aside", "is a discount given after the sale; there is no table for it", 1)
    ]
