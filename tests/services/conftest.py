"""The dashboard services on the simulated retailer, and on a copy of it with targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_END
from tests.web.kpi_targets import shared_targets_copy


@pytest.fixture(scope="session")
def targets_path(sim_path: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    return shared_targets_copy(sim_path, tmp_path_factory, worker_id, SIM_END)


def open_engine(path: Path) -> Iterator[KpiQuery]:
    with Warehouse.open(path, read_only=True) as warehouse:
        yield KpiQuery(load_catalog(), warehouse, load_settings(warehouse=path))


@pytest.fixture(scope="module")
def engine(sim_path: Path) -> Iterator[KpiQuery]:
    """The KPI engine on the simulated retailer (no targets)."""
    yield from open_engine(sim_path)


@pytest.fixture(scope="module")
def targeted(targets_path: Path) -> Iterator[KpiQuery]:
    """The KPI engine on the copy with planted targets."""
    yield from open_engine(targets_path)
