"""Fixtures for KPI tests: the golden retailer in a DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.warehouse import Warehouse
from tests.kpi.golden_data import load_golden


@pytest.fixture(scope="session")
def golden_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "golden.duckdb"
    with Warehouse.create(path) as warehouse:
        load_golden(warehouse)
    return path


@pytest.fixture
def golden(golden_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(golden_path, read_only=True) as warehouse:
        yield warehouse


def pick(frame: pd.DataFrame, kpi: str, period: str, column: str = "value", **dims: str) -> object:
    """One cell of a query result."""
    rows = frame[(frame["kpi"] == kpi) & (frame["period_start"].astype(str) == period)]
    for name, value in dims.items():
        rows = rows[rows[name] == value]
    assert len(rows) == 1, f"{kpi} {period} {dims}: {len(rows)} rows"
    return rows.iloc[0][column]
