"""A PostgreSQL table or query streams through a server-side cursor into the warehouse.

Uses the local server (127.0.0.1:5432, database test, trust auth) and a fresh schema per
test run, dropped afterwards.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
import yaml
from psycopg import sql

import omnikpi.ingest.postgres as postgres
from omnikpi.errors import ConfigError
from omnikpi.ingest import ingest_postgres, parse_mapping
from omnikpi.settings import Settings
from tests.ingest.conftest import options, rows, value
from tests.prerequisites import missing_postgres

DSN = "postgresql://postgres@127.0.0.1:5432/test"
ROWS = 1_250
DOCUMENT: dict[str, Any] = {
    "currency": "KRW",
    "tables": {
        "orders": {
            "columns": {
                "order_id": "order_no",
                "channel": {"column": "channel", "map": {"온라인": "web", "매장": "store"}},
                "placed_at": "ordered_at",
                "status": "status",
                "status_changed_at": "ordered_at",
                "fulfilment": {"value": "delivery"},
                "gross_amount": "amount",
                "discount_amount": {"value": 0},
                "net_amount": "amount",
                "shipping_amount": {"value": 0},
                "tax_amount": {"value": 0},
                "total_amount": "amount",
            }
        }
    },
}
MAPPING = parse_mapping(DOCUMENT)


def _connect() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(DSN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError:
        clusters = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True)
        for version in clusters.stdout.split():
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                capture_output=True,
                check=False,
            )
        try:
            return psycopg.connect(DSN, connect_timeout=10, autocommit=True)
        except psycopg.OperationalError as exc:
            missing_postgres(str(exc))


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    """A fresh schema with a table "shop orders": 1,250 orders, order 7 has a bad status."""
    name = f"omnikpi_test_{uuid.uuid4().hex[:10]}"
    start = datetime(2024, 3, 1, tzinfo=UTC)
    with _connect() as pg:
        pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        table = sql.Identifier(name, "shop orders")
        pg.execute(
            sql.SQL(
                "CREATE TABLE {} (order_no text PRIMARY KEY, channel text, ordered_at timestamptz,"
                " status text, amount numeric(12, 2))"
            ).format(table)
        )
        with pg.cursor() as cursor:
            cursor.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(table),
                [
                    (
                        f"A-{i:04d}",
                        "온라인" if i % 3 else "매장",
                        start + timedelta(minutes=i),
                        "teleported" if i == 7 else "paid",
                        Decimal(i) + Decimal("0.25"),
                    )
                    for i in range(1, ROWS + 1)
                ],
            )
        try:
            yield name
        finally:
            pg.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def test_a_table_streams_in_batches(
    schema: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = postgres.stream_batches

    def spy(*args: Any) -> Iterator[pa.Table]:
        for batch in real(*args):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(postgres, "stream_batches", spy)
    summary = ingest_postgres(
        settings, DSN, MAPPING, table=f"{schema}.shop orders", batch_size=100, options=options()
    )
    assert sizes == [100] * 12 + [50]  # never more than one batch of rows in Python
    assert summary.rows_read == ROWS
    assert [p.message() for p in summary.problems] == [
        f'test.{schema}.shop orders row 7: column "status" value "teleported" is not one of '
        "placed, "
        "paid, cancelled, completed (map it with map: under tables.orders.columns.status)"
    ]
    # amounts stay exact: sum of (i + 0.25) for i = 1..1250 without i = 7
    expected = Decimal(ROWS * (ROWS + 1) // 2 - 7) + Decimal("0.25") * (ROWS - 1)
    assert value(settings, "SELECT sum(net_amount) FROM orders") == expected
    assert rows(settings, "SELECT channel, count(*) FROM orders GROUP BY 1 ORDER BY 1") == [
        ("store", 416),  # every third order: 3, 6, … 1248
        ("web", 833),  # the rest, less order 7
    ]
    assert (
        value(
            settings,
            "SELECT strftime(timezone('UTC', placed_at), '%Y-%m-%d %H:%M') FROM orders "
            "WHERE order_id = 'A-0001'",
        )
        == "2024-03-01 00:01"
    )
    again = ingest_postgres(
        settings, DSN, MAPPING, table=f"{schema}.shop orders", batch_size=500, options=options()
    )
    # the same rows in other batches: same checksum, nothing to change
    assert again.checksum == summary.checksum
    assert (again.tables["orders"].inserted, again.tables["orders"].updated) == (0, 0)


def test_a_query_with_its_own_filter(schema: str, settings: Settings) -> None:
    query = f'SELECT * FROM "{schema}"."shop orders" WHERE order_no <= \'A-0010\''
    summary = ingest_postgres(
        settings, DSN, MAPPING, query=query, options=options(max_error_rate=0.2)
    )
    assert summary.rows_read == 10
    assert value(settings, "SELECT count(*) FROM orders") == 9
    assert value(settings, "SELECT source FROM load_log") == "postgres query"


def test_errors_name_the_connection_or_the_table(schema: str, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL"):
        ingest_postgres(
            settings,
            "postgresql://postgres@127.0.0.1:1/test",
            MAPPING,
            table="x",
            options=options(),
        )
    with pytest.raises(ConfigError, match=r'PostgreSQL cannot run the missing: .*"missing"'):
        ingest_postgres(settings, DSN, MAPPING, table="missing", options=options())
    with pytest.raises(ConfigError, match="exactly one of --table or --query"):
        ingest_postgres(settings, DSN, MAPPING, options=options())


def test_the_cli_reads_postgres(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import run_cli

    mapping = tmp_path / "pg.yaml"
    mapping.write_text(yaml.safe_dump(DOCUMENT, allow_unicode=True), encoding="utf-8")
    code = run_cli(
        "ingest",
        "--postgres",
        DSN,
        "--table",
        f"{schema}.shop orders",
        "--mapping",
        str(mapping),
        "-w",
        str(tmp_path / "w.duckdb"),
        "--batch-size",
        "300",
    )
    assert code == 0
    assert "1,250 rows read, 1 quarantined (0.08%; limit 5.0%)" in capsys.readouterr().out


def test_dates_no_python_date_holds_and_nan_are_quarantined(
    schema: str, settings: Settings
) -> None:
    """PostgreSQL holds `infinity`, dates before year 1 and after 9999, and NaN amounts:
    each is quarantined with its row instead of stopping the load."""
    query = (
        "SELECT * FROM (VALUES "
        "('B-1', '온라인', '2024-03-01 10:00+09'::timestamptz, 'paid', 10.50::numeric), "
        "('B-2', '온라인', 'infinity'::timestamptz, 'paid', 1), "
        "('B-3', '온라인', '0044-03-15 12:00 BC'::timestamptz, 'paid', 1), "
        "('B-4', '온라인', '1500-03-01 10:00+00'::timestamptz, 'paid', 1), "
        "('B-5', '온라인', '2024-03-02 10:00+00'::timestamptz, 'paid', 'NaN'::numeric)) "
        "AS t(order_no, channel, ordered_at, status, amount)"
    )
    summary = ingest_postgres(
        settings, DSN, MAPPING, query=query, options=options(max_error_rate=1.0)
    )
    assert rows(
        settings,
        "SELECT order_id, CAST(timezone('UTC', placed_at) AS VARCHAR), net_amount FROM orders",
    ) == [("B-1", "2024-03-01 01:00:00", Decimal("10.50"))]
    found = {p.row_number: (p.column, p.value, p.reason.split(",")[0]) for p in summary.problems}
    assert found == {
        2: ("ordered_at", "infinity", "is outside 1970-01-01 … 2027-01-15"),
        3: ("ordered_at", "0044-03-15 12:00:00+00 BC", found[3][2]),
        4: ("ordered_at", "1500-03-01 10:00:00+00", "is outside 1970-01-01 … 2027-01-15"),
        5: ("amount", "NaN", "is not a finite number (NaN or infinity)"),
    }
    assert found[3][2].startswith("is not a date and time")


def test_a_query_that_finds_no_rows_loads_nothing(schema: str, settings: Settings) -> None:
    """A query for what changed since the last load may find nothing new."""
    query = f'SELECT * FROM "{schema}"."shop orders" WHERE false'
    summary = ingest_postgres(settings, DSN, MAPPING, query=query, options=options())
    assert (summary.status, summary.rows_read, summary.tables["orders"].source_rows) == (
        "loaded",
        0,
        0,
    )
