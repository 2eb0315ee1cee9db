"""The CDNOW files (../shared/data/cdnow) load completely, in both layouts."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from omnikpi.ingest import ingest_preset
from omnikpi.settings import Settings
from tests.ingest.conftest import options, rows, value
from tests.prerequisites import require_cdnow

#: The workplace's shared data beside the checkout (../shared), or where OMNIKPI_SHARED_DATA
#: or the workplace's own folder puts it when the checkout lives elsewhere (a CI clone).
_CANDIDATES = [
    Path(__file__).parents[4] / "shared" / "data",
    *([Path(os.environ["OMNIKPI_SHARED_DATA"])] if os.environ.get("OMNIKPI_SHARED_DATA") else []),
    Path("/work/shared/data"),
]
DATA = next((c / "cdnow" for c in _CANDIDATES if (c / "cdnow").is_dir()), _CANDIDATES[0] / "cdnow")
MASTER = DATA / "CDNOW_master.txt"
SAMPLE = DATA / "CDNOW_sample.txt"


@pytest.fixture(autouse=True)
def _cdnow_files() -> None:
    require_cdnow(DATA)


def totals(path: Path, header: bool) -> tuple[int, int, Decimal, int]:
    """Customers, purchase rows, dollars and CDs, counted with plain Python."""
    lines = [line.split() for line in path.read_text().splitlines()[1 if header else 0 :]]
    lines = [fields for fields in lines if fields]
    return (
        len({fields[0] for fields in lines}),
        len(lines),
        sum((Decimal(fields[-1]) for fields in lines), Decimal(0)),
        sum(int(fields[-2]) for fields in lines),
    )


def test_master_file_loads_every_purchase(settings: Settings) -> None:
    summary = ingest_preset(settings, "cdnow", [MASTER], options())
    assert summary.rows_quarantined == 0
    customers, purchases, dollars, cds = totals(MASTER, header=True)
    assert (customers, purchases) == (23_570, 69_659)  # the published cohort size
    assert value(settings, "SELECT count(*) FROM customers") == customers
    assert value(settings, "SELECT count(*) FROM orders") == purchases
    assert value(settings, "SELECT sum(net_amount) FROM orders") == dollars == Decimal("2500315.63")
    assert value(settings, "SELECT sum(quantity) FROM order_lines") == cds
    # 80 purchases of $0.00 (`awk 'NR > 1 && $4 == 0'`): transactions in Fader, Hardie and
    # Lee's counts, not adjustments (the files say nothing else of them), so orders
    zero = sum(1 for line in MASTER.read_text().splitlines()[1:] if line.split()[-1] == "0.00")
    assert zero == 80
    assert value(settings, "SELECT count(*) FROM orders WHERE net_amount = 0") == zero
    # line amounts add up to the order amounts; rounding up the CD price is the discount
    assert (
        value(
            settings,
            "SELECT count(*) FROM orders o JOIN order_lines l USING (order_id) "
            "WHERE l.net_amount <> o.net_amount "
            "OR l.quantity * l.unit_price - l.discount_amount <> l.net_amount",
        )
        == 0
    )


def test_purchases_are_dated_and_numbered_per_customer_and_day(settings: Settings) -> None:
    ingest_preset(settings, "cdnow", [MASTER], options())
    # customer 00002 bought twice on 1997-01-12: 1 CD for $12.00, then 5 CDs for $77.00
    assert rows(
        settings,
        "SELECT order_id, CAST(placed_at AS DATE), l.quantity, l.unit_price, o.net_amount "
        "FROM orders o JOIN order_lines l USING (order_id) WHERE o.customer_id = '00002' "
        "ORDER BY order_id",
    ) == [
        ("00002-19970112-1", date(1997, 1, 12), 1, Decimal("12.00"), Decimal("12.00")),
        ("00002-19970112-2", date(1997, 1, 12), 5, Decimal("15.40"), Decimal("77.00")),
    ]
    # 2 CDs for $29.33: $14.67 each rounded up, so a $0.01 line discount
    assert rows(
        settings,
        "SELECT unit_price, discount_amount, net_amount FROM order_lines "
        "WHERE order_id = '00004-19970101-1'",
    ) == [(Decimal("14.67"), Decimal("0.01"), Decimal("29.33"))]
    # midnight in New York is 05:00 UTC
    assert (
        value(
            settings,
            "SELECT strftime(timezone('UTC', min(placed_at)), '%Y-%m-%d %H:%M') FROM orders",
        )
        == "1997-01-01 05:00"
    )


def test_sample_file_uses_the_master_ids(settings: Settings) -> None:
    sample = ingest_preset(settings, "cdnow", [SAMPLE], options())
    customers, purchases, dollars, _ = totals(SAMPLE, header=False)
    assert (customers, purchases) == (2_357, 6_919)  # Fader, Hardie & Lee (2005)
    assert sample.tables["orders"].inserted == purchases
    assert value(settings, "SELECT sum(net_amount) FROM orders") == dollars
    # the sample's customers and purchases are the master's: loading it changes no order
    master = ingest_preset(settings, "cdnow", [MASTER], options())
    assert master.tables["orders"].inserted == 69_659 - purchases
    assert master.tables["orders"].updated == 0
    assert master.tables["customers"].updated == 0


def test_mixed_line_endings(settings: Settings, tmp_path: Path) -> None:
    """CRLF lines followed by a last LF-only line (a file edited on two systems) load."""
    path = tmp_path / "CDNOW_sample.txt"
    path.write_bytes(
        b" 00001 0001 19970101  1   11.77\r\n 00002 0002 19970112  1   12.00\r\n"
        b" 00003 0003 19970102  2   20.76\n"
    )
    summary = ingest_preset(settings, "cdnow", [path], options())
    assert summary.rows_quarantined == 0
    assert value(settings, "SELECT sum(net_amount) FROM orders") == Decimal("44.53")
