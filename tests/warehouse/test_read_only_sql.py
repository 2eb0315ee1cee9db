"""The checks behind the SQL workspace, layer by layer, each on its own: a statement that
slipped past one layer is still stopped by the next."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import own
from omnikpi.warehouse.read_only_sql import (
    CheckedSql,
    QueryTimedOut,
    SqlRefused,
    bind_in_sandbox,
    check_tree,
    classify,
    parse_tree,
    run_checked,
)

ORDERS = {"orders": [("order_id", "VARCHAR"), ("net_amount", "DECIMAL(18,2)")]}


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("INSERT INTO orders VALUES ('o9', 1)", "found INSERT"),
        ("COPY orders TO 'x.csv'", "found COPY"),
        ("SELECT 1; DROP TABLE orders", "found 2 (SELECT, DROP)"),
        ("EXPORT DATABASE 'dump'", "found EXPORT DATABASE"),
        ("IMPORT DATABASE 'dump'", "found IMPORT DATABASE"),
    ],
)
def test_layer_1_takes_exactly_one_select(sql: str, found: str) -> None:
    with pytest.raises(
        SqlRefused, match=re.escape(f"only one SELECT statement is allowed; {found}")
    ):
        classify(sql)


def test_layer_1_keeps_the_statement_without_its_semicolon() -> None:
    assert (
        classify("  WITH a AS (SELECT 1) SELECT * FROM a;  ")
        == "WITH a AS (SELECT 1) SELECT * FROM a"
    )


def test_layer_2_names_the_tables_a_query_reads_and_not_its_ctes() -> None:
    sql = (
        "WITH big AS (SELECT * FROM orders WHERE net_amount > 10) "
        "SELECT count(*) FROM big JOIN ORDERS o USING (order_id) "
        "WHERE o.order_id IN (SELECT order_id FROM main.orders)"
    )
    assert check_tree(parse_tree(sql), ORDERS) == ("orders",)


def test_layer_2_refuses_a_path_even_when_a_cte_is_called_so() -> None:
    # Outside the CTE's scope DuckDB would read the file of that name.
    sql = "SELECT * FROM (WITH \"/etc/passwd\" AS (SELECT 1) SELECT 1), '/etc/passwd'"
    with pytest.raises(SqlRefused, match='"/etc/passwd" is a file or URL'):
        check_tree(parse_tree(sql), ORDERS)


def test_layer_3_binds_with_file_access_off() -> None:
    # Were read_csv allowed by layer 2, DuckDB itself refuses it in the sandbox.
    with pytest.raises(SqlRefused, match="reads files or the network"):
        bind_in_sandbox("SELECT * FROM read_csv('/etc/passwd')", {})
    with pytest.raises(SqlRefused, match="Table with name /etc/passwd does not exist"):
        bind_in_sandbox("SELECT * FROM '/etc/passwd'", {})  # no replacement scan of the file
    bind_in_sandbox("SELECT sum(net_amount) FROM orders", ORDERS)  # a plain query binds


def test_layer_3_stands_text_in_for_a_type_it_does_not_know() -> None:
    shapes = {"stores": [("store_id", "VARCHAR"), ("area", "SHOP_POINT")]}
    bind_in_sandbox("SELECT store_id FROM stores", shapes)
    with pytest.raises(SqlRefused, match="cannot run"):
        bind_in_sandbox("SELECT nope FROM stores", shapes)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse.create(tmp_path / "shop.duckdb")
    warehouse.run_sql("CREATE TABLE notes (note VARCHAR)")
    warehouse.run_sql("INSERT INTO notes VALUES ('a'), ('b'), ('c')")
    return warehouse


def test_the_run_itself_cannot_write_even_unchecked(warehouse: Warehouse) -> None:
    # The last layer: a write handed straight to the runner fails in its READ ONLY
    # transaction, and the table keeps its rows.
    unchecked = CheckedSql("DELETE FROM notes", ())
    with warehouse._side_cursor() as cursor, pytest.raises(SqlRefused, match="read-only"):
        run_checked(cursor, unchecked, max_rows=10, timeout_seconds=5, time_zone="UTC")
    assert warehouse.fetch_value("SELECT count(*) FROM notes") == 3


def test_rows_beyond_the_limit_are_cut_and_flagged(warehouse: Warehouse) -> None:
    cut = warehouse.run_read_only(
        "SELECT note FROM notes ORDER BY note", max_rows=2, timeout_seconds=5
    )
    assert cut.rows == (("a",), ("b",))
    assert cut.truncated
    assert cut.columns == ("note",)
    whole = warehouse.run_read_only(
        "SELECT note FROM notes ORDER BY note", max_rows=3, timeout_seconds=5
    )
    assert whole.rows == (("a",), ("b",), ("c",))
    assert not whole.truncated


def test_columns_named_alike_keep_both_values(warehouse: Warehouse) -> None:
    result = warehouse.run_read_only("SELECT 1 AS a, 'x' AS a", max_rows=5, timeout_seconds=5)
    assert result.columns == ("a", "a")
    assert result.rows == ((1, "x"),)
    assert result.numeric == (True, False)


def test_a_slow_query_is_interrupted(warehouse: Warehouse) -> None:
    slow = "SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3"
    with pytest.raises(QueryTimedOut, match=r"longer than 0\.3 seconds"):
        warehouse.run_read_only(slow, max_rows=5, timeout_seconds=0.3)
    # The connection is usable afterwards.
    assert warehouse.run_read_only("SELECT 42", max_rows=1, timeout_seconds=5).rows == ((42,),)


def test_python_variables_are_not_tables(warehouse: Warehouse) -> None:
    import pandas as pd

    secret_frame = pd.DataFrame({"password": ["hunter2"]})
    assert len(secret_frame) == 1
    with pytest.raises(SqlRefused, match='no table "secret_frame"'):
        warehouse.run_read_only("SELECT * FROM secret_frame", max_rows=5, timeout_seconds=5)


def test_while_a_server_owns_the_file_a_query_reads_and_the_owner_still_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "served.duckdb"
    Warehouse.create(path).close()
    with own(path) as owner:
        owner.run_sql("CREATE TABLE notes (note VARCHAR)")
        owner.run_sql("INSERT INTO notes VALUES ('a')")
        with Warehouse.open(path, read_only=True) as reader:
            result = reader.run_read_only(
                "SELECT count(*) FROM notes", max_rows=5, timeout_seconds=5
            )
            assert result.rows == ((1,),)
            unchecked = CheckedSql("INSERT INTO notes VALUES ('b')", ())
            with reader._side_cursor() as cursor, pytest.raises(SqlRefused, match="read-only"):
                run_checked(cursor, unchecked, max_rows=5, timeout_seconds=5, time_zone="UTC")
        owner.run_sql("INSERT INTO notes VALUES ('c')")
        assert owner.fetch_value("SELECT string_agg(note, '' ORDER BY note) FROM notes") == "ac"
