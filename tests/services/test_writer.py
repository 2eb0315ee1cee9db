"""The warehouse a server owns: reads share its database and see the last committed state
while a write runs; writes run one at a time; a read cannot write."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from omnikpi.kpi import load_catalog
from omnikpi.services.reader import SharedEngine
from omnikpi.services.warehouse import read_warehouse, write_warehouse
from omnikpi.services.writer import (
    HANDED_OFF_NICENESS,
    beside_readers,
    lower_thread_priority,
    owned_warehouse,
    serves_warehouse,
)
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "shop.duckdb"
    with Warehouse.create(path) as warehouse:
        warehouse.run_sql("CREATE TABLE notes (n INTEGER)")
        warehouse.run_sql("INSERT INTO notes VALUES (1)")
    return Settings(warehouse=path)


def count(settings: Settings) -> int:
    with read_warehouse(settings) as warehouse:
        return int(warehouse.fetch_value("SELECT count(*) FROM notes"))


def test_reads_see_the_last_commit_while_a_write_runs(settings: Settings) -> None:
    written, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with write_warehouse(settings) as warehouse, warehouse.transaction():
                warehouse.run_sql("INSERT INTO notes VALUES (2), (3)")
                written.set()
                resume.wait()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            written.set()

    with owned_warehouse(settings):
        assert serves_warehouse(settings)
        writer = threading.Thread(target=write)
        writer.start()
        written.wait()
        assert count(settings) == 1  # the uncommitted rows are not seen, and nothing waits
        resume.set()
        writer.join()
        assert not errors
        assert count(settings) == 3
    assert not serves_warehouse(settings)
    assert count(settings) == 3  # and without an owner the file opens read-only again


def test_a_read_of_an_owned_warehouse_cannot_write(settings: Settings) -> None:
    with owned_warehouse(settings), read_warehouse(settings) as warehouse:
        assert warehouse.read_only
        with pytest.raises(duckdb.Error, match="read-only"):
            warehouse.run_sql("INSERT INTO notes VALUES (9)")
    assert count(settings) == 1


def test_reads_on_other_threads_cannot_write_either(settings: Settings) -> None:
    outcome: list[str] = []
    with owned_warehouse(settings), read_warehouse(settings) as warehouse:

        def other_thread() -> None:
            try:
                warehouse.run_sql("INSERT INTO notes VALUES (9)")
                outcome.append("wrote")
            except duckdb.Error:
                outcome.append("refused")

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert outcome == ["refused"]


def test_writes_of_one_process_run_one_at_a_time(settings: Settings) -> None:
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        with write_warehouse(settings):
            order.append("second in")

    with owned_warehouse(settings):
        with write_warehouse(settings) as warehouse:
            inside.set()
            thread = threading.Thread(target=second)
            thread.start()
            thread.join(0.3)  # would have entered by now if nothing held it back
            warehouse.run_sql("INSERT INTO notes VALUES (2)")
            order.append("first done")
        thread.join()
    assert order == ["first done", "second in"]


def test_the_shared_engine_of_an_owned_warehouse_follows_each_commit(settings: Settings) -> None:
    with owned_warehouse(settings):
        engines = SharedEngine(load_catalog(), settings)
        with engines.lease() as busy:  # a request in progress keeps its engine
            assert busy.warehouse.fetch_value("SELECT count(*) FROM notes") == 1
            with write_warehouse(settings) as warehouse:
                warehouse.run_sql("INSERT INTO notes VALUES (2)")
            with engines.lease() as fresh:  # the next request reads the new data
                assert fresh is not busy
                assert fresh.warehouse.fetch_value("SELECT count(*) FROM notes") == 2
            assert busy.warehouse.fetch_value("SELECT count(*) FROM notes") == 1
        engines.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority")
def test_lower_thread_priority_lowers_only_the_calling_thread() -> None:
    """A handed-off command's thread runs at a lower priority than the pages' threads."""
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, object] = {}

    def work() -> None:
        seen["changed"] = lower_thread_priority(HANDED_OFF_NICENESS)
        seen["mine"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["unchanged"] = lower_thread_priority(0)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=60)
    assert seen == {
        "changed": True,
        "mine": min(base + HANDED_OFF_NICENESS, 19),
        "unchanged": False,
    }
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base


def test_work_beside_the_readers_of_an_owned_warehouse_keeps_to_one_thread(
    settings: Settings,
) -> None:
    with beside_readers(settings.warehouse) as changed:  # not served: left as it is
        assert changed is False
    with owned_warehouse(settings) as owner:
        before = owner.database_setting("threads")
        with beside_readers(settings.warehouse) as changed:
            assert changed is True
            with read_warehouse(settings) as reader:
                assert reader.database_setting("threads") == "1"
            assert count(settings) == 1  # readers keep answering
        assert owner.database_setting("threads") == before
