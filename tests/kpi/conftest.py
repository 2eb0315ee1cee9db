"""Helpers for KPI tests (the golden retailer fixtures live in tests/conftest.py)."""

from __future__ import annotations

import pandas as pd


def pick(frame: pd.DataFrame, kpi: str, period: str, column: str = "value", **dims: str) -> object:
    """One cell of a query result."""
    rows = frame[(frame["kpi"] == kpi) & (frame["period_start"].astype(str) == period)]
    for name, value in dims.items():
        rows = rows[rows[name] == value]
    assert len(rows) == 1, f"{kpi} {period} {dims}: {len(rows)} rows"
    return rows.iloc[0][column]
