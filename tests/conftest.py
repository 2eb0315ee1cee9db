"""Shared fixtures: one simulated retailer per test session, built with the demo command."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from omnikpi.cli import main
from omnikpi.simulate import SimulationConfig
from omnikpi.warehouse import Warehouse
from tests.kpi.golden_data import load_golden

#: The simulated retailer most tests read: big enough for the planted effects to show.
SIM_CUSTOMERS = 12_000
SIM_DAYS = 480
SIM_END = date(2025, 12, 31)
SIM_SEED = 11


def run_cli(*args: str) -> int:
    """Run the omnikpi CLI in-process; returns its exit code."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    code = exit_info.value.code
    return int(code) if code is not None else 0


@pytest.fixture(scope="session")
def sim_config() -> SimulationConfig:
    return SimulationConfig(customers=SIM_CUSTOMERS, days=SIM_DAYS, end=SIM_END, seed=SIM_SEED)


def shared_build(
    tmp_path_factory: pytest.TempPathFactory,
    worker_id: str,
    name: str,
    build: Callable[[Path], object],
) -> Path:
    """`name` (a folder, then a file) built by `build` once per test run: parallel workers
    (pytest-xdist) share it, the first builds it under a file lock, the others wait."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    path = shared / name
    with (shared / f"{path.parent.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                path.parent.mkdir(exist_ok=True)
                build(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


def build_sim(path: Path) -> None:
    """The shared simulated retailer, built by `omnikpi demo --no-serve` as a user would."""
    code = run_cli(
        "demo",
        "--customers",
        str(SIM_CUSTOMERS),
        "--days",
        str(SIM_DAYS),
        "--end",
        SIM_END.isoformat(),
        "--seed",
        str(SIM_SEED),
        "--warehouse",
        str(path),
        "--no-serve",
    )
    assert code == 0


def build_golden_rolled(path: Path) -> None:
    """The golden warehouse with every KPI rollup built (and their SQL compiled)."""
    from omnikpi.kpi import load_catalog
    from omnikpi.kpi.rollups import refresh_rollups

    with Warehouse.create(path) as warehouse:
        load_golden(warehouse)
        refresh_rollups(warehouse, load_catalog())


#: What `shared_build` builds once per run, by name; `tests/prebuild.py` builds these in
#: the background when the whole suite runs (OMNIKPI_TEST_PREBUILD=1, `make unit`).
SHARED_BUILDS: dict[str, Callable[[Path], None]] = {
    "sim/retailer.duckdb": build_sim,
    "golden-rolled/golden.duckdb": build_golden_rolled,
}
PREBUILD_ENV = "OMNIKPI_TEST_PREBUILD"


def pytest_sessionstart(session: pytest.Session) -> None:
    """With OMNIKPI_TEST_PREBUILD set, the main process (not an xdist worker) starts
    building `SHARED_BUILDS` in a background process holding their locks, so that no
    worker sits idle waiting for the one that would otherwise build them."""
    config = session.config
    if not os.environ.get(PREBUILD_ENV) or hasattr(config, "workerinput"):
        return
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    locks = []
    for name in SHARED_BUILDS:
        lock = (base / f"{Path(name).parent.name}.lock").open("w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        locks.append(lock)
    fds = [lock.fileno() for lock in locks]
    with (base / "prebuild.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.prebuild", str(base), *map(str, fds)],
            pass_fds=fds,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parents[1],
        )
    for lock in locks:
        lock.close()  # the builder holds them now
    config.stash[_PREBUILD] = process


_PREBUILD = pytest.StashKey[subprocess.Popen[bytes]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    process = session.config.stash.get(_PREBUILD, None)
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def sim_path(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A warehouse built by `omnikpi demo --no-serve` exactly as a user would.

    Built once per test run and shared by parallel workers (`shared_build`). Tests treat it
    as read-only (copy it to change it).
    """
    return shared_build(tmp_path_factory, worker_id, "sim/retailer.duckdb", build_sim)


@pytest.fixture
def sim(sim_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        yield warehouse


def query(warehouse: Warehouse, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of a parameterized SQL query."""
    return warehouse.fetch_rows(sql, list(params))


def scalar(warehouse: Warehouse, sql: str, *params: object) -> object:
    rows = query(warehouse, sql, *params)
    return rows[0][0]


@pytest.fixture(scope="session")
def golden_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "golden.duckdb"
    with Warehouse.create(path) as warehouse:
        load_golden(warehouse)
    return path


@pytest.fixture(scope="session")
def golden_rolled_path(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The golden warehouse with every KPI rollup built (and their SQL compiled): built
    once per test run and shared by parallel workers; tests copy it to change it."""
    name = "golden-rolled/golden.duckdb"
    return shared_build(tmp_path_factory, worker_id, name, build_golden_rolled)


@pytest.fixture
def golden_copy(golden_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the golden warehouse (for tests that import targets)."""
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_path, path)
    return path


@pytest.fixture
def golden(golden_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(golden_path, read_only=True) as warehouse:
        yield warehouse
