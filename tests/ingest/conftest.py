"""Shared helpers of the ingest tests: fixture files, a fixed clock, warehouse queries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omnikpi.ingest import LoadOptions, LoadSummary
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

FIXTURES = Path(__file__).parent / "fixtures"
#: The loads' clock: after every fixture date, so only planted future dates are "future".
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HASH_KEY = "test-pseudonym-key"


def options(**overrides: Any) -> LoadOptions:
    """Load options with the fixed clock and a pseudonymization key."""
    values: dict[str, Any] = {"now": NOW, "hash_key": HASH_KEY, **overrides}
    return LoadOptions(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A warehouse path in the test's folder (created by the first load)."""
    return Settings(warehouse=tmp_path / "shop.duckdb")


def rows(settings: Settings, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of a parameterized query on the loaded warehouse (its time zone applies)."""
    with Warehouse.open(settings.warehouse, read_only=True, overrides=settings.overrides) as wh:
        return wh.fetch_rows(sql, list(params))


def value(settings: Settings, sql: str, *params: object) -> Any:
    """The single value of a query."""
    return rows(settings, sql, *params)[0][0]


def reasons(summary: LoadSummary, table: str) -> list[tuple[str, str, int]]:
    """The report's lines for one table: (outcome, reason, rows), in report order."""
    return [(r.outcome, r.reason, r.rows) for r in summary.tables[table].reasons]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a small fixture file and return its path."""
    path.write_bytes(text.encode(encoding))
    return path
