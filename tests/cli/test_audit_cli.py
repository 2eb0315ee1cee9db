"""`omnikpi audit list` filters and formats the audit log; `omnikpi audit verify` exits 1
naming the first entry changed or removed in the app-state file."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from omnikpi.auth import AppStateStore, AuditEvent, app_state_path, record_audit
from tests.conftest import run_cli

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse path whose app-state store holds four entries by two people."""
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    path = tmp_path / "shop.duckdb"
    store = AppStateStore.open(app_state_path(path))
    entries = [
        (AuditEvent.CUSTOMER_READ, "lee", "customer C001", 1, None),
        (AuditEvent.CUSTOMER_EXPORT, "lee", "segment vip", 40, "@win-back"),
        (AuditEvent.SIGN_IN_FAILED, "mallory", None, None, None),
        (AuditEvent.ROLE_CHANGED, "cli:ops", "lee", None, None),
    ]
    for day, (event, who, subject, rows, purpose) in enumerate(entries):
        record_audit(
            store,
            event,
            f"entry {day + 1}",
            username=who,
            address="10.0.0.5",
            subject=subject,
            row_count=rows,
            purpose=purpose,
            now=NOW + timedelta(days=day),
        )
    return path


def listed(warehouse: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run_cli("audit", "list", *args, "--format", "json", "--warehouse", str(warehouse)) == 0
    return list(json.loads(capsys.readouterr().out))


def test_list_shows_every_entry_newest_first_with_its_hash(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = listed(warehouse, capsys)
    assert [row["entry_id"] for row in rows] == [4, 3, 2, 1]
    assert rows[2] == {
        "entry_id": 2,
        "occurred_at": "2025-06-02T09:00:00+00:00",
        "event": "customer_export",
        "username": "lee",
        "actor_role": None,
        "address": "10.0.0.5",
        "subject": "segment vip",
        "row_count": 40,
        "purpose": "@win-back",
        "detail": "entry 2",
        "entry_hash": rows[2]["entry_hash"],
    }
    assert len(rows[2]["entry_hash"]) == 64


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        (["--user", "LEE"], [2, 1]),
        (["--action", "customer_export"], [2]),
        (["--since", "2025-06-03"], [4, 3]),
        (["--since", "2025-06-02", "--user", "lee"], [2]),
        (["--limit", "1"], [4]),
    ],
)
def test_list_filters(
    warehouse: Path, capsys: pytest.CaptureFixture[str], args: list[str], ids: list[int]
) -> None:
    assert [row["entry_id"] for row in listed(warehouse, capsys, *args)] == ids


def test_list_as_csv_neutralises_formulas_and_as_a_table_names_the_columns(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ("audit", "list", "--action", "customer_export", "--warehouse", str(warehouse))
    assert run_cli(*args, "--format", "csv") == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["purpose"], row["row_count"], row["subject"]) == ("'@win-back", "40", "segment vip")
    assert run_cli(*args) == 0
    table = capsys.readouterr().out
    assert "Audit log" in table
    assert "row_count" in table
    assert "segment vip" in table
    assert "entry_hash" not in table


def test_a_bad_filter_is_one_line_and_exit_2(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("audit", "list", "--action", "export", "--warehouse", str(warehouse)) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith('Error: action "export" is not valid (allowed: sign_in_failed')
    assert "\n" not in error


def test_verify_passes_an_intact_log(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("audit", "verify", "--warehouse", str(warehouse)) == 0
    assert "audit log intact: 4 entries checked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            "UPDATE audit_log SET row_count = 4 WHERE entry_id = 2",
            "entry 2 was changed after it was written",
        ),
        ("DELETE FROM audit_log WHERE entry_id = 3", "entry 3 was removed"),
    ],
)
def test_verify_exits_1_naming_the_first_broken_entry(
    warehouse: Path, capsys: pytest.CaptureFixture[str], tamper: str, message: str
) -> None:
    with sqlite3.connect(app_state_path(warehouse)) as connection:
        connection.execute(tamper)
    capsys.readouterr()
    assert run_cli("audit", "verify", "--warehouse", str(warehouse)) == 1
    assert message in capsys.readouterr().err
