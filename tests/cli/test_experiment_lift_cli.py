"""`omnikpi experiment lift|brand-lift` from files and counts: the JSON and table carry the
hand-computed figures of tests/marketing/test_lift.py; conflicting inputs exit 2. The stored
paths (an experiment's units, the warehouse's brand-lift surveys) are tested on the
simulated retailer in tests/services/test_lift.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

Z = 1.959963984540054


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli("experiment", *args, "--format", "json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_lift_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "lift.csv"
    file.write_text(
        "group,units,conversions,revenue,revenue_sd\n"
        "exposed,4000,280,560000,500\nholdout,1000,50,100000,400\n"
    )
    result = run_json(capsys, "lift", "--file", str(file), "--spend", "80000")
    se = math.sqrt(0.05 * 0.95 / 1000 + 0.07 * 0.93 / 4000)
    assert result["incremental_conversions"]["value"] == pytest.approx(80.0)
    assert result["incremental_conversions"]["ci_high"] == pytest.approx(80 + 4000 * Z * se)
    assert result["incremental_revenue"]["value"] == pytest.approx(160_000.0)
    assert result["iroas"]["value"] == pytest.approx(2.0)
    assert result["cost_per_incremental_conversion"]["value"] == pytest.approx(1000.0)
    capsys.readouterr()
    assert run_cli("experiment", "lift", "--file", str(file), "--spend", "80000") == 0
    table = capsys.readouterr().out
    assert "160,000.00" in table
    assert "17.4" in table
    assert "delta method" in table


def test_lift_from_counts_has_no_revenue(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "lift", "--holdout", "50/1000", "--exposed", "280/4000")
    assert result["incremental_conversions"]["value"] == pytest.approx(80.0)
    assert result["incremental_revenue"]["value"] is None
    assert result["iroas"] is None


def test_brand_lift_from_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # awareness: control 1 of 3, exposed 2 of 2; consideration: control 0 of 1, exposed 1 of 2
    file = tmp_path / "answers.csv"
    file.write_text(
        "group,question,answer\n"
        "control,awareness,yes\ncontrol,awareness,no\ncontrol,awareness,0\n"
        "exposed,awareness,1\nexposed,awareness,true\n"
        "control,consideration,no\nexposed,consideration,yes\nexposed,consideration,no\n"
    )
    result = run_json(capsys, "brand-lift", "--answers", str(file))
    aware, consider = result["questions"]
    assert (aware["question"], consider["question"]) == ("awareness", "consideration")
    assert aware["lift_points"] == pytest.approx(1 - 1 / 3)
    assert (consider["control_positive"], consider["exposed_respondents"]) == (0, 2)
    assert consider["lift_points"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "args",
    [
        ("lift",),
        ("lift", "--holdout", "50/1000"),
        ("lift", "--holdout", "50/1000", "--exposed", "60/1000", "--bootstrap", "500"),
        ("lift", "--holdout", "50/1000", "--exposed", "60/1000", "--spend", "0"),
        ("lift", "--file", "missing.csv"),
        ("brand-lift", "--answers", "missing.csv"),
    ],
)
def test_bad_input_exits_2(args: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("experiment", *args) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
