"""`/workspace/sql` on the simulated retailer: an analyst runs a SELECT and sees the
warehouse's own answer as a table, a chart and a CSV, with their history; a refused
statement is a 400 naming why, and changes nothing; other roles get 403."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole
from omnikpi.auth.audit import AuditEvent, audit_entries
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import file_version
from tests.web.conftest import csrf_cookie_token

ANALYST = UserRole(Role.ANALYST)
LEAD = UserRole(Role.TEAM_LEAD)
PAGE = "/workspace/sql"
BY_CHANNEL = (
    "SELECT channel, count(*) AS orders FROM orders WHERE status <> 'cancelled' "
    "GROUP BY channel ORDER BY channel"
)


def run(app: FastAPI, client: TestClient, sql: str, path: str = PAGE, **form: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_cookie_token(app, client), "sql": sql, **form}
    return client.post(path, data=data)


def table_rows(page: str) -> list[list[str]]:
    body = page.split('id="workspace-rows"', 1)[1].split("</table>", 1)[0]
    return [
        [html.unescape(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    ]


@pytest.mark.parametrize("role", [LEAD, UserRole(Role.EXECUTIVE), UserRole(Role.BU_USER)])
def test_other_roles_get_403_and_no_menu_entry(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    client = signed_in_clients[role]
    assert client.get(PAGE).status_code == 403
    assert run(web_app, client, "SELECT 1").status_code == 403
    assert 'href="/workspace/sql"' not in client.get("/home").text


def test_an_analyst_gets_the_warehouses_answer_as_table_and_chart(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], sim_path: Path
) -> None:
    client = signed_in_clients[ANALYST]
    assert 'href="/workspace/sql"' in client.get("/home").text
    response = run(web_app, client, BY_CHANNEL)
    assert response.status_code == 200, response.text
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        expected = warehouse.fetch_rows(BY_CHANNEL)
    assert len(expected) >= 2
    rows = table_rows(response.text)
    assert [row[0] for row in rows] == [channel for channel, _ in expected]
    counts = [int(re.sub(r"\D", "", row[1])) for row in rows]
    assert counts == [count for _, count in expected]
    chart = json.loads(
        html.unescape(re.search(r"data-chart='([^']+)'", response.text).group(1))  # type: ignore[union-attr]
    )
    assert chart["labels"] == [channel for channel, _ in expected]
    assert chart["series"][0]["values"] == [count for _, count in expected]


def test_the_row_limit_says_first_rows_and_the_csv_has_them(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], sim_path: Path
) -> None:
    client = signed_in_clients[ANALYST]
    sql = "SELECT order_id, net_amount FROM orders ORDER BY order_id"
    page = run(web_app, client, sql, row_limit="5")
    assert page.status_code == 200
    assert len(table_rows(page.text)) == 5
    assert 'id="workspace-csv"' in page.text
    download = run(web_app, client, sql, path="/workspace/sql.csv", row_limit="5")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "omnikpi-query.csv" in download.headers["content-disposition"]
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        expected = warehouse.fetch_rows(f"{sql} LIMIT 5")
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[0] == ["order_id", "net_amount"]
    assert [(r[0], float(r[1])) for r in lines[1:]] == [(o, float(a)) for o, a in expected]
    (entry, *_) = audit_entries(web_app.state.context.store, event=AuditEvent.ADHOC_SQL)
    assert entry.detail.endswith("CSV download")
    assert entry.row_count == 5


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP TABLE orders", "only one SELECT statement is allowed; found DROP"),
        ("SELECT 1; DELETE FROM orders", "found 2 (SELECT, DELETE)"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv reads files"),
        ("FROM '/etc/passwd'", '"/etc/passwd" is a file or URL'),
    ],
)
def test_a_refused_statement_is_a_400_that_says_why_and_changes_nothing(
    web_app: FastAPI,
    signed_in_clients: dict[UserRole, TestClient],
    sim_path: Path,
    sql: str,
    message: str,
) -> None:
    before = file_version(sim_path)
    response = run(web_app, signed_in_clients[ANALYST], sql)
    assert response.status_code == 400
    error = re.search(r'id="workspace-error">(.*?)</p>', response.text, re.S)
    assert error is not None
    assert message in html.unescape(error.group(1))
    assert file_version(sim_path) == before


def test_history_lists_the_users_queries_and_opens_one_again(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient]
) -> None:
    client = signed_in_clients[ANALYST]
    sql = "SELECT count(*) AS stores_history_check FROM stores"
    assert run(web_app, client, sql).status_code == 200
    page = client.get(PAGE).text
    history = page.split('id="workspace-history"', 1)[1]
    assert html.escape(sql) in history
    run_id = re.search(r'href="/workspace/sql\?run=(\d+)"', history).group(1)  # type: ignore[union-attr]
    again = client.get(f"{PAGE}?run={run_id}").text
    assert f">{html.escape(sql)}</textarea>" in again
    # Another analyst's run is not theirs to open: the form shows the example instead.
    assert (
        "stores_history_check"
        not in signed_in_clients[UserRole(Role.ADMIN)]
        .get(f"{PAGE}?run={run_id}")
        .text.split("<textarea", 1)[1]
        .split("</textarea>", 1)[0]
    )


def test_a_run_without_the_csrf_token_is_refused(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    response = signed_in_clients[ANALYST].post(PAGE, data={"sql": "SELECT 1"})
    assert response.status_code == 403
