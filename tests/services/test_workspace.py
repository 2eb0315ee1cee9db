"""The analysts' SQL workspace: it reads, and only reads, the warehouse; every run is
audited and kept in the user's history; only analysts and admins may use it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, MemberRole, Role, UserRole
from omnikpi.auth.audit import Actor, AuditEvent, audit_entries
from omnikpi.auth.permissions import ActionDenied
from omnikpi.services.workspace import (
    QueryTimedOut,
    SqlRefused,
    chart_columns,
    history_entry,
    result_csv,
    run_sql,
    workspace_history,
)
from omnikpi.settings import Settings, load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import file_version

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ANALYST = Actor("mina", UserRole(Role.ANALYST))
#: Four orders: web 10.00 + 30.50 = 40.50, store 20.00, app 5.25.
ORDERS = [
    ("o1", "c1", "web", "10.00"),
    ("o2", "c2", "web", "30.50"),
    ("o3", "c1", "store", "20.00"),
    ("o4", "c3", "app", "5.25"),
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("workspace") / "shop.duckdb"
    with Warehouse.create(path) as warehouse:
        for order_id, customer_id, channel, amount in ORDERS:
            warehouse.run_sql(
                "INSERT INTO orders (order_id, customer_id, channel, placed_at, status, "
                "status_changed_at, fulfilment, currency, gross_amount, discount_amount, "
                "net_amount, shipping_amount, tax_amount, total_amount) VALUES "
                "(?, ?, ?, TIMESTAMPTZ '2025-06-01 10:00:00+00', 'delivered', "
                "TIMESTAMPTZ '2025-06-02 10:00:00+00', 'delivery', 'KRW', ?, 0, ?, 0, 0, ?)",
                [order_id, customer_id, channel, amount, amount, amount],
            )
    return load_settings(warehouse=path)


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    return AppStateStore.open(tmp_path / "state.sqlite")


def test_an_analyst_gets_the_rows_of_a_select(settings: Settings, store: AppStateStore) -> None:
    sql = "SELECT channel, sum(net_amount) AS revenue FROM orders GROUP BY channel ORDER BY channel"
    result = run_sql(settings, store, ANALYST, sql, now=NOW)
    assert result.columns == ("channel", "revenue")
    assert [(c, float(v)) for c, v in result.rows] == [
        ("app", 5.25),
        ("store", 20.0),
        ("web", 40.5),
    ]
    assert result.numeric == (False, True)
    assert not result.truncated
    assert result.tables == ("orders",)


FORBIDDEN = [
    ("INSERT INTO orders (order_id) VALUES ('x')", "found INSERT"),
    ("UPDATE orders SET net_amount = 0", "found UPDATE"),
    ("DELETE FROM orders", "found DELETE"),
    ("CREATE TABLE stolen AS SELECT * FROM orders", "found CREATE"),
    ("DROP TABLE orders", "found DROP"),
    ("ALTER TABLE orders ADD COLUMN x INT", "found ALTER"),
    ("ATTACH '/tmp/other.duckdb' AS other", "found ATTACH"),
    ("DETACH other", "found DETACH"),
    ("COPY orders TO '/tmp/orders.csv'", "found COPY"),
    ("INSTALL httpfs", "found INSTALL"),
    ("LOAD httpfs", "found LOAD"),
    ("PRAGMA enable_profiling", "found PRAGMA"),
    ("PRAGMA version", "found PRAGMA"),
    ("SET enable_external_access = true", "found SET"),
    ("RESET threads", "found RESET"),
    ("CALL pragma_version()", "found CALL"),
    ("EXPORT DATABASE '/tmp/dump'", "found EXPORT DATABASE"),
    ("IMPORT DATABASE '/tmp/dump'", "found IMPORT DATABASE"),
    ("BEGIN TRANSACTION", "found BEGIN"),
    ("CHECKPOINT", "found CHECKPOINT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv reads files"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto reads files"),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet reads files"),
    ("SELECT * FROM read_json('/tmp/x.json')", "read_json reads files"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text reads files"),
    ("SELECT * FROM glob('/etc/*')", "glob reads files"),
    ("SELECT * FROM parquet_metadata('/tmp/x.parquet')", "parquet_metadata reads files"),
    ("SELECT * FROM sqlite_scan('/tmp/x.db', 't')", "sqlite_scan reads another database"),
    ("SELECT * FROM postgres_scan('host=x', 'public', 't')", "postgres_scan reads another"),
    ("SELECT * FROM query('DROP TABLE orders')", "table function query is not allowed"),
    ("SELECT * FROM duckdb_settings()", "table function duckdb_settings is not allowed"),
    ("SELECT * FROM 'http://example.com/x.csv'", "is a file or URL"),
    ("SELECT * FROM 's3://bucket/x.parquet'", "is a file or URL"),
    ("FROM '/etc/passwd'", '"/etc/passwd" is a file or URL'),
    ('SELECT * FROM "/etc/passwd"', '"/etc/passwd" is a file or URL'),
    ("SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))", "read_csv reads files"),
    ("SELECT * FROM orders WHERE order_id IN (FROM glob('*'))", "glob reads files"),
    ("WITH x AS (SELECT * FROM read_parquet('a.parquet')) SELECT * FROM x", "read_parquet"),
    ("WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x", "not valid SQL"),
    ("WITH x AS (SELECT 1) SELECT * FROM x; DROP TABLE orders", "found 2 (SELECT, DROP)"),
    ("SELECT 1; DROP TABLE orders", "found 2 (SELECT, DROP)"),
    ("SELECT 1; INSERT INTO orders (order_id) VALUES ('x')", "found 2 (SELECT, INSERT)"),
    ("DESCRIBE SELECT * FROM read_csv('/etc/passwd')", "read_csv reads files"),
    ("SELECT order_id FROM orders UNION ALL FROM '/etc/passwd'", "is a file or URL"),
    ("FROM (VALUES ('/etc/passwd')) t(p), read_text(t.p)", "read_text reads files"),
    ('SELECT * FROM main."/etc/passwd"', "is a file or URL"),
    ("SELECT * FROM pg_catalog.pg_class", 'schema "pg_catalog" is not readable'),
    ("SELECT * FROM other.main.orders", "names another database"),
    ("SELECT * FROM temp.main.orders", "names another database"),
    ("SELECT nextval('seq')", "nextval changes or reveals"),
    ("SELECT current_setting('enable_external_access')", "current_setting changes or reveals"),
    ("SELECT * FROM customers_secret", 'no table "customers_secret"'),
    ("", "the query is empty"),
]


@pytest.mark.parametrize(
    ("sql", "message"), FORBIDDEN, ids=[s[:40] or "empty" for s, _ in FORBIDDEN]
)
def test_the_console_refuses_writes_settings_files_and_networks(
    settings: Settings, store: AppStateStore, sql: str, message: str
) -> None:
    with pytest.raises(SqlRefused, match=re.escape(message)):
        run_sql(settings, store, ANALYST, sql, now=NOW)


def test_nothing_changed_in_the_warehouse_after_every_refusal(
    settings: Settings, store: AppStateStore, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = file_version(settings.warehouse)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        tables, counts = warehouse.table_set(), warehouse.row_counts()
    writes = [sql for sql, message in FORBIDDEN if message.startswith("found")]
    assert len(writes) == 23
    for sql in writes:
        with pytest.raises(SqlRefused):
            run_sql(settings, store, ANALYST, sql.replace("/tmp/", f"{out}/"), now=NOW)
    assert file_version(settings.warehouse) == before
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        assert warehouse.table_set() == tables
        assert warehouse.row_counts() == counts
    assert list(out.iterdir()) == []  # no file was written (COPY, EXPORT)


def test_a_slow_query_times_out_and_is_recorded(settings: Settings, store: AppStateStore) -> None:
    slow = "SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3"
    with pytest.raises(QueryTimedOut, match=r"longer than 0\.3 seconds"):
        run_sql(settings, store, ANALYST, slow, timeout_seconds=0.3, now=NOW)
    (entry,) = workspace_history(store, ANALYST)
    assert entry.status == "timed_out"
    assert entry.sql == slow
    assert entry.row_count is None


def test_the_row_limit_keeps_the_first_rows(settings: Settings, store: AppStateStore) -> None:
    result = run_sql(
        settings, store, ANALYST, "SELECT order_id FROM orders ORDER BY 1", row_limit=3
    )
    assert result.rows == (("o1",), ("o2",), ("o3",))
    assert result.truncated
    whole = run_sql(settings, store, ANALYST, "SELECT order_id FROM orders ORDER BY 1", row_limit=4)
    assert len(whole.rows) == 4
    assert not whole.truncated
    assert [e.truncated for e in workspace_history(store, ANALYST)] == [False, True]


def test_every_run_is_audited_with_its_text_and_rows(
    settings: Settings, store: AppStateStore
) -> None:
    run_sql(settings, store, ANALYST, "SELECT * FROM orders WHERE channel = 'web'", now=NOW)
    with pytest.raises(SqlRefused):
        run_sql(settings, store, ANALYST, "DELETE FROM orders", now=NOW)
    refused, ran = audit_entries(store, event=AuditEvent.ADHOC_SQL)
    assert (ran.username, ran.actor_role, ran.row_count) == ("mina", "analyst", 2)
    assert ran.subject == "SELECT * FROM orders WHERE channel = 'web'"
    assert ran.detail == "page run_adhoc_sql: ad-hoc SQL"
    assert (refused.subject, refused.row_count) == ("DELETE FROM orders", 0)
    assert refused.detail.startswith("failed ")
    assert "SqlRefused" in refused.detail
    history = workspace_history(store, ANALYST)
    assert [(e.status, e.row_count) for e in history] == [("refused", None), ("ok", 2)]
    assert history[0].message is not None
    assert "found DELETE" in history[0].message


@pytest.mark.parametrize("role", [Role.EXECUTIVE, Role.TEAM_LEAD, Role.BU_USER, Role.MEMBER])
def test_other_roles_are_refused_and_the_refusal_audited(
    settings: Settings, store: AppStateStore, role: Role
) -> None:
    actor = Actor(
        "lee", UserRole(role, MemberRole.CS_AGENT) if role is Role.MEMBER else UserRole(role)
    )
    with pytest.raises(ActionDenied):
        run_sql(settings, store, actor, "SELECT 1", now=NOW)
    (denied,) = audit_entries(store, event=AuditEvent.ACCESS_DENIED)
    assert denied.username == "lee"
    assert denied.subject == "SELECT 1"
    with pytest.raises(ActionDenied):
        workspace_history(store, actor)


def test_history_is_each_users_own(settings: Settings, store: AppStateStore) -> None:
    run_sql(settings, store, ANALYST, "SELECT 1 AS one", now=NOW)
    admin = Actor("root", UserRole(Role.ADMIN))
    run_sql(settings, store, admin, "SELECT 2 AS two", now=NOW)
    (mine,) = workspace_history(store, ANALYST)
    assert mine.sql == "SELECT 1 AS one"
    assert mine.ran_at == NOW
    assert history_entry(store, ANALYST, mine.run_id) == mine
    (theirs,) = workspace_history(store, admin)
    assert history_entry(store, ANALYST, theirs.run_id) is None


def test_csv_and_chart_of_a_result(settings: Settings, store: AppStateStore) -> None:
    sql = (
        "SELECT channel, count(*) AS orders, '=1+1' AS formula FROM orders "
        "GROUP BY channel ORDER BY channel"
    )
    result = run_sql(settings, store, ANALYST, sql, now=NOW)
    assert chart_columns(result) == (0, 1)
    lines = result_csv(result).splitlines()
    assert lines[0] == "channel,orders,formula"
    assert lines[1] == "app,1,'=1+1"  # a cell that would start a formula is text
    assert lines[3] == "web,2,'=1+1"
    one_row = run_sql(settings, store, ANALYST, "SELECT 'web' AS channel, 3 AS n", now=NOW)
    assert chart_columns(one_row) is None  # a single bar says nothing a table does not
