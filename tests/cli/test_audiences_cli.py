"""`omnikpi audiences` on a copy of the tiny retailer (tests/customers/tiny_retailer.py):
save, preview, list, show, build, export (audited, with purpose), profile and readout;
errors in one line with exit code 2."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, app_state_path, audit_entries
from omnikpi.auth.audit import AuditEvent
from omnikpi.ingest.pseudonyms import pseudonym
from omnikpi.services.customers import refresh_customer_profiles
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer

KEY = "cli-key"
#: Bought in the last 90 days (A, B, C, D, I), none of them new (C): A, B, D, I.
BUYERS = """
name: Recent buyers
channel: none
rule:
  all:
    - bought: {days: 90}
    - not: {segment: new}
holdout: {fraction: 0.5, seed: 3}
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_tiny_retailer(tmp_path_factory.mktemp("audiences-cli") / "tiny.duckdb")
    with Warehouse.open(path) as warehouse:
        refresh_customer_profiles(warehouse, Settings(warehouse=path), AS_OF)
        warehouse.run_sql(
            "UPDATE customers SET phone_hash = ? WHERE customer_id = 'B'",
            [pseudonym("+821012345678", KEY)],
        )
    return path


@pytest.fixture
def warehouse(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    path = tmp_path / "tiny.duckdb"
    shutil.copy(template, path)
    return path


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert run_cli(*args, "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_save_preview_build_export_readout(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ("--warehouse", str(warehouse))
    rule = tmp_path / "buyers.yaml"
    rule.write_text(BUYERS)
    assert cli_json(capsys, "audiences", "preview", str(rule), *w) == {
        "size": 4, "as_of": "2025-06-30", "channel": "none",
    }  # fmt: skip
    saved = cli_json(capsys, "audiences", "save", str(rule), *w)
    assert isinstance(saved, dict)
    assert (saved["audience_id"], saved["version"]) == ("recent-buyers", 1)
    listed = cli_json(capsys, "audiences", "list", *w)
    assert isinstance(listed, list)
    assert [a["audience_id"] for a in listed] == ["recent-buyers"]

    built = cli_json(capsys, "audiences", "build", "recent-buyers", *w)
    assert built == {
        "audience_id": "recent-buyers", "version": 1, "as_of": "2025-06-30",
        "treated": 2, "holdout": 2,
    }  # fmt: skip
    out = tmp_path / "treated.csv"
    code = run_cli(
        "audiences", "export", "recent-buyers", "--purpose", "July CRM send", "-o", str(out), *w
    )
    assert code == 0
    treated = out.read_text().splitlines()
    assert treated[0] == "customer_id"
    assert len(treated) == 3
    assert set(treated[1:]) < {"A", "B", "D", "I"}
    assert "2 rows exported" in capsys.readouterr().err
    store = AppStateStore.open(app_state_path(warehouse))
    export = audit_entries(store)[0]
    assert (export.event, export.purpose, export.row_count) == (
        AuditEvent.CUSTOMER_EXPORT, "July CRM send", 2,
    )  # fmt: skip
    assert export.username.startswith("cli:")

    shown = cli_json(capsys, "audiences", "show", "recent-buyers", *w)
    assert isinstance(shown, dict)
    assert (shown["treated"], shown["holdout"], shown["as_of"]) == (2, 2, "2025-06-30")

    readout = cli_json(
        capsys, "audiences", "readout", "recent-buyers", "--start", "2025-06-01",
        "--end", "2025-06-30", "--cost", "10000", *w,
    )  # fmt: skip
    assert isinstance(readout, dict)
    assert (readout["treated"], readout["holdout"]) == (2, 2)
    # June: A 30,000 and B 50,000 bought; D and I did not
    june = {"A": 30_000.0, "B": 50_000.0, "D": 0.0, "I": 0.0}
    measures = {m["measure"]: m for m in readout["measures"]}
    treated_mean = sum(june[c] for c in treated[1:]) / 2
    assert measures["revenue_per_customer"]["treated"] == treated_mean
    assert run_cli("audiences", "readout", "recent-buyers", "--start", "2025-06-01",
                   "--end", "2025-06-30", *w) == 0  # fmt: skip
    assert "incremental revenue" in capsys.readouterr().out


def test_hashed_export_from_a_contact_list(
    warehouse: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = ("--warehouse", str(warehouse))
    rule = tmp_path / "buyers.yaml"
    rule.write_text(BUYERS.replace("0.5", "0"))
    assert run_cli("audiences", "save", str(rule), *w) == 0
    assert run_cli("audiences", "build", "recent-buyers", *w) == 0
    contacts = tmp_path / "crm.csv"
    contacts.write_text("Email,Phone\n,+82 10-1234-5678\nnobody@example.com,\n")
    monkeypatch.setenv("OMNIKPI_PSEUDONYM_KEY", KEY)
    capsys.readouterr()
    code = run_cli(
        "audiences", "export", "recent-buyers", "--purpose", "ads seed", "--kind", "hashed",
        "--contacts", str(contacts), *w,
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    phone = hashlib.sha256(b"+821012345678").hexdigest()
    assert captured.out.splitlines() == ["email_sha256,phone_sha256", f",{phone}"]
    assert "3 members without a contact" in captured.err


def test_errors_are_one_line_with_exit_code_2(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ("--warehouse", str(warehouse))
    rule = tmp_path / "bad.yaml"
    rule.write_text(BUYERS.replace("days: 90", "days: 0"))
    capsys.readouterr()
    assert run_cli("audiences", "preview", str(rule), *w) == 2
    assert "rule.all[0].bought.days: 0 must be a whole number ≥ 1" in capsys.readouterr().err
    assert run_cli("audiences", "show", "nope", *w) == 2
    assert 'no audience "nope"' in capsys.readouterr().err
    rule.write_text(BUYERS)
    assert run_cli("audiences", "save", str(rule), *w) == 0
    assert run_cli("audiences", "build", "recent-buyers", *w) == 0
    capsys.readouterr()
    assert run_cli("audiences", "export", "recent-buyers", "--purpose", " ", *w) == 2
    assert "needs a purpose" in capsys.readouterr().err
