"""The tiny hand-made retailer of the customer tests (tests/customers/tiny_retailer.py),
built once per test run with its customer 360 stored; tests that write copy it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnikpi.services.customers import refresh_customer_profiles
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny retailer with its customer 360 stored as of 2025-06-30 (computing the
    360 takes seconds; rules read the stored one)."""
    path = build_tiny_retailer(tmp_path_factory.mktemp("audiences") / "tiny.duckdb")
    with Warehouse.open(path) as warehouse:
        refresh_customer_profiles(warehouse, Settings(warehouse=path), AS_OF)
    return path


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(tiny_path, read_only=True) as warehouse:
        yield warehouse
