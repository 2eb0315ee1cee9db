"""The cached KPI reader: one computation per result and data version, the shared engine
used only when something is not cached, and every result stale once the data changes.

The shared engine: one `KpiQuery` per data version for every request, the warehouse file
open only while a request uses it (so a load can write it between requests), concurrent
requests answered on their own connections with the values one request alone gets."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from omnikpi.kpi import Grain, KpiQuery, load_catalog
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.targets import TargetRow, import_targets
from omnikpi.services import CachedKpiReader, ResultCache, data_version
from omnikpi.services.reader import SharedEngine
from omnikpi.services.warehouse import write_warehouse
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import own

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
    engines = SharedEngine(catalog, settings, opener)

    def reader() -> CachedKpiReader:
        return CachedKpiReader(catalog, settings, cache, engines, data_version(sim_path))

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
    engines = SharedEngine(load_catalog(), settings, opener)
    before = data_version(path)
    with CachedKpiReader(load_catalog(), settings, cache, engines, before) as reader:
        planned = reader.answer(REVENUE)["target"].tolist()
    assert planned != [1e9]  # the demo's own plan
    with Warehouse.open(path) as warehouse:
        import_targets(warehouse, [TargetRow("revenue", "month", DECEMBER[0], "", 1e9, None)])
    after = data_version(path)
    assert after != before
    with CachedKpiReader(load_catalog(), settings, cache, engines, after) as reader:
        assert reader.answer(REVENUE)["target"].tolist() == [1e9]
    assert opener.opened == 2


def readers(path: Path) -> tuple[SharedEngine, Callable[[], CachedKpiReader]]:
    """A shared engine on `path` and a maker of request readers over it, each with an
    empty cache (so every request uses the engine)."""
    settings = load_settings(warehouse=path)
    catalog = load_catalog()
    engines = SharedEngine(catalog, settings)

    def reader() -> CachedKpiReader:
        return CachedKpiReader(catalog, settings, ResultCache(), engines, data_version(path))

    return engines, reader


def test_requests_share_one_engine_and_free_the_file_between_them(sim_path: Path) -> None:
    engines, reader = readers(sim_path)
    with reader() as first:
        first.answer(REVENUE)
        engine, warehouse = first.engine(), first.warehouse()
        assert warehouse.connected
    assert not warehouse.connected  # no request uses it: the file is free for a load
    with reader() as second:
        second.answer(replace(REVENUE, compare="previous"))
        assert second.engine() is engine
        assert second.warehouse() is warehouse
        assert warehouse.connected
    assert engines.built == 1


def test_a_load_between_requests_writes_and_the_next_request_reads_its_data(
    sim_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(sim_path, path)
    engines, reader = readers(path)
    with reader() as first:
        assert first.answer(REVENUE)["target"].tolist() != [1e9]
        old = first.engine()
        with pytest.raises(duckdb.Error):  # while a request reads, no one may write
            Warehouse.open(path)
    # The app keeps its engine but not the file: a load (here in this very process, which
    # DuckDB refuses as long as any connection to the file is open) gets to write.
    with Warehouse.open(path) as warehouse:
        import_targets(warehouse, [TargetRow("revenue", "month", DECEMBER[0], "", 1e9, None)])
    with reader() as second:
        assert second.answer(REVENUE)["target"].tolist() == [1e9]
        assert second.engine() is not old
    assert engines.built == 2


def test_a_server_owning_the_file_keeps_its_engine_connected_and_sees_its_own_loads(
    sim_path: Path, tmp_path: Path
) -> None:
    """A server owns the file (its only writer): no lease closes the engine's connections,
    and a write committed by the server's own load gives the next request a new engine."""
    path = tmp_path / "owned.duckdb"
    shutil.copyfile(sim_path, path)
    engines, reader = readers(path)
    settings = load_settings(warehouse=path)
    with own(path):
        with reader() as first:
            assert first.answer(REVENUE)["target"].tolist() != [1e9]
            engine, warehouse = first.engine(), first.warehouse()
        assert warehouse.connected  # kept between requests
        with reader() as second:
            second.answer(replace(REVENUE, compare="previous"))
            assert second.engine() is engine
        with write_warehouse(settings) as written:  # a load handed to the server
            import_targets(written, [TargetRow("revenue", "month", DECEMBER[0], "", 1e9, None)])
        with reader() as third:
            assert third.answer(REVENUE)["target"].tolist() == [1e9]
            assert third.engine() is not engine
        assert not warehouse.connected  # the engine of the old data is closed
        assert engines.built == 2
        engines.close()


def test_concurrent_requests_get_the_values_of_sequential_ones(sim_path: Path) -> None:
    asked = [
        replace(REVENUE, compare="previous"),
        KpiRequest(("conversion_rate",), Grain.WEEK, date(2025, 11, 3), date(2025, 11, 30)),
        KpiRequest(("aov",), Grain.MONTH, *DECEMBER, by=("channel",), parts=True),
        KpiRequest(("visits",), Grain.DAY, date(2025, 12, 1), date(2025, 12, 14)),
    ] * 3
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        alone = KpiQuery(load_catalog(), warehouse, load_settings(warehouse=sim_path))
        expected = [alone.answer(request) for request in asked]
    engines, reader = readers(sim_path)
    start = threading.Barrier(len(asked))
    found: dict[int, pd.DataFrame] = {}
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            with reader() as request_reader:
                request_reader.engine()
                start.wait(timeout=60)  # every request holds the engine: they run together
                found[number] = request_reader.answer(asked[number])
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(asked))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert engines.built == 1
    for number, frame in enumerate(expected):
        pd.testing.assert_frame_equal(found[number], frame)


def test_a_kpi_detail_reads_its_trend_and_breakdown_in_one_engine_pass(
    sim_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omnikpi.auth import Role, UserRole
    from omnikpi.services import build_kpi_detail

    passes: list[int] = []
    answer_many = KpiQuery.answer_many

    def counted(self: KpiQuery, requests: list[KpiRequest]) -> list[pd.DataFrame]:
        passes.append(len(requests))
        return answer_many(self, requests)

    monkeypatch.setattr(KpiQuery, "answer_many", counted)
    _, reader = readers(sim_path)
    asked = KpiRequest(("revenue",), Grain.MONTH, date(2025, 7, 1), DECEMBER[1], compare="previous")
    with reader() as request:
        detail = build_kpi_detail(request, UserRole(Role.ANALYST), asked, breakdown_by="channel")
    # trend, breakdown and the breakdown's compared month together; nothing read again
    assert passes == [3]
    assert detail.breakdown is not None
    assert detail.breakdown.series.rows
    with reader() as alone:  # the same values as answers read one by one
        expected = alone.answer(replace(asked, parts=False))
    assert [r.value for r in detail.series.rows] == [
        None if pd.isna(v) else v for v in expected["value"]
    ]
