"""Loads are idempotent, upsert changed rows, and are atomic even when killed mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

from omnikpi.ingest import ingest_files, ingest_preset
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import FIXTURES, options, rows, value, write
from tests.ingest.test_validate import HEADER, shop

ONLINE_RETAIL = FIXTURES / "online_retail" / "online_retail_II.csv"
TABLES = ("products", "customers", "orders", "order_lines", "returns")


def snapshot(settings: Settings) -> dict[str, Any]:
    """Row counts and money sums of the canonical tables, plus every order's status."""
    return {
        "counts": {t: value(settings, f"SELECT count(*) FROM {t}") for t in TABLES},
        "revenue": value(settings, "SELECT sum(net_amount) FROM orders"),
        "lines": value(settings, "SELECT sum(net_amount) FROM order_lines"),
        "refunds": value(settings, "SELECT sum(refund_amount) FROM returns"),
        "statuses": rows(settings, "SELECT order_id, status FROM orders ORDER BY order_id"),
        "quarantine": value(settings, "SELECT count(*) FROM quarantine"),
    }


def test_loading_the_same_file_twice_changes_nothing(settings: Settings) -> None:
    first = ingest_preset(settings, "online-retail", [ONLINE_RETAIL], options(max_error_rate=0.5))
    before = snapshot(settings)
    second = ingest_preset(settings, "online-retail", [ONLINE_RETAIL], options(max_error_rate=0.5))
    assert snapshot(settings) == before
    assert {t.inserted for t in second.tables.values()} == {0}
    assert {t.updated for t in second.tables.values()} == {0}
    assert {name: t.unchanged for name, t in second.tables.items()} == {
        name: t.inserted for name, t in first.tables.items()
    }
    assert first.checksum == second.checksum
    assert rows(
        settings, "SELECT rows_inserted, rows_updated FROM load_log ORDER BY started_at"
    ) == [
        (sum(t.inserted for t in first.tables.values()), 0),
        (0, 0),
    ]


def test_changed_records_are_upserted_by_key(settings: Settings, tmp_path: Path) -> None:
    v1 = write(
        tmp_path / "orders.csv",
        HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n1002,C2,Online,03/12/2010,Paid,5.00\n",
    )
    ingest_files(settings, shop(), [v1], options())
    v2 = write(
        tmp_path / "orders.csv",
        HEADER
        + "1001,C1,Online,01/12/2010,Cancelled,10.00\n"  # status changed
        + "1002,C2,Online,03/12/2010,Paid,5.00\n"  # unchanged
        + "1003,C3,Shop,05/12/2010,Paid,8.00\n",  # new
    )
    summary = ingest_files(settings, shop(), [v2], options())
    orders = summary.tables["orders"]
    assert (orders.inserted, orders.updated, orders.unchanged) == (1, 1, 1)
    assert rows(settings, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        ("1001", "cancelled"),
        ("1002", "paid"),
        ("1003", "paid"),
    ]
    # the earliest local day touched, in the warehouse's zone (London: the mapping's zone,
    # stored by the first load): 1001, placed 2010-12-01 00:00
    assert summary.changed == {"customers": date(2010, 12, 5), "orders": date(2010, 12, 1)}


def test_a_committed_load_records_the_tables_it_changed(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n")
    ingest_files(settings, shop(), [path], options())
    ingest_files(settings, shop(), [path], options(dry_run=True))
    ingest_files(settings, shop(), [path], options())  # the same rows again: no change
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        assert warehouse.changed_tables() == {
            "customers": date(2010, 12, 1),
            "orders": date(2010, 12, 1),
        }
        batches = warehouse.fetch_rows("SELECT DISTINCT batch_id FROM table_changes")
    assert len(batches) == 1


def test_reloading_a_fixed_file_clears_its_quarantine(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,31/13/2010,Paid,10.00\n")
    ingest_files(settings, shop(), [path], options(max_error_rate=1.0))
    assert value(settings, "SELECT count(*) FROM quarantine") == 2  # customers and orders
    write(path, HEADER + "1001,C1,Online,31/12/2010,Paid,10.00\n")
    ingest_files(settings, shop(), [path], options())
    assert value(settings, "SELECT count(*) FROM quarantine") == 0
    assert value(settings, "SELECT count(*) FROM orders") == 1


_KILLED_LOAD = """
import sys, time
from pathlib import Path
import omnikpi.ingest.pipeline as pipeline
from omnikpi.ingest import ingest_preset
from omnikpi.settings import Settings
from tests.ingest.conftest import options

real_upsert = pipeline.upsert

def upsert_then_hang(con, table, good, **kw):
    loaded = real_upsert(con, table, good, **kw)
    if table.name == "orders":  # inside the transaction, after writing products..orders
        print("paused", flush=True)
        time.sleep(3600)
    return loaded

pipeline.upsert = upsert_then_hang
ingest_preset(Settings(warehouse=Path(sys.argv[1])), "online-retail", [Path(sys.argv[2])],
              options(max_error_rate=0.5))
"""


def test_a_load_killed_mid_transaction_leaves_the_warehouse_as_it_was(
    settings: Settings, tmp_path: Path
) -> None:
    ingest_preset(
        settings,
        "online-retail",
        [FIXTURES / "online_retail" / "data.csv"],
        options(max_error_rate=0.5),
    )
    before = snapshot(settings)
    logged = value(settings, "SELECT count(*) FROM load_log")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_KILLED_LOAD),
            str(settings.warehouse),
            str(ONLINE_RETAIL),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "paused"  # orders were written, not committed
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert snapshot(settings) == before
    assert value(settings, "SELECT count(*) FROM load_log") == logged
    # and the warehouse is usable: the same load now completes
    ingest_preset(settings, "online-retail", [ONLINE_RETAIL], options(max_error_rate=0.5))
    assert value(settings, "SELECT count(*) FROM orders") == before["counts"]["orders"] + 9


def test_a_warehouse_made_when_list_prices_were_required_takes_unknown_ones(
    settings: Settings, tmp_path: Path
) -> None:
    """A product listed but never sold has no price. A warehouse created while
    products.list_price was required (NOT NULL) is relaxed by the load, not refused."""
    with Warehouse.create(settings.warehouse) as warehouse:
        warehouse.run_sql("ALTER TABLE products ALTER COLUMN list_price SET NOT NULL")
    folder = tmp_path / "olist"
    folder.mkdir()
    for path in (FIXTURES / "olist").iterdir():
        write(folder / path.name, path.read_text(encoding="utf-8"))
    products = folder / "olist_products_dataset.csv"
    never_sold = "ffffffffffffffffffffffffffffffff,perfumaria,10,100,1,100,10,10,10\n"
    write(products, products.read_text(encoding="utf-8") + never_sold)
    ingest_preset(settings, "olist", [folder], options(max_error_rate=0.5))
    assert rows(
        settings,
        "SELECT list_price FROM products WHERE product_id = 'ffffffffffffffffffffffffffffffff'",
    ) == [(None,)]


def test_a_warehouse_made_before_stores_had_translated_names_gains_them_on_load(
    settings: Settings, tmp_path: Path
) -> None:
    """A column the model gained later (stores.name_ko, optional) is added to an older
    warehouse by the next load, which then fills the table as usual."""
    with Warehouse.create(settings.warehouse) as warehouse:
        warehouse.run_sql("ALTER TABLE stores DROP COLUMN name_ko")
        warehouse.run_sql("ALTER TABLE stores DROP COLUMN name_en")
    ingest_preset(settings, "online-retail", [ONLINE_RETAIL], options(max_error_rate=0.5))
    columns = {name for (name,) in rows(settings, "SELECT column_name FROM "
                                                  "information_schema.columns WHERE "
                                                  "table_name = 'stores'")}  # fmt: skip
    assert {"name_ko", "name_en"} <= columns
    assert value(settings, "SELECT count(*) FROM orders") > 0
