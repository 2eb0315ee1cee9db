"""The omnikpi command as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from omnikpi import __version__
from omnikpi.model import table_names
from tests.conftest import run_cli


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("--version") == 0
    assert capsys.readouterr().out.strip() == f"omnikpi {__version__}"


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli() == 0
    assert "Usage: omnikpi" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--customers", "0", "--no-serve"], "Invalid value for '--customers'"),
        (["demo", "--days", "5", "--no-serve"], "Invalid value for '--days'"),
        (["demo", "--end", "2025-02-30", "--no-serve"], '--end "2025-02-30" is not valid'),
        (["simulate", "--out", "x", "--format", "xml"], "'xml' is not one of 'parquet', 'csv'"),
        (["warehouse", "info", "--format", "yaml"], "'yaml' is not one of 'table', 'json'"),
        (["serve", "--port", "0"], "Invalid value for '--port'"),
        (["demo", "--bogus"], "No such option: --bogus"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ")
    assert message in err
    assert "\n" not in err
    assert "Traceback" not in err


def test_missing_warehouse_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("warehouse", "info", "--warehouse", str(tmp_path / "none.duckdb")) == 2
    assert "no warehouse at" in capsys.readouterr().err


def test_warehouse_info_lists_tables_and_counts(
    sim_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("warehouse", "info", "--warehouse", str(sim_path), "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    counts = {row["table"]: row["rows"] for row in document["tables"]}
    assert set(table_names()) <= set(counts)
    assert counts["customers"] == 12_000
    assert run_cli("warehouse", "info", "--warehouse", str(sim_path)) == 0
    assert "order_lines" in capsys.readouterr().out


def test_warehouse_from_environment(
    sim_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMNIKPI_WAREHOUSE", str(sim_path))
    assert run_cli("warehouse", "info", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["warehouse"] == str(sim_path)


def test_demo_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shop.duckdb"
    small = ["--customers", "150", "--days", "40", "--end", "2025-06-30", "--no-serve"]
    assert run_cli("demo", *small, "--warehouse", str(path)) == 0
    first = path.stat().st_mtime_ns
    assert run_cli("demo", *small, "--seed", "99", "--warehouse", str(path)) == 0
    assert "Using the existing warehouse" in capsys.readouterr().out
    assert path.stat().st_mtime_ns == first
    assert run_cli("demo", *small, "--seed", "99", "--force", "--warehouse", str(path)) == 0
    assert path.stat().st_mtime_ns != first
    assert not list(tmp_path.glob(".*building"))


def test_simulate_writes_parquet_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--customers", "120", "--days", "35", "--end", "2025-06-30", "--seed", "3"]
    parquet_dir, csv_dir = tmp_path / "pq", tmp_path / "csv"
    assert run_cli("simulate", "--out", str(parquet_dir), *small) == 0
    assert run_cli("simulate", "--out", str(csv_dir), "--format", "csv", *small) == 0
    orders_pq = pq.read_table(parquet_dir / "orders")
    orders_csv = pa_csv.read_csv(csv_dir / "orders.csv")
    assert orders_pq.num_rows == orders_csv.num_rows > 0
    assert str(orders_pq.schema.field("net_amount").type) == "decimal128(18, 2)"
    assert {p.name for p in parquet_dir.iterdir()} == set(table_names())
    # Writing into a folder with files needs --force.
    assert run_cli("simulate", "--out", str(csv_dir), *small) == 2
    assert "is not empty" in capsys.readouterr().err
