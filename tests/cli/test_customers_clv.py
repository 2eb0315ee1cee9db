"""`omnikpi customers clv fit|predict` on the CDNOW sample loaded with its preset: the
published parameters as JSON, the table, audited runs, scores written, errors in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, app_state_path, audit_entries
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli
from tests.customers.cdnow import SAMPLE
from tests.prerequisites import require_cdnow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_cdnow(SAMPLE.parent)
    path = tmp_path_factory.mktemp("clv-cli") / "cdnow.duckdb"
    assert run_cli("ingest", "--preset", "cdnow", str(SAMPLE), "--warehouse", str(path)) == 0
    with Warehouse.open(path, read_only=True) as warehouse:
        assert warehouse.fetch_value("SELECT count(*) FROM orders") == 6919
    return path


@pytest.fixture
def warehouse(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    path = tmp_path / "cdnow.duckdb"
    shutil.copy(template, path)
    return path


def fit_json(warehouse: Path, capsys: pytest.CaptureFixture[str], model: str) -> dict[str, object]:
    capsys.readouterr()
    code = run_cli(
        "customers", "clv", "fit", "--model", model, "--calibration-end", "1997-09-30",
        "--time-unit", "week", "--format", "json", "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 0
    return dict(json.loads(capsys.readouterr().out))


def test_fit_json_keys_and_values(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bgnbd = fit_json(warehouse, capsys, "bgnbd")
    assert [k for k in bgnbd if k in ("r", "alpha", "a", "b", "log_likelihood")] == [
        "r", "alpha", "a", "b", "log_likelihood",
    ]  # fmt: skip
    values = {k: round(float(bgnbd[k]), 3) for k in ("r", "alpha", "a", "b")}  # type: ignore[arg-type]
    assert values == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(float(bgnbd["log_likelihood"]), 1) == -9582.4  # type: ignore[arg-type]
    pareto = fit_json(warehouse, capsys, "pareto")
    assert {k: round(float(pareto[k]), 2) for k in ("r", "alpha", "s", "beta")} == {  # type: ignore[arg-type]
        "r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67,
    }  # fmt: skip
    spend = fit_json(warehouse, capsys, "gamma-gamma")
    assert {k: round(float(spend[k]), 2) for k in ("p", "q", "gamma")} == {  # type: ignore[arg-type]
        "p": 6.25, "q": 3.74, "gamma": 15.44,
    }  # fmt: skip
    assert "log_likelihood" in pareto
    assert "log_likelihood" in spend
    # each fit read the customers' purchases: audited as the warehouse owner
    store = AppStateStore.open(app_state_path(warehouse))
    subjects = sorted(e.subject or "" for e in audit_entries(store))
    assert subjects == ["clv fit bgnbd", "clv fit gamma-gamma", "clv fit pareto"]
    assert all(e.username.startswith("cli:") for e in audit_entries(store))


def test_fit_table(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = run_cli(
        "customers", "clv", "fit", "--model", "bgnbd", "--calibration-end", "1997-09-30",
        "--warehouse", str(warehouse),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "0.2426" in out
    assert "4.4136" in out
    assert "log-likelihood -9,582.429" in out


def test_predict_writes_customer_scores(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = run_cli(
        "customers", "clv", "predict", "--horizon", "3y", "--margin-rate", "0.3",
        "--warehouse", str(warehouse),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "customer_scores: 2,357 customers as of 1998-06-30" in out
    with Warehouse.open(warehouse, read_only=True) as opened:
        rows = opened.fetch_row(
            "SELECT count(*), min(horizon_days), max(horizon_days), min(p_alive) > 0, "
            "max(p_alive) <= 1, min(clv_3y) >= 0 FROM customer_scores"
        )
    assert rows == (2357, 1096, 1096, True, True, True)


def test_errors_are_one_line(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli("customers", "clv", "fit", "--model", "nbd", "--warehouse", str(warehouse)) == 2
    assert (
        'model "nbd" is not valid (allowed: bgnbd, pareto, gamma-gamma)' in capsys.readouterr().err
    )
    assert run_cli("customers", "clv", "predict", "--warehouse", str(warehouse)) == 2
    err = capsys.readouterr().err
    assert "--margin-rate" in err
    assert len(err.strip().splitlines()) == 1
    code = run_cli(
        "customers", "clv", "predict", "--horizon", "forever", "--warehouse", str(warehouse)
    )
    assert code == 2
    assert 'horizon "forever" is not valid' in capsys.readouterr().err


def test_holdout_json(warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = run_cli(
        "customers", "clv", "holdout", "--calibration-end", "1997-09-30", "--format", "json",
        "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert [b["frequency"] for b in document["buckets"]] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7+",
    ]
    assert sum(b["customers"] for b in document["buckets"]) == 2357
    assert document["holdout_end"] == "1998-06-30"
    assert round(document["parameters"]["r"], 3) == 0.243
