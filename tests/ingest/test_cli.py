"""`omnikpi ingest` as a user runs it: summaries, exit codes, status, --infer."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.ingest.conftest import FIXTURES, write
from tests.ingest.test_validate import HEADER, SHOP


@pytest.fixture
def shop_files(tmp_path: Path) -> tuple[Path, Path]:
    mapping = write(tmp_path / "shop.yaml", SHOP)
    orders = write(
        tmp_path / "orders.csv",
        HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n1002,C2,Online,31/13/2010,Paid,5.00\n",
    )
    return mapping, orders


def test_load_prints_a_summary_and_the_first_problems(
    shop_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, orders = shop_files
    warehouse = str(tmp_path / "w.duckdb")
    code = run_cli(
        "ingest", "--mapping", str(mapping), str(orders), "-w", warehouse, "--max-error-rate", "60%"
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Loaded shop: orders.csv" in out
    assert "2 rows read, 1 quarantined (50.00%; limit 60.0%)" in out
    assert 'orders.csv row 2: column "InvoiceDate" value "31/13/2010" is not a date' in out
    # per table: 2 source rows, 1 inserted, 1 quarantined; then one line per reason
    assert re.search(r"│ orders +│ 2 +│ 1 +│ 0 +│ 0 +│ 0 +│ 1 +│ 0 +│", out), out
    assert re.search(r'│ orders +│ 1 +│ quarantined │ "InvoiceDate" is not a date in', out), out
    assert (
        "Stored the data settings of this source in the empty warehouse: time-zone "
        "Europe/London, currency GBP"
    ) in out


def test_too_many_errors_exit_non_zero_with_one_line(
    shop_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, orders = shop_files
    code = run_cli(
        "ingest", str(orders), "--mapping", str(mapping), "-w", str(tmp_path / "w.duckdb")
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "Rejected shop: orders.csv" in captured.out
    assert captured.err.strip() == (
        "Error: 50.0% of rows failed validation, above --max-error-rate 5.0%; nothing was "
        "loaded (fix the rows listed above, see `omnikpi ingest status`, or raise "
        "--max-error-rate)"
    )


def test_status_lists_loads_and_quarantine(
    shop_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, orders = shop_files
    warehouse = str(tmp_path / "w.duckdb")
    run_cli(
        "ingest", "--mapping", str(mapping), str(orders), "-w", warehouse, "--max-error-rate", "0.6"
    )
    capsys.readouterr()
    assert run_cli("ingest", "status", "-w", warehouse, "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    (load,) = document["loads"]
    assert (load["status"], load["rows_read"], load["rows_quarantined"]) == ("loaded", 2, 1)
    orders = load["tables"]["orders"]  # 1002 has the date 31/13/2010
    assert (orders["source_rows"], orders["inserted"], orders["quarantined"]) == (2, 1, 1)
    assert orders["reasons"] == [
        {
            "outcome": "quarantined",
            "column": "InvoiceDate",
            "reason": "is not a date in format %d/%m/%Y (set dates.format in the mapping)",
            "rows": 1,
        }
    ]
    assert {(q["table_name"], q["column_name"], q["rows"]) for q in document["quarantine"]} == {
        ("customers", "InvoiceDate", 1),
        ("orders", "InvoiceDate", 1),
    }
    assert run_cli("ingest", "status", "-w", warehouse) == 0
    assert "Quarantine" in capsys.readouterr().out


def test_dry_run_and_preset_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "w.duckdb"
    assert (
        run_cli(
            "ingest",
            "--preset",
            "olist",
            str(FIXTURES / "olist"),
            "-w",
            str(warehouse),
            "--dry-run",
            "--max-error-rate",
            "10%",
        )
        == 0
    )
    assert "Dry run (nothing written) of olist" in capsys.readouterr().out
    assert not warehouse.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "x.csv"], "say how to read the files: --mapping MAP.yaml or --preset NAME"),
        (
            ["ingest", "--preset", "olst", "x"],
            'no preset "olst" (choose one of: cdnow, ga4, olist, online-retail, shopify)',
        ),
        (
            ["ingest", "--preset", "olist", "x", "--max-error-rate", "lots"],
            '--max-error-rate "lots" is not a share (use e.g. 5% or 0.05)',
        ),
        (
            ["ingest", "--postgres", "postgresql://x/y", "--table", "t"],
            "--postgres needs --mapping",
        ),
        (["ingest", "--infer", "a.csv", "b.csv"], "--infer reads exactly one file"),
    ],
)
def test_bad_invocations_give_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ")
    assert message in err
    assert "\n" not in err


def test_infer_writes_a_mapping_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    products = write(
        tmp_path / "products.csv",
        "product_id,sku,name,category,subcategory,brand,list_price,currency\n"
        "P1,SKU-1,Serum,skincare,serum,Glow Lab,25.00,EUR\n",
    )
    proposal = tmp_path / "products.yaml"
    assert run_cli("ingest", "--infer", str(products), "--out", str(proposal)) == 0
    assert "check every line marked TODO" in capsys.readouterr().out
    warehouse = str(tmp_path / "w.duckdb")
    assert run_cli("ingest", "--mapping", str(proposal), str(products), "-w", warehouse) == 0
    out = capsys.readouterr().out
    assert re.search(r"│ products +│ 1 +│ 1 +│ 0 +│", out), out  # 1 source row, inserted
    assert "1 row read, 0 quarantined" in out


def test_a_bad_format_is_one_line_naming_the_mapping_line_before_any_file_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = write(tmp_path / "shop.yaml", SHOP.replace("%d/%m/%Y", "%d/%m/%Y %Q"))
    code = run_cli("ingest", "--mapping", str(mapping), str(tmp_path / "not-there.csv"))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        'Error: shop.yaml line 4: dates.format: "%d/%m/%Y %Q" is not a format DuckDB can '
        'read: "%Q" is no strptime code (strptime codes: %Y year, %m month, %d day, %H hour, '
        "%M minute, %S second, %z UTC offset, …)"
    )


def test_empty_files_and_files_with_a_header_alone(
    shop_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty file (no byte but white space) has nothing to load and no header to check
    the mapping against: exit 2 with one line, before the warehouse is made. A header
    alone is an export with no rows: it loads nothing, and says so."""
    mapping, _ = shop_files
    warehouse = tmp_path / "w.duckdb"
    blank = write(tmp_path / "blank.csv", "\ufeff\r\n\r\n")
    assert run_cli("ingest", "--mapping", str(mapping), str(blank), "-w", str(warehouse)) == 2
    assert capsys.readouterr().err.strip() == (
        "Error: blank.csv holds nothing but white space: there is nothing to load, not even a "
        "header (export it again, or leave it out of the load)"
    )
    assert not warehouse.exists()
    header = write(tmp_path / "header.csv", HEADER)
    assert run_cli("ingest", "--mapping", str(mapping), str(header), "-w", str(warehouse)) == 0
    out = capsys.readouterr().out
    assert "Note: header.csv: no rows, only a header (nothing to load from it)" in out
    assert "0 rows read, 0 quarantined" in out


def test_a_50_mb_field_is_quarantined_with_its_row_and_the_other_rows_load(
    shop_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, _ = shop_files
    orders = tmp_path / "orders.csv"
    with orders.open("w") as out:
        out.write(HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n")
        out.write("1002,C1," + "x" * 50_000_000 + ",01/12/2010,Paid,5.00\n")
        out.write("1003,C2,Online,31/13/2010,Paid,5.00\n1004,C3,Online,02/12/2010,Paid,7.00\n")
    warehouse = str(tmp_path / "w.duckdb")
    code = run_cli(
        "ingest", "--mapping", str(mapping), str(orders), "-w", warehouse, "--max-error-rate", "50%"
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4 rows read, 2 quarantined (50.00%; limit 50.0%)" in captured.out
    assert 'orders.csv row 2: row "1002,C1,xxxxxxxxx' in captured.out
    assert "is longer than 2,000,000 bytes, the longest row a file may hold" in captured.out
    assert 'orders.csv row 3: column "InvoiceDate" value "31/13/2010" is not a date' in captured.out
    assert len(captured.out) < 10_000  # the field is not printed


def test_a_load_whose_rollup_refresh_fails_says_so_and_exits_3(
    shop_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The data stays loaded; the exit message names what was not refreshed, that the KPIs
    are computed directly meanwhile and how to finish; data status shows it until then."""
    from omnikpi.kpi import rollups
    from omnikpi.services.data_status import warehouse_status
    from omnikpi.settings import Settings

    mapping, orders = shop_files
    warehouse = tmp_path / "w.duckdb"
    load = ("ingest", "--mapping", str(mapping), str(orders), "-w", str(warehouse))
    assert run_cli(*load, "--max-error-rate", "60%") == 0
    assert run_cli("kpi", "refresh", "-w", str(warehouse)) == 0
    capsys.readouterr()
    more = write(tmp_path / "more.csv", HEADER + "1003,C3,Online,02/12/2010,Paid,7.00\n")

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("year 0 is out of range")

    monkeypatch.setattr(rollups, "_build", broken)
    code = run_cli("ingest", "--mapping", str(mapping), str(more), "-w", str(warehouse))
    captured = capsys.readouterr()
    assert code == 3
    assert "Loaded shop: more.csv" in captured.out
    error = " ".join(captured.err.split())
    assert "rollups of customers, orders could not be refreshed (year 0 is out of range)" in error
    assert "`omnikpi kpi refresh` succeeds" in error
    status = warehouse_status(Settings(warehouse=warehouse), date(2026, 1, 1))
    assert status.pending_refresh == ("customers", "orders")
    assert status.refresh_failure is not None
    assert status.refresh_failure[1:] == ("customers, orders", "year 0 is out of range")
    monkeypatch.undo()
    assert run_cli("kpi", "refresh", "-w", str(warehouse)) == 0
    status = warehouse_status(Settings(warehouse=warehouse), date(2026, 1, 1))
    assert (status.pending_refresh, status.refresh_failure) == ((), None)
