"""A preset names the files it needs and those it can do without: a missing optional file
is a warning naming it and the KPIs left without data, never a refusal.

Olist needs its orders, order items and customers. Without payments, reviews and sellers
the fixture's 8 orders still load: payments and reviews get no rows (the review KPIs
show no data), orders get no payment method, and sellers are read by nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnikpi.errors import ConfigError
from omnikpi.ingest import MissingSource
from omnikpi.services.ingest import ingest_preset
from omnikpi.settings import Settings
from tests.conftest import run_cli
from tests.ingest.conftest import FIXTURES, options, rows, value, write

OLIST = FIXTURES / "olist"


def olist_without(tmp_path: Path, *left_out: str) -> Path:
    """A copy of the Olist fixture folder without the files starting with `left_out`."""
    folder = tmp_path / "olist"
    folder.mkdir()
    for path in OLIST.iterdir():
        if not path.name.startswith(left_out):
            write(folder / path.name, path.read_text(encoding="utf-8"))
    return folder


def test_olist_without_payments_reviews_and_sellers_loads_and_warns(
    settings: Settings, tmp_path: Path
) -> None:
    folder = olist_without(tmp_path, "olist_order_payments", "olist_order_reviews", "olist_sellers")
    result = ingest_preset(settings, "olist", [folder], options(max_error_rate=0.5))
    summary = result.summary
    assert summary.status == "loaded"
    assert summary.missing == (
        MissingSource(
            "payments",
            ("olist_order_payments_dataset*.csv",),
            ("payments",),
            "orders have no payment method",
        ),
        MissingSource("reviews", ("olist_order_reviews_dataset*.csv",), ("reviews",)),
    )
    assert result.kpis_without_data == {
        "payments": (),  # no KPI counts payments
        "reviews": ("review_count", "review_rating"),
    }
    assert value(settings, "SELECT count(*) FROM orders") == 8
    assert value(settings, "SELECT count(*) FROM orders WHERE payment_method IS NOT NULL") == 0
    assert value(settings, "SELECT count(*) FROM reviews") == 0


def test_olist_without_products_takes_the_products_sold(settings: Settings, tmp_path: Path) -> None:
    """The items name 5 products; without the products file (and its translation) their
    category is unknown, and nothing is quarantined for it."""
    folder = olist_without(tmp_path, "olist_products", "product_category_name_translation")
    result = ingest_preset(settings, "olist", [folder], options(max_error_rate=0.5))
    assert rows(settings, "SELECT category, count(*) FROM products GROUP BY 1") == [("unknown", 5)]
    assert [m.message() for m in result.summary.missing] == [
        "no olist_products_dataset*.csv among the files: products have no category (only "
        "those sold are known, from the order items)",
        "no product_category_name_translation*.csv among the files: product categories keep "
        "their Portuguese names",
    ]
    assert value(settings, "SELECT count(*) FROM order_lines") == 8


def test_a_required_file_is_still_required(settings: Settings, tmp_path: Path) -> None:
    folder = olist_without(tmp_path, "olist_order_items")
    with pytest.raises(ConfigError, match="no file for source items"):
        ingest_preset(settings, "olist", [folder], options())


def test_the_command_prints_the_warning_with_the_kpis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = olist_without(tmp_path, "olist_order_reviews")
    warehouse = str(tmp_path / "w.duckdb")
    assert run_cli("ingest", "--preset", "olist", str(folder), "-w", warehouse) == 0
    out = capsys.readouterr().out
    assert (
        "Warning: no olist_order_reviews_dataset*.csv among the files: reviews got no rows; "
        "KPIs without data: review_count, review_rating"
    ) in " ".join(out.split())
