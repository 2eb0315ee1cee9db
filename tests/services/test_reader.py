"""The cached KPI reader: one computation per result and data version, the warehouse opened
only when something is not cached, and every result stale once the data changes."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from omnikpi.kpi import Grain, KpiQuery, load_catalog
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.targets import TargetRow, import_targets
from omnikpi.services import CachedKpiReader, ResultCache, data_version
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse

DECEMBER = (date(2025, 12, 1), date(2025, 12, 31))
REVENUE = KpiRequest(("revenue",), Grain.MONTH, *DECEMBER)


def test_concurrent_requests_for_one_result_compute_it_once() -> None:
    cache = ResultCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> list[int]:
        calls.append(1)
        started.set()
        assert release.wait(timeout=30)
        return [42]

    results: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute)))
        for _ in range(4)
    ]
    threads[0].start()
    assert started.wait(timeout=30)  # the first is computing; the others arrive meanwhile
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert results == [[42]] * 4
    assert all(result is results[0] for result in results)


def test_a_failed_computation_is_not_cached_and_the_oldest_entries_go_first() -> None:
    cache = ResultCache(max_entries=2)

    def fail() -> int:
        raise RuntimeError("warehouse busy")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("a", fail)
    assert cache.get_or_compute("a", lambda: 1) == 1
    cache.get_or_compute("b", lambda: 2)
    cache.get_or_compute("a", lambda: -1)  # a hit: "a" is now the most recent
    cache.get_or_compute("c", lambda: 3)  # evicts "b"
    assert len(cache) == 2
    assert cache.get_or_compute("a", lambda: -1) == 1
    assert cache.get_or_compute("b", lambda: 20) == 20


class Opener:
    """Opens the warehouse read-only and counts how often."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = 0

    @contextmanager
    def __call__(self) -> Iterator[Warehouse]:
        self.opened += 1
        with Warehouse.open(self.path, read_only=True) as warehouse:
            yield warehouse


def test_the_warehouse_is_opened_only_for_what_is_not_cached(sim_path: Path) -> None:
    cache, opener = ResultCache(), Opener(sim_path)
    settings = load_settings(warehouse=sim_path)
    catalog = load_catalog()

    def reader() -> CachedKpiReader:
        return CachedKpiReader(catalog, settings, cache, opener, data_version(sim_path))

    with reader() as first:
        frame = first.answer(REVENUE)
        assert first.data_through() == date(2025, 12, 31)
        assert first.opened
        frame.loc[0, "value"] = -1.0  # callers get a copy; the cache keeps its own
    with reader() as second:
        again = second.answer(REVENUE)
        assert second.data_through() == date(2025, 12, 31)
        assert not second.opened
    assert opener.opened == 1
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        expected = KpiQuery(catalog, warehouse, settings).run(["revenue"], Grain.MONTH, *DECEMBER)
    assert again["value"].tolist() == expected["value"].tolist()


def test_a_change_to_the_data_makes_every_cached_result_stale(
    sim_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(sim_path, path)
    cache, opener = ResultCache(), Opener(path)
    settings = load_settings(warehouse=path)
    before = data_version(path)
    with CachedKpiReader(load_catalog(), settings, cache, opener, before) as reader:
        planned = reader.answer(REVENUE)["target"].tolist()
    assert planned != [1e9]  # the demo's own plan
    with Warehouse.open(path) as warehouse:
        import_targets(warehouse, [TargetRow("revenue", "month", DECEMBER[0], "", 1e9, None)])
    after = data_version(path)
    assert after != before
    with CachedKpiReader(load_catalog(), settings, cache, opener, after) as reader:
        assert reader.answer(REVENUE)["target"].tolist() == [1e9]
    assert opener.opened == 2
