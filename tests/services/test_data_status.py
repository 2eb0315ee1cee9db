"""The data status service: counts, freshness, gaps, and what ingestion recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from omnikpi.errors import InvalidChoice
from omnikpi.ingest.load import ensure_ingest_tables
from omnikpi.model import TABLES
from omnikpi.services.data_status import (
    LOAD_COLUMNS,
    read_data_status,
    read_load_log,
    read_quarantine,
    rows_by_period,
)
from omnikpi.warehouse import Warehouse
from tests.conftest import scalar

TODAY = date(2026, 1, 1)


def test_counts_and_freshness_match_the_warehouse(sim: Warehouse) -> None:
    status = read_data_status(sim, TODAY)
    assert [t.name for t in status.tables] == [t.name for t in TABLES]
    counts = sim.row_counts()
    for table in status.tables:
        assert table.rows == counts[table.name]
    orders = next(t for t in status.tables if t.name == "orders")
    latest = scalar(sim, "SELECT epoch_us(max(placed_at)) FROM orders")
    assert isinstance(orders.latest, datetime)
    assert orders.latest == datetime.fromtimestamp(int(latest) / 1e6, UTC)  # type: ignore[arg-type]
    assert orders.age_days == 1  # the simulation ends on Dec 31 (Seoul), today is Jan 1
    assert status.latest_data == date(2025, 12, 31)
    assert status.age_days == 1
    assert status.total_rows == sum(counts[t.name] for t in TABLES)
    stores = next(t for t in status.tables if t.name == "stores")
    assert (stores.time_column, stores.latest, stores.age_days) == (None, None, None)
    assert status.load_log is None
    assert status.quarantine is None
    assert status.simulated  # the simulator planted its truth: no loads to list


def test_a_warehouse_of_loaded_data_is_not_called_simulated(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as warehouse:
        assert not read_data_status(warehouse, TODAY).simulated


def test_rows_per_period_add_up_and_show_gaps(sim: Warehouse) -> None:
    months = rows_by_period(sim, "orders", "month", date(2025, 7, 1), date(2025, 12, 31))
    assert [start for start, _ in months] == [date(2025, m, 1) for m in range(7, 13)]
    direct = scalar(
        sim,
        "SELECT count(*) FROM orders WHERE CAST(placed_at AS DATE) BETWEEN ? AND ?",
        date(2025, 7, 1),
        date(2025, 12, 31),
    )
    assert sum(count for _, count in months) == direct
    # after the simulation ends every week is listed, each with no rows
    weeks = rows_by_period(sim, "orders", "week", date(2026, 1, 5), date(2026, 1, 25))
    assert weeks == [(date(2026, 1, 5), 0), (date(2026, 1, 12), 0), (date(2026, 1, 19), 0)]
    with pytest.raises(InvalidChoice, match=r"table \"stores\" is not valid \(allowed: customers"):
        rows_by_period(sim, "stores", "month", date(2025, 1, 1), date(2025, 2, 1))


def test_loads_and_quarantine_come_from_ingestion(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as warehouse:
        assert read_load_log(warehouse) is None
        assert read_quarantine(warehouse) is None
        ensure_ingest_tables(warehouse)
        warehouse.run_sql(
            "INSERT INTO load_log VALUES (?, 'orders.csv', 'abc', 'loaded', ?, 1.25, 10, 8, "
            "8, 0, 2, '{}'), (?, 'orders.csv', 'abd', 'rejected', ?, 0.5, 5, 0, 0, 0, 5, '{}')",
            [
                "b1",
                datetime(2025, 12, 30, 23, 0, tzinfo=UTC),
                "b2",
                datetime(2025, 12, 31, 1, 0, tzinfo=UTC),
            ],
        )
        warehouse.run_sql(
            "INSERT INTO quarantine VALUES "
            "('b1', 'orders.csv', 3, 'orders', 'placed_at', 'x', 'is not a date', ?), "
            "('b1', 'orders.csv', 4, 'orders', 'placed_at', 'y', 'is not a date', ?)",
            [datetime(2025, 12, 30, 23, 0, tzinfo=UTC)] * 2,
        )
        loads = read_load_log(warehouse)
        quarantine = read_quarantine(warehouse)
    assert loads is not None
    assert loads.total == 2
    assert loads.columns == LOAD_COLUMNS
    newest = dict(zip(loads.columns, loads.rows[0], strict=True))
    assert newest["started_at"] == datetime(2025, 12, 31, 1, 0, tzinfo=UTC)
    assert (newest["status"], newest["rows_read"], newest["rows_quarantined"]) == ("rejected", 5, 5)
    assert quarantine is not None
    assert quarantine.total == 2
    group = dict(zip(quarantine.columns, quarantine.rows[0], strict=True))
    assert (group["table_name"], group["column_name"], group["problems"]) == (
        "orders",
        "placed_at",
        2,
    )
