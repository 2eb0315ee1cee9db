"""`omnikpi warehouse info` and `omnikpi warehouse set`: the settings that describe the data,
kept in the warehouse, overridden per process by the environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from omnikpi.errors import ConfigError
from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli


@pytest.fixture
def shop(golden_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "golden.duckdb"
    shutil.copy(golden_path, copy)
    return copy


@pytest.fixture
def rolled_shop(golden_rolled_path: Path, tmp_path: Path) -> Path:
    """A copy of the golden warehouse with its KPI rollups built."""
    copy = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, copy)
    return copy


def info(shop: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert run_cli("warehouse", "info", "--warehouse", str(shop), "--format", "json") == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_settings_are_set_kept_and_overridden_per_process(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert info(shop, capsys)["settings"] == {
        "time_zone": "Asia/Seoul",
        "currency": "KRW",
        "fiscal_year_start": "01-01",
        "attribution_model": "position",
    }
    assert run_cli("warehouse", "set", "currency", "GBP", "--warehouse", str(shop)) == 0
    assert run_cli("warehouse", "set", "fiscal-year-start", "04-01", "-w", str(shop)) == 0
    found = info(shop, capsys)
    assert found["stored_settings"] == {"currency": "GBP", "fiscal_year_start": "04-01"}
    monkeypatch.setenv("OMNIKPI_CURRENCY", "EUR")
    assert info(shop, capsys)["settings"]["currency"] == "EUR"  # type: ignore[index]
    assert info(shop, capsys)["stored_settings"]["currency"] == "GBP"  # type: ignore[index]
    capsys.readouterr()
    assert run_cli("warehouse", "info", "--warehouse", str(shop)) == 0
    assert "currency          │ EUR        │ override" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["currency", "pounds"], 'currency "pounds" is not a three-letter ISO 4217 code'),
        (["time-zone", "Mars/Olympus"], 'time zone "Mars/Olympus" is not an IANA time zone'),
        (["fiscal-year-start", "02-29"], 'fiscal-year start "02-29" is not a month and day'),
        (["attribution-model", "ga4"], 'attribution model "ga4" is not valid (choose from'),
        (["colour", "red"], 'setting "colour" is not valid (allowed: time-zone, currency'),
    ],
)
def test_bad_settings_are_one_line_errors(
    shop: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert run_cli("warehouse", "set", *args, "--warehouse", str(shop)) == 2
    assert message in capsys.readouterr().err
    with Warehouse.open(shop, read_only=True) as warehouse:
        assert warehouse.stored_settings() == {}  # nothing stored


def test_a_new_time_zone_rebuilds_the_rollups_in_it(rolled_shop: Path) -> None:
    shop = rolled_shop
    catalog = load_catalog()
    assert run_cli("warehouse", "set", "time-zone", "America/Los_Angeles", "-w", str(shop)) == 0
    with Warehouse.open(shop, read_only=True) as warehouse:
        assert warehouse.time_zone == "America/Los_Angeles"
        assert warehouse.changed_tables() == {}  # the rebuild cleared what it marked
        from_rollups = KpiQuery(catalog, warehouse).run(
            ["orders", "revenue"], "day", "2025-03-01", "2025-03-31"
        )
        direct = KpiQuery(catalog, warehouse, rollups=False).run(
            ["orders", "revenue"], "day", "2025-03-01", "2025-03-31"
        )
    assert from_rollups.equals(direct)
    # Seoul is 16-17 hours ahead of Los Angeles: some orders moved to the day before.
    with Warehouse.open(shop, read_only=True, overrides={"time_zone": "Asia/Seoul"}) as seoul:
        in_seoul = KpiQuery(catalog, seoul).run(["orders"], "day", "2025-03-01", "2025-03-31")
    assert in_seoul["value"].tolist() != direct[direct["kpi"] == "orders"]["value"].tolist()


def test_rollups_are_not_read_in_another_processes_time_zone(rolled_shop: Path) -> None:
    """Rollups hold the warehouse's own local dates; an overriding process reads raw rows."""
    shop = rolled_shop
    catalog = load_catalog()
    with Warehouse.open(shop, read_only=True, overrides={"time_zone": "UTC"}) as utc:
        engine = KpiQuery(catalog, utc)
        assert engine.reader is not None
        assert engine.reader.available == set()
    with (
        Warehouse.open(shop, overrides={"time_zone": "UTC"}) as utc,
        pytest.raises(ConfigError, match="rollups keep local dates of the warehouse"),
    ):
        refresh_rollups(utc, catalog)
