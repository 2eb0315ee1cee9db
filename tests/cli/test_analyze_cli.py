"""`omnikpi analyze catchment` on six hand-placed customers (tests/audiences/
catchment_data.py): the answer as JSON and as tables, and bad options in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audiences.catchment_data import build_catchment_retailer
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_catchment_retailer(tmp_path_factory.mktemp("catchment-cli") / "c.duckdb")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_cli("analyze", "catchment", *args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_catchment_as_json(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        *("--lat", "37.5663", "--lon", "126.9779", "--drive-minutes", "10"),
        *("--format", "json", "--warehouse", str(warehouse)),
    )
    assert code == 0
    document = json.loads(out)
    # 10 minutes at 30 km/h: 5 km around City Hall hold H1 and H3.
    assert (document["radius_km"], document["speed_kmh"]) == (5.0, 30.0)
    assert document["window_start"] == "2024-07-01"
    assert document["summary"]["catchment"]["customers"] == 2
    assert document["summary"]["catchment"]["average_order_value"] == pytest.approx(80_000 / 3)
    assert document["summary"]["all"]["orders_per_buyer"] == 1.2
    web = next(row for row in document["channels"] if row["value"] == "web")
    assert (web["catchment_revenue_share"], web["all_order_share"]) == (0.625, 0.5)
    assert document["customers_without_location"] == 1
    assert document["min_cell_customers"] is None  # the warehouse owner sees every cell


def test_catchment_as_tables(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--store", "S1", "--radius-km", "9", "--warehouse", str(warehouse))
    assert code == 0
    assert "store S1 (Store S1) at 37.4979, 127.0276" in out
    assert "radius: 9 km" in out
    # 9 km around Gangnam Station: H2 (0 km), H1 (8.778), H3 (8.264).
    summary = next(line for line in out.splitlines() if line.startswith("│ customers "))
    assert [cell.strip() for cell in summary.split("│")[1:4]] == ["customers", "3", "6"]
    for title in ("Channel mix", "Categories", "Lifecycle segments", "nearest current store"):
        assert title in out
    assert "62.5%" not in out  # that is 5 km around City Hall, not this
    assert "customers without a home location (in no catchment): 1" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--store", "S9", "--radius-km", "5"), 'store "S9" does not exist (closest valid'),
        (("--lat", "95", "--lon", "127", "--radius-km", "5"), 'latitude "95.0" is not valid'),
        (("--lat", "37.5", "--lon", "127", "--radius-km", "600"), "at most 500 km"),
        (("--lat", "37.5", "--radius-km", "5"), "give a location"),
        (("--lat", "37.5", "--lon", "127"), "give a radius"),
    ],
)
def test_bad_options_say_what_to_fix(
    warehouse: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *args, "--warehouse", str(warehouse))
    assert code == 2
    assert message in err
    assert out == ""
    assert len(err.strip().splitlines()) == 1
