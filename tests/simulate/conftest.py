"""Simulated retailers of several seeds: a planted effect must be found in each, not in one
lucky draw."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from omnikpi.simulate import SimulationConfig, build_warehouse
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_SEED, shared_build

#: The demo's seed (its warehouse is shared with every other test) and two more.
SEEDS = (SIM_SEED, 23, 37)


@pytest.fixture(scope="session", params=SEEDS, ids=[f"seed{seed}" for seed in SEEDS])
def seeded_sim_path(
    request: pytest.FixtureRequest,
    sim_config: SimulationConfig,
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
) -> Path:
    """The simulated retailer of each seed: the demo's own for its seed, else the same size
    simulated without rollups (the planted effects live in the raw tables)."""
    seed: int = request.param
    if seed == SIM_SEED:
        path: Path = request.getfixturevalue("sim_path")
        return path
    config = replace(sim_config, seed=seed)
    name = f"sim-seed{seed}/retailer.duckdb"
    return shared_build(tmp_path_factory, worker_id, name, lambda p: build_warehouse(config, p))


@pytest.fixture
def seeded_sim(seeded_sim_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(seeded_sim_path, read_only=True) as warehouse:
        yield warehouse
