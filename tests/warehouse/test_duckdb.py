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
