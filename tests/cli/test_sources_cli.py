"""`omnikpi sources allow-raw-identifiers / forbid-raw-identifiers / list`: an admin's
allowance for a source's personal identifiers in clear, audited; `omnikpi ingest` refuses
them without it (exit 2, one line naming the file, column and fix) and says so with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, AuditEvent, app_state_path
from omnikpi.auth.audit import audit_entries
from tests.conftest import run_cli
from tests.ingest.conftest import write

MAPPING = """
name: crm
dates: {format: "%Y-%m-%d", time_zone: Europe/Berlin}
tables:
  customers:
    columns:
      customer_id: Email
      created_at: Joined
      acquisition_channel: {value: web}
      gender: {value: unknown}
      is_member: {value: false}
      is_business: {value: false}
"""
PEOPLE = "Email,Joined\nhana.seo@example.org,2025-01-05\nlukas.brandt@example.org,2025-01-06\n"


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    return tmp_path / "shop.duckdb"


def test_allow_list_and_forbid_are_audited(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = str(warehouse)
    code = run_cli(
        "sources", "allow-raw-identifiers", "crm", "--column", "Email", "--reason", "DPA #12",
        "-w", w,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Source crm may store personal identifiers in clear: Email (audited" in out

    assert run_cli("sources", "list", "--format", "json", "-w", w) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["source"], r["columns"], r["reason"]) for r in listed] == [
        ("crm", "Email", "DPA #12")
    ]
    assert listed[0]["allowed_by"].startswith("cli:")

    assert run_cli("sources", "forbid-raw-identifiers", "crm", "-w", w) == 0
    assert "may no longer store personal identifiers in clear" in capsys.readouterr().out
    assert run_cli("sources", "forbid-raw-identifiers", "crm", "-w", w) == 0
    assert "had no allowance" in capsys.readouterr().out

    store = AppStateStore.open(app_state_path(warehouse))
    entries = audit_entries(store)
    assert [(e.event, e.subject) for e in entries] == [
        (AuditEvent.RAW_IDENTIFIERS_FORBIDDEN, "source crm"),
        (AuditEvent.RAW_IDENTIFIERS_ALLOWED, "source crm"),
    ]
    assert entries[1].purpose == "DPA #12"


def test_ingest_refuses_then_loads_raw_once_allowed(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = str(warehouse)
    mapping = write(tmp_path / "crm.yaml", MAPPING)
    people = write(tmp_path / "people.csv", PEOPLE)

    code = run_cli("ingest", "--mapping", str(mapping), str(people), "-w", w)
    err = capsys.readouterr().err
    assert code == 2
    assert 'people.csv row 1: column "Email" (→ customers.customer_id) holds e-mail' in err
    assert "hash: true" in err
    assert "omnikpi sources allow-raw-identifiers crm" in err

    assert run_cli("sources", "allow-raw-identifiers", "crm", "-w", w) == 0
    capsys.readouterr()
    code = run_cli("ingest", "--mapping", str(mapping), str(people), "-w", w)
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert code == 0
    assert (
        "Note: raw identifiers stored in clear, as an admin allowed for source crm: "
        'customers.customer_id ← "Email" (e-mail addresses)'
    ) in out
