"""The DuckDB warehouse: creation, opening, loading, local time, no downloads, a connection
per thread, and the file released between uses."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from omnikpi.errors import ConfigError, NotFound, WarehouseExists
from omnikpi.model import TABLES, Column, Table
from omnikpi.settings import DataSettings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import file_version, one_thread, own, read_version, writing


def test_create_makes_every_table_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path) as wh:
        assert {t.name for t in TABLES} <= wh.table_set()
        assert wh.table("orders").schema()["net_amount"].is_decimal()
    with pytest.raises(WarehouseExists, match="--force"):
        Warehouse.create(path)
    Warehouse.create(path, force=True).close()


def test_open_missing_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="omnikpi demo"):
        Warehouse.open(tmp_path / "missing.duckdb")


def test_extensions_are_never_downloaded(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        settings = dict(
            wh.fetch_rows(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions')"
            )
        )
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


EVENTS_AT = Table(
    "t", "A test table.", (Column("ts", "timestamp", "An instant."),), ("ts",), kind="system"
)


def test_local_dates_follow_the_configured_time_zone(tmp_path: Path) -> None:
    ts = pa.array([1735657200 * 1_000_000], pa.timestamp("us", tz="UTC"))  # 2024-12-31 15:00 UTC
    for zone, expected in (("Asia/Seoul", date(2025, 1, 1)), ("UTC", date(2024, 12, 31))):
        path = tmp_path / f"{zone.replace('/', '_')}.duckdb"
        with Warehouse.create(path, settings=DataSettings(time_zone=zone)) as wh:
            wh.create_tables([EVENTS_AT])
            wh.append("t", pa.table({"ts": ts}), EVENTS_AT)
            assert wh.table("t").ts.date().execute().iloc[0].date() == expected
        with Warehouse.open(path, read_only=True) as wh:  # the zone is kept in the file
            assert wh.time_zone == zone
            assert wh.fetch_value("SELECT CAST(ts AS DATE) FROM t") == expected


def test_unknown_time_zone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        Warehouse.create(tmp_path / "w.duckdb", settings=DataSettings(time_zone="Mars/Olympus"))


def test_append_conforms_columns_and_reports_missing_ones(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        rows = pa.table(
            {
                "month": pa.array([date(2025, 1, 1)]),
                "program": ["loyalty"],
                "cost": pa.array([Decimal("1200.50")], pa.decimal128(18, 2)),
                "currency": ["KRW"],
            }
        )
        assert (
            wh.append("program_costs", rows.select(["currency", "cost", "program", "month"])) == 1
        )
        assert wh.row_counts(["program_costs"]) == {"program_costs": 1}
        with pytest.raises(ConfigError, match=r"lacks columns \['currency'\]"):
            wh.append("program_costs", rows.drop_columns(["currency"]))


def test_data_settings_are_stored_and_overridden_per_connection(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path) as wh:
        assert wh.settings == DataSettings()  # defaults until set
        stored = wh.store_settings({"currency": "GBP", "time_zone": "Europe/London"})
        assert (stored.currency, stored.time_zone, wh.time_zone) == (
            "GBP",
            "Europe/London",
            "Europe/London",
        )
        with pytest.raises(ConfigError, match="ISO 4217"):
            wh.store_settings({"currency": "pounds"})
        assert wh.stored_settings() == {"currency": "GBP", "time_zone": "Europe/London"}
    with Warehouse.open(path, read_only=True, overrides={"currency": "EUR"}) as wh:
        assert (wh.currency, wh.time_zone) == ("EUR", "Europe/London")
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.currency == "GBP"


def test_changed_tables_keep_the_earliest_date_and_clear_by_table(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        assert wh.changed_tables() == {}
        with wh.transaction():
            wh.mark_changed({"orders": date(2025, 3, 2), "stores": None}, "b1")
        wh.mark_changed({"orders": date(2025, 2, 27)}, "b2")
        assert wh.changed_tables() == {"orders": date(2025, 2, 27), "stores": None}
        wh.clear_changes(["stores"])
        assert wh.changed_tables() == {"orders": date(2025, 2, 27)}
        wh.clear_changes()
        assert wh.changed_tables() == {}


def test_a_rolled_back_change_leaves_no_mark(tmp_path: Path) -> None:
    def crash_inside_a_load(wh: Warehouse) -> None:
        with wh.transaction():
            wh.mark_changed({"orders": date(2025, 3, 2)}, "b1")
            raise RuntimeError("crash inside the load")

    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        with pytest.raises(RuntimeError, match="crash"):
            crash_inside_a_load(wh)
        assert wh.changed_tables() == {}


def test_replace_rows_replaces_by_key_and_the_last_duplicate_wins(tmp_path: Path) -> None:
    prices = Table(
        "prices",
        "Test prices.",
        (Column("sku", "string", "Product."), Column("price", "float", "Price.")),
        ("sku",),
        kind="system",
    )
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        wh.replace_rows(prices, pa.table({"sku": ["a", "b"], "price": [1.0, 2.0]}))
        wh.replace_rows(prices, pa.table({"sku": ["b", "c", "c"], "price": [3.0, 4.0, 5.0]}))
        assert wh.fetch_rows("SELECT sku, price FROM prices ORDER BY sku") == [
            ("a", 1.0),
            ("b", 3.0),
            ("c", 5.0),
        ]


def test_each_thread_queries_on_its_own_connection_in_the_warehouse_zone(
    tmp_path: Path,
) -> None:
    ts = pa.array([1735657200 * 1_000_000], pa.timestamp("us", tz="UTC"))  # 2024-12-31 15:00 UTC
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path, settings=DataSettings(time_zone="Asia/Seoul")) as wh:
        wh.create_tables([EVENTS_AT])
        wh.append("t", pa.table({"ts": ts}), EVENTS_AT)
    found: dict[str, object] = {}
    with Warehouse.open(path, read_only=True) as wh:
        mine = wh.ibis

        def read() -> None:
            found["backend"] = wh.ibis
            found["day"] = wh.fetch_value("SELECT CAST(ts AS DATE) FROM t")
            found["ibis day"] = wh.execute(wh.table("t").ts.date()).iloc[0]

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=60)
        assert wh.ibis is mine  # the opening thread keeps its connection
    assert found["backend"] is not mine
    assert found["day"] == date(2025, 1, 1)  # Seoul's date, not UTC's
    assert pd.Timestamp(found["ibis day"]).date() == date(2025, 1, 1)


def test_release_lets_another_connection_write_and_the_next_use_reads_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path, settings=DataSettings(time_zone="Asia/Seoul")) as wh:
        wh.create_tables([EVENTS_AT])
    reader = Warehouse.open(path, read_only=True)
    try:
        assert reader.fetch_value("SELECT count(*) FROM t") == 0
        with pytest.raises(duckdb.Error):  # a writer is refused while the file is open
            Warehouse.open(path)
        reader.release()
        assert not reader.connected
        ts = pa.array([1735657200 * 1_000_000], pa.timestamp("us", tz="UTC"))
        with Warehouse.open(path) as writer:
            writer.append("t", pa.table({"ts": ts}), EVENTS_AT)
        assert reader.fetch_value("SELECT CAST(ts AS DATE) FROM t") == date(2025, 1, 1)
        assert reader.connected
    finally:
        reader.close()
    with pytest.raises(duckdb.ConnectionException):  # closed is closed for good
        reader.fetch_value("SELECT 1")
    with Warehouse.create(Path(":memory:")) as memory, pytest.raises(ConfigError, match="lost"):
        memory.release()


def test_a_writable_warehouse_looks_its_tables_up_again_only_when_they_may_have_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Table names are looked up once per connection and catalog change, not per check; a
    table created in a transaction is seen by its own thread at once and by another thread
    once it commits; a dropped one is gone."""
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        lookups: list[int] = []
        backend = type(wh.ibis)
        list_tables = backend.list_tables

        def counted(self: object, *args: object, **kwargs: object) -> list[str]:
            lookups.append(threading.get_ident())
            return list_tables(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(backend, "list_tables", counted)
        for _ in range(5):
            assert wh.has_table("orders")
        assert len(lookups) == 1
        seen_by_other: list[bool] = []

        def other() -> None:
            seen_by_other.append(wh.has_table("scratch"))

        with wh.transaction():
            wh.run_sql("CREATE TABLE scratch (x INTEGER)")
            assert wh.has_table("scratch")
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        assert seen_by_other == [False]  # not committed yet
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert seen_by_other == [False, True]
        wh.run_sql("DROP TABLE scratch")
        assert not wh.has_table("scratch")
        before = len(lookups)
        assert wh.has_table("orders")
        assert wh.has_table("customers")
        assert len(lookups) == before


def test_one_thread_keeps_an_owned_database_to_the_calling_threads_and_sets_it_back(
    tmp_path: Path,
) -> None:
    """A load handed to the server runs with DuckDB's `threads` at 1 for the whole
    database (readers see it too, and keep answering); nested blocks keep it until the
    last ends, an error inside still sets it back, and a file not owned is left alone."""
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path) as wh:
        wh.run_sql("CREATE TABLE notes (n INTEGER)")
        wh.run_sql("INSERT INTO notes VALUES (1), (2), (3)")
    with one_thread(path) as changed:  # no server owns it: nothing to change
        assert changed is False
    with own(path) as owner:
        before = owner.database_setting("threads")
        owner.set_database_setting("threads", 3)  # not the default, so a reset is seen
        reader = Warehouse.open(path, read_only=True)
        try:
            with one_thread(path) as changed:
                assert changed is True
                assert reader.database_setting("threads") == "1"
                with one_thread(path):
                    assert owner.database_setting("threads") == "1"
                assert reader.database_setting("threads") == "1"  # the outer block still runs
                answers: list[object] = []
                thread = threading.Thread(
                    target=lambda: answers.append(reader.fetch_value("SELECT sum(n) FROM notes"))
                )
                thread.start()
                thread.join(timeout=60)
                assert answers == [6]
            assert reader.database_setting("threads") == "3"
            with pytest.raises(RuntimeError), one_thread(path):
                raise RuntimeError("the load failed")
            assert owner.database_setting("threads") == "3"
        finally:
            reader.close()
        owner.set_database_setting("threads", before)


def test_database_settings_are_named_and_checked(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "w.duckdb") as wh:
        wh.set_database_setting("threads", 1)
        assert wh.database_setting("threads") == "1"
        with pytest.raises(ConfigError, match="no setting 'threads; DROP'"):
            wh.set_database_setting("threads; DROP", 1)
        with pytest.raises(ConfigError, match="no setting"):
            wh.database_setting("no_such_setting")


def test_readers_keep_the_version_a_write_session_began_on_until_it_ends(
    tmp_path: Path,
) -> None:
    """A load writes the file before it commits (and a rollup refresh commits many
    times): other threads keep the version the session began on, the writing thread sees
    the file as it is, and once the session ends everyone sees the new version."""
    path = tmp_path / "w.duckdb"
    with Warehouse.create(path) as wh:
        wh.run_sql("CREATE TABLE notes (n BIGINT, s VARCHAR)")
        wh.checkpoint()
    before = file_version(path)
    assert read_version(path) == before
    seen: list[tuple[int, ...]] = []

    def read() -> None:
        seen.append(read_version(path))

    with writing(path), Warehouse.open(path) as wh, wh.transaction():
        wh.run_sql("INSERT INTO notes SELECT range, range::VARCHAR FROM range(1000000)")
        changed = file_version(path)
        assert changed != before  # written, not yet committed
        assert read_version(path) == changed  # the writer sees its own writes
        with writing(path):  # nested: still the same session
            thread = threading.Thread(target=read)
            thread.start()
            thread.join(timeout=60)
    assert seen == [before]
    assert read_version(path) == file_version(path) != before
    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=60)
    assert seen == [before, file_version(path)]
