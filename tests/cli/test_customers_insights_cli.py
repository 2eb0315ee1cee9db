"""`omnikpi customers top|affinity` on the tiny retailer: the profile and the rules as JSON,
CSV and a table, the top-customer list audited, bad options in one line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, app_state_path, audit_entries
from omnikpi.auth.audit import AuditEvent
from tests.conftest import run_cli
from tests.customers.tiny_retailer import build_tiny_retailer

HALF = "2025-01-01..2025-06-30"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_retailer(tmp_path_factory.mktemp("tiny-cli") / "tiny.duckdb")


@pytest.fixture
def warehouse(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    return Path(shutil.copy(template, tmp_path / "tiny.duckdb"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_cli("customers", *args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_top_prints_the_profile_as_json(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "top", "--window", HALF, "--format", "json", "--warehouse", str(warehouse)
    )
    assert code == 0
    document = json.loads(out)
    # Eight buyers, the top two (B, A) hold 164,000 of 235,000 gross profit.
    assert (document["buyers"], document["top_customers"]) == (8, 2)
    assert document["top_gross_profit_share"] == pytest.approx(164_000 / 235_000)
    assert document["window_start"] == "2025-01-01"
    cells = {(r["facet"], r["value"]): r for r in document["rows"]}
    assert cells["membership", "member: silver"]["top_share"] == 0.5


def test_top_list_is_audited_and_prints_csv(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "top", "--list", "--window", HALF, "--format", "csv", "--warehouse", str(warehouse)
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["rank"], r["customer_id"]) for r in rows] == [("1", "B"), ("2", "A")]
    store = AppStateStore.open(app_state_path(warehouse))
    (read,) = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert read.row_count == 2


def test_affinity_prints_rules_as_a_table(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "affinity", "--basis", "customer", "--min-support", "0", "--window", HALF,
        "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 0
    assert "makeup" in out
    assert "skincare" in out
    assert "baskets: 8" in out
    code, out, _ = run(
        capsys, "affinity", "--basis", "customer", "--min-support", "0", "--window", HALF,
        "--format", "json", "--warehouse", str(warehouse),
    )  # fmt: skip
    rules = {(r["antecedent"], r["consequent"]): r for r in json.loads(out)["rows"]}
    # Lift = (1/8) / (1/8 x 8/8) = 1 (A alone bought makeup; everyone skincare).
    assert rules["makeup", "skincare"]["lift"] == pytest.approx(1.0)


def test_bad_options_fail_in_one_line(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "affinity", "--level", "brand", "--warehouse", str(warehouse))
    assert code == 2
    assert 'level "brand" is not valid' in err
    code, _, err = run(capsys, "top", "--window", "3w", "--warehouse", str(warehouse))
    assert code == 2
    assert "window" in err
