"""Bad rows go to quarantine with a message naming file, row, column, value and fix."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from omnikpi.errors import DataError
from omnikpi.ingest import LoadSummary, ingest_files, parse_mapping
from omnikpi.ingest.files import read_once
from omnikpi.ingest.mapping import Mapping
from omnikpi.ingest.pseudonyms import pseudonym
from omnikpi.settings import Settings
from tests.ingest.conftest import HASH_KEY, options, rows, value, write

SHOP = """
name: shop
currency: GBP
dates: {format: "%d/%m/%Y", time_zone: Europe/London}
tables:
  customers:
    duplicates: first
    columns:
      customer_id: Customer
      created_at: InvoiceDate
      acquisition_channel: {value: web}
      gender: {value: unknown}
      is_member: {value: false}
      is_business: {value: false}
  orders:
    columns:
      order_id: InvoiceNo
      customer_id: Customer
      channel: {column: Channel, map: {Online: web, Shop: store}}
      placed_at: InvoiceDate
      status: {column: Status, map: {Paid: paid, Cancelled: cancelled}}
      status_changed_at: InvoiceDate
      fulfilment: {value: delivery}
      gross_amount: Amount
      discount_amount: {value: 0}
      net_amount: Amount
      shipping_amount: {value: 0}
      tax_amount: {value: 0}
      total_amount: Amount
"""
HEADER = "InvoiceNo,Customer,Channel,InvoiceDate,Status,Amount\n"


def shop(**changes: object) -> Mapping:
    document = yaml.safe_load(SHOP)
    document.update(changes)
    return parse_mapping(document, origin="shop.yaml")


def load(
    settings: Settings, path: Path, mapping: Mapping | None = None, **kw: object
) -> LoadSummary:
    return ingest_files(settings, mapping or shop(), [path], options(max_error_rate=1.0, **kw))


def messages(summary: LoadSummary) -> list[str]:
    return [problem.message() for problem in summary.problems]


def test_a_bad_date_is_quarantined_with_the_house_style_message(
    settings: Settings, tmp_path: Path
) -> None:
    lines = [f"{536000 + i},C{i % 7},Online,01/12/2010,Paid,10.00" for i in range(1, 1211)]
    lines[1203] = "537204,C1,Online,31/13/2010,Paid,10.00"  # data row 1,204
    path = write(tmp_path / "orders.csv", HEADER + "\n".join(lines) + "\n")
    summary = load(settings, path)
    assert messages(summary) == [
        'orders.csv row 1,204: column "InvoiceDate" value "31/13/2010" is not a date in format '
        "%d/%m/%Y (set dates.format in the mapping)"
    ]
    # the order is quarantined, the other 1,209 load; customers come from the same rows
    assert summary.tables["orders"].inserted == 1209
    assert summary.tables["orders"].quarantined == 1
    assert value(settings, "SELECT count(*) FROM orders") == 1209
    # the cell fed two tables: quarantined for each, shown once
    assert rows(
        settings,
        "SELECT source, row_number, table_name, column_name, value FROM quarantine "
        "ORDER BY table_name",
    ) == [
        ("orders.csv", 1204, "customers", "InvoiceDate", "31/13/2010"),
        ("orders.csv", 1204, "orders", "InvoiceDate", "31/13/2010"),
    ]


def orders_only() -> Mapping:
    """The shop's orders without its customers: the file's rows are read by one table."""
    document = yaml.safe_load(SHOP)
    del document["tables"]["customers"]
    return parse_mapping(document, origin="shop.yaml")


@pytest.mark.parametrize("read", ["copied", "where it lies"])
def test_rows_of_a_file_read_on_every_thread_keep_their_numbers(
    settings: Settings, tmp_path: Path, read: str
) -> None:
    """A file of some megabytes is parsed in parts on each thread, into a numbered copy
    (two tables read its rows) or straight into the one table's stage; the quarantine
    still names the rows as they stand in the file, the last ones included."""
    mapping = shop() if read == "copied" else orders_only()
    assert bool(read_once(mapping, ["input"])) == (read == "where it lies")
    count = 250_000
    lines = [f"{100_000 + i},C1,Online,01/12/2010,Paid,10.00" for i in range(count)]
    lines[count - 3] = f"{100_000 + count - 3},C1,Online,31/13/2010,Paid,10.00"
    lines[count - 1] = "100004,C1,Online,01/12/2010,Paid,10.00"  # the key of data row 5
    path = write(tmp_path / "orders.csv", HEADER + "\n".join(lines) + "\n")
    assert path.stat().st_size > 8_000_000  # DuckDB reads a file of 8 MB or more on 2 threads
    summary = load(settings, path, mapping, references="required")
    assert messages(summary) == [
        'orders.csv row 249,998: column "InvoiceDate" value "31/13/2010" is not a date in '
        "format %d/%m/%Y (set dates.format in the mapping)",
        'orders.csv row 250,000: column "order_id" value "100004" is a duplicate key (first at '
        "row 5; keep one row per key, or set duplicates: first or last)",
    ]
    assert summary.rows_read == count
    assert summary.tables["orders"].source_rows == count
    assert summary.tables["orders"].inserted == count - 2
    assert value(settings, "SELECT count(*) FROM orders WHERE order_id = '100004'") == 1


def test_json_lines_read_where_they_lie_keep_their_numbers(
    settings: Settings, tmp_path: Path
) -> None:
    count = 120_000
    keys = ("InvoiceNo", "Customer", "Channel", "InvoiceDate", "Status", "Amount")
    records = [[str(100_000 + i), "C1", "Online", "01/12/2010", "Paid", "1"] for i in range(count)]
    records[count - 2][3] = "31/13/2010"
    text = "".join(json.dumps(dict(zip(keys, row, strict=True))) + "\n" for row in records)
    path = write(tmp_path / "orders.jsonl", text)
    summary = load(settings, path, orders_only(), references="required")
    assert messages(summary) == [
        'orders.jsonl row 119,999: column "InvoiceDate" value "31/13/2010" is not a date in '
        "format %d/%m/%Y (set dates.format in the mapping)"
    ]
    assert summary.rows_read == count


@pytest.mark.parametrize("read", ["copied", "where it lies"])
def test_a_row_that_is_no_text_in_the_files_encoding_is_quarantined(
    settings: Settings, tmp_path: Path, read: str
) -> None:
    """DuckDB meets a byte that is no UTF-8 only when it reads that far (for a file read
    where it lies, when the stage does): that row is quarantined with its number, the
    others load."""
    good = "".join(f"{100_000 + i},C1,Online,01/12/2010,Paid,10.00\n" for i in range(60_000))
    path = tmp_path / "orders.csv"
    path.write_bytes(
        (HEADER + good).encode()
        + b"200000,C\xff,Online,01/12/2010,Paid,1\n"
        + b"200001,C1,Online,01/12/2010,Paid,1\n"
    )
    mapping = shop() if read == "copied" else orders_only()
    summary = load(settings, path, mapping, references="required")
    assert [(p.row_number, p.column, p.reason.split(" (")[0]) for p in summary.problems] == [
        (60_001, "", "is not text in the file's encoding")
    ]
    assert summary.problems[0].reason.endswith("; set read.encoding in the mapping)")
    assert summary.rows_read == 60_002
    assert value(settings, "SELECT count(*) FROM orders") == 60_001
    assert value(settings, "SELECT max(order_id) FROM orders") == "200001"


def test_each_kind_of_bad_value_gets_its_reason(settings: Settings, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        HEADER
        + "1001,C1,Online,01/12/2010,Paid,10.00\n"  # good
        + "1002,C1,Telefon,01/12/2010,Paid,10.00\n"  # channel not mapped
        + ",C2,Online,02/12/2010,Paid,5.00\n"  # no order number
        + "1001,C3,Shop,03/12/2010,Paid,7.00\n"  # same order number as row 1
        + "1005,C4,Online,04/12/2010,Paid,12 GBP\n"  # not an amount
        + "1006,C5,Online,01/02/2026,Paid,3.00\n"  # after the load's clock (2026-01-15)
        + "1007,C6,Online,05/12/2010,Refunded,-4.00\n",  # status not mapped, negative amount
    )
    summary = load(settings, path)
    assert messages(summary) == [
        'orders.csv row 2: column "Channel" value "Telefon" is not one of web, app, store, '
        "marketplace, call (map it with map: under tables.orders.columns.channel)",
        'orders.csv row 3: column "InvoiceNo" value "" is empty, but orders.order_id is required',
        'orders.csv row 4: column "order_id" value "1001" is a duplicate key (first at row 1; '
        "keep one row per key, or set duplicates: first or last)",
        'orders.csv row 5: column "Amount" value "12 GBP" is not an amount (digits with a '
        "decimal point; set numbers: in the mapping for other separators)",
        'orders.csv row 6: column "InvoiceDate" value "01/02/2026" is in the future (after '
        "2026-01-15 12:00 UTC; check the time zone)",
        'orders.csv row 7: column "Amount" value "-4.00" is negative (amounts are positive; '
        "refunds are returns)",
        'orders.csv row 7: column "Status" value "Refunded" is not one of placed, paid, '
        "cancelled, completed (map it with map: under tables.orders.columns.status)",
    ]
    assert rows(settings, "SELECT order_id FROM orders") == [("1001",)]
    assert summary.rows_read == 7
    assert summary.rows_quarantined == 6


def test_numbers_with_other_separators_follow_the_mapping(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "orders.csv",
        "InvoiceNo;Customer;Channel;InvoiceDate;Status;Amount\n"
        "1001;C1;Online;01/12/2010;Paid;1.234,50\n",
    )
    mapping = shop(numbers={"decimal": ",", "thousands": "."}, read={"delimiter": ";"})
    summary = load(settings, path, mapping)
    assert summary.rows_quarantined == 0
    assert str(value(settings, "SELECT net_amount FROM orders")) == "1234.50"


def test_timestamps_are_converted_from_the_source_zone_to_utc(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,01/07/2010,Paid,10.00\n")
    load(settings, path)
    # midnight in London during summer time (UTC+1) is 23:00 UTC the day before
    assert (
        value(settings, "SELECT strftime(timezone('UTC', placed_at), '%Y-%m-%d %H:%M') FROM orders")
        == "2010-06-30 23:00"
    )


def test_unknown_references_and_impossible_sequences(settings: Settings, tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,05/12/2010,Paid,10.00\n")
    load(settings, orders)
    shipments = write(
        tmp_path / "shipments.csv",
        "Parcel,Order,Shipped,Delivered,Promised\n"
        "P1,1001,06/12/2010,08/12/2010,09/12/2010\n"  # good
        "P2,1002,06/12/2010,08/12/2010,09/12/2010\n"  # unknown order
        "P3,1001,06/12/2010,04/12/2010,09/12/2010\n"  # delivered before shipped
        "P4,1001,01/12/2010,,09/12/2010\n",  # shipped before the order was placed
    )
    mapping = parse_mapping(
        {
            "dates": {"format": "%d/%m/%Y", "date_format": "%d/%m/%Y"},
            "tables": {
                "shipments": {
                    "columns": {
                        "shipment_id": "Parcel",
                        "order_id": "Order",
                        "carrier": {"value": "DHL"},
                        "status": {"value": "delivered"},
                        "promised_date": "Promised",
                        "shipped_at": "Shipped",
                        "delivered_at": "Delivered",
                        "parcels": {"value": 1},
                    }
                }
            },
        }
    )
    summary = load(settings, shipments, mapping)
    assert messages(summary) == [
        'shipments.csv row 2: column "Order" value "1002" is not a known orders.order_id '
        "(load orders first, or in the same batch)",
        'shipments.csv row 3: column "Delivered" value "04/12/2010" is before shipped_at',
        'shipments.csv row 4: column "Shipped" value "01/12/2010" is before orders.placed_at '
        "of its order_id",
    ]
    assert rows(settings, "SELECT shipment_id FROM shipments") == [("P1",)]


def test_an_unknown_pseudonymised_key_is_shown_as_its_hash(
    settings: Settings, tmp_path: Path
) -> None:
    # customer ids here are keyed hashes of e-mail addresses: the quarantine keeps the hash
    # the orders would have stored, never the address (issue 22: no raw identifier stored)
    document = yaml.safe_load(SHOP)
    del document["tables"]["customers"]
    document["tables"]["orders"]["columns"]["customer_id"] = {"column": "Email", "hash": True}
    path = write(
        tmp_path / "orders.csv",
        "InvoiceNo,Email,Channel,InvoiceDate,Status,Amount\n"
        "1001,Ann@Example.com,Online,01/12/2010,Paid,10.00\n",
    )
    summary = load(settings, path, parse_mapping(document, origin="shop.yaml"))
    hashed = pseudonym("Ann@Example.com", HASH_KEY)
    assert messages(summary) == [
        f'orders.csv row 1: column "Email" value "{hashed}" is not a known '
        "customers.customer_id (load customers first, or in the same batch)"
    ]


def test_negative_quantities_are_only_allowed_as_returns(
    settings: Settings, tmp_path: Path
) -> None:
    load(
        settings, write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,05/12/2010,Paid,10.00\n")
    )
    lines = write(
        tmp_path / "lines.csv", "Order,Line,Sku,Qty,Price\n1001,1,A,2,5.00\n1001,2,A,-1,5.00\n"
    )
    products = write(tmp_path / "products.csv", "Sku,Name,Price\nA,Serum,5.00\n")
    catalog = parse_mapping(
        {
            "currency": "GBP",
            "tables": {
                "products": {
                    "columns": {
                        "product_id": "Sku",
                        "sku": "Sku",
                        "name": "Name",
                        "category": {"value": "skincare"},
                        "subcategory": {"value": "serum"},
                        "brand": {"value": "Own"},
                        "list_price": "Price",
                    }
                }
            },
        }
    )
    load(settings, products, catalog)
    line_mapping = parse_mapping(
        {
            "tables": {
                "order_lines": {
                    "columns": {
                        "order_id": "Order",
                        "line_number": "Line",
                        "product_id": "Sku",
                        "quantity": "Qty",
                        "unit_price": "Price",
                        "discount_amount": {"value": 0},
                        "net_amount": "Price",
                    }
                }
            }
        }
    )
    summary = load(settings, lines, line_mapping)
    assert messages(summary) == [
        'lines.csv row 2: column "Qty" value "-1" is not a positive quantity (negative '
        "quantities are only allowed as returns: map them to the returns table)"
    ]


def test_a_misnamed_column_fails_before_loading_anything(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n")
    document = yaml.safe_load(SHOP)
    document["tables"]["orders"]["columns"]["placed_at"] = "InvoceDate"
    with pytest.raises(DataError) as error:
        load(settings, path, parse_mapping(document, origin="shop.yaml"))
    assert str(error.value) == (
        'orders.csv: column "InvoceDate" (shop.yaml: tables.orders.columns.placed_at) is not in '
        'the file; closest match "InvoiceDate" (fix the column name in the mapping)'
    )
    assert not settings.warehouse.exists() or value(settings, "SELECT count(*) FROM orders") == 0


def test_too_many_bad_rows_reject_the_whole_load(settings: Settings, tmp_path: Path) -> None:
    path = write(
        tmp_path / "orders.csv",
        HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n1002,C2,Online,99/12/2010,Paid,5.00\n",
    )
    summary = ingest_files(settings, shop(), [path], options())  # default limit 5%
    assert summary.status == "rejected"
    assert summary.error_rate == 0.5
    assert summary.too_many_errors
    # nothing loaded, but the attempt and its problems are on record
    assert value(settings, "SELECT count(*) FROM orders") == 0
    assert rows(settings, "SELECT status, rows_read, rows_quarantined FROM load_log") == [
        ("rejected", 2, 1)
    ]
    assert rows(settings, "SELECT DISTINCT row_number FROM quarantine") == [(2,)]


def test_dry_run_validates_and_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,31/13/2010,Paid,10.00\n")
    summary = ingest_files(settings, shop(), [path], options(dry_run=True))
    assert summary.status == "dry_run"
    assert len(summary.problems) == 1
    assert not settings.warehouse.exists()
    load(settings, write(tmp_path / "ok.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,1.00\n"))
    ingest_files(settings, shop(), [path], options(dry_run=True))
    assert rows(settings, "SELECT count(*), count(DISTINCT batch_id) FROM load_log") == [(1, 1)]
    assert value(settings, "SELECT count(*) FROM quarantine") == 0


def test_dry_run_of_a_parquet_file_on_an_existing_warehouse(
    settings: Settings, tmp_path: Path
) -> None:
    # a dry run opens the warehouse read-only; the Parquet file is still read where it lies
    load(settings, write(tmp_path / "ok.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,1.00\n"))
    path = tmp_path / "orders.parquet"
    columns = HEADER.strip().split(",")
    bad = ["1002", "C2", "Online", "31/13/2010", "Paid", "2.00"]
    pq.write_table(pa.table({c: [v] for c, v in zip(columns, bad, strict=True)}), path)
    summary = ingest_files(settings, shop(), [path], options(dry_run=True))
    assert (summary.status, summary.rows_read) == ("dry_run", 1)
    assert messages(summary) == [
        'orders.parquet row 1: column "InvoiceDate" value "31/13/2010" is not a date in format '
        "%d/%m/%Y (set dates.format in the mapping)"
    ]
    assert value(settings, "SELECT count(*) FROM orders") == 1


def test_a_file_with_only_a_header_loads_nothing(settings: Settings, tmp_path: Path) -> None:
    summary = load(settings, write(tmp_path / "orders.csv", HEADER))
    assert (summary.status, summary.rows_read, summary.rows_quarantined) == ("loaded", 0, 0)
    assert value(settings, "SELECT count(*) FROM orders") == 0


def test_placeholder_dates_of_years_1_and_9999_are_unknown(
    settings: Settings, tmp_path: Path
) -> None:
    """ERP exports write 9999-12-31 for "no end" and 0001-01-01 for "no date": an optional
    time becomes unknown (NULL), a required one is quarantined with that reason; neither
    reaches the warehouse, where no engine could date it."""
    mapping = parse_mapping(
        {
            "dates": {"format": "%Y-%m-%d", "time_zone": "Europe/London"},
            "tables": {
                "customers": {
                    "columns": {
                        "customer_id": "id",
                        "created_at": "joined",
                        "member_since": "member_since",
                        "acquisition_channel": {"value": "web"},
                        "gender": {"value": "unknown"},
                        "is_member": {"value": True},
                        "is_business": {"value": False},
                    }
                }
            },
        },
        origin="erp.yaml",
    )
    path = write(
        tmp_path / "customers.csv",
        "id,joined,member_since\n"
        "C1,2020-05-01,9999-12-31\n"
        "C2,0001-01-01,2021-01-01\n"
        "C3,2020-06-01,2020-06-02\n"
        "C4,2020-07-01,2020-13-01\n",
    )
    summary = load(settings, path, mapping)
    assert rows(
        settings,
        "SELECT customer_id, CAST(member_since AS DATE) FROM customers ORDER BY 1",
    ) == [("C1", None), ("C3", date(2020, 6, 2))]
    assert messages(summary) == [
        'customers.csv row 2: column "joined" value "0001-01-01" stands for no date (year 1 '
        "or 9999), but customers.created_at is required",
        'customers.csv row 4: column "member_since" value "2020-13-01" is not a date in '
        "format %Y-%m-%d (set dates.format in the mapping)",
    ]
