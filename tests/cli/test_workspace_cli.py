"""`omnikpi workspace sql`: the same read-only checks, limits and audit as the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, app_state_path
from omnikpi.auth.audit import AuditEvent, audit_entries
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workspace-cli") / "shop.duckdb"
    with Warehouse.create(path) as created:
        created.run_sql("CREATE TABLE notes (note VARCHAR, n INTEGER)")
        created.run_sql("INSERT INTO notes VALUES ('a', 1), ('b', 2), ('c', 3)")
    return path


def test_a_select_prints_its_rows_and_is_audited(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT note, n, n * 2 AS n FROM notes ORDER BY note"
    code = run_cli(
        "workspace", "sql", sql, "--limit", "2", "--format", "json", "--warehouse", str(warehouse)
    )
    assert code == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [
        {"note": "a", "n": 1, "n_2": 2},
        {"note": "b", "n": 2, "n_2": 4},
    ]
    assert "First 2 rows shown" in captured.err
    store = AppStateStore.open(app_state_path(warehouse))
    (entry,) = audit_entries(store, event=AuditEvent.ADHOC_SQL)
    assert entry.subject == sql
    assert entry.row_count == 2
    assert entry.username is not None
    assert entry.username.startswith("cli:")


def test_a_write_is_refused_with_exit_code_2(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("workspace", "sql", "DELETE FROM notes", "--warehouse", str(warehouse))
    assert code == 2
    assert "only one SELECT statement is allowed; found DELETE" in capsys.readouterr().err
    with Warehouse.open(warehouse, read_only=True) as opened:
        assert opened.fetch_value("SELECT count(*) FROM notes") == 3
