"""The DuckDB warehouse: creation, opening, loading, local time, no downloads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from omnikpi.errors import ConfigError, NotFound, WarehouseExists
from omnikpi.model import TABLES
from omnikpi.warehouse import Warehouse


def test_create_makes_every_table_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path) as wh:
        assert {t.name for t in TABLES} <= wh.table_set()
        assert wh.table("orders").schema()["net_amount"].is_decimal()
    with pytest.raises(WarehouseExists, match="--force"):
        Warehouse.create(path)
    Warehouse.create(path, force=True).close()


def test_open_missing_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="omnikpi demo"):
        Warehouse.open(tmp_path / "missing.duckdb")


def test_extensions_are_never_downloaded(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        settings = dict(
            wh.raw.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions')"
            ).fetchall()
        )
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


def test_local_dates_follow_the_configured_time_zone(tmp_path: Path) -> None:
    ts = pa.array([1735657200 * 1_000_000], pa.timestamp("us", tz="UTC"))  # 2024-12-31 15:00 UTC
    for zone, expected in (("Asia/Seoul", date(2025, 1, 1)), ("UTC", date(2024, 12, 31))):
        with Warehouse.create(tmp_path / f"{zone.replace('/', '_')}.duckdb", time_zone=zone) as wh:
            wh.raw.register("t", pa.table({"ts": ts}))
            assert wh.table("t").ts.date().execute().iloc[0].date() == expected


def test_unknown_time_zone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        Warehouse.create(tmp_path / "w.duckdb", time_zone="Mars/Olympus")


def test_append_conforms_columns_and_reports_missing_ones(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        rows = pa.table(
            {
                "month": pa.array([date(2025, 1, 1)]),
                "program": ["loyalty"],
                "cost": pa.array([Decimal("1200.50")], pa.decimal128(18, 2)),
                "currency": ["KRW"],
            }
        )
        assert (
            wh.append("program_costs", rows.select(["currency", "cost", "program", "month"])) == 1
        )
        assert wh.row_counts(["program_costs"]) == {"program_costs": 1}
        with pytest.raises(ConfigError, match=r"lacks columns \['currency'\]"):
            wh.append("program_costs", rows.drop_columns(["currency"]))
