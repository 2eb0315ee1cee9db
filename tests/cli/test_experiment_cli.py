"""`omnikpi experiment analyze|size` from counts: the issue's reference values as JSON and in
the table, many treatments with Holm, the sample size, and bad input in one line, exit 2.
The stored-experiment path is tested on the simulated retailer in
tests/services/test_experiments.py."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.conftest import run_cli

KEYS = ("z", "p_value", "lift", "ci_low", "ci_high", "prob_b_beats_a")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli("experiment", *args, "--format", "json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_analyze_json_reference_values(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "analyze", "--control", "100/1000", "--treatment", "120/1000")
    (row,) = result["treatments"]
    assert set(KEYS) <= set(row)
    # statsmodels proportions_ztest: z = 1.4293, p = 0.1529; P(B>A) = 0.923 (Beta(1,1) priors)
    assert row["z"] == pytest.approx(1.4293, abs=1e-4)
    assert row["p_value"] == pytest.approx(0.1529, abs=1e-4)
    assert row["prob_b_beats_a"] == pytest.approx(0.923, abs=5e-4)
    # lift 0.2 with exp(log 1.2 ± 1.96 √(1/100 - 1/1000 + 1/120 - 1/1000)) - 1
    se = math.sqrt(1 / 100 - 1 / 1000 + 1 / 120 - 1 / 1000)
    assert row["lift"] == pytest.approx(0.2)
    assert row["ci_low"] == pytest.approx(1.2 * math.exp(-1.959964 * se) - 1, abs=1e-6)
    assert row["ci_high"] == pytest.approx(1.2 * math.exp(1.959964 * se) - 1, abs=1e-6)
    assert row["adjusted_p_value"] == row["p_value"]  # one treatment: nothing to adjust
    assert result["control"] == {"conversions": 100, "units": 1000, "rate": 0.1}
    assert result["srm_p_value"] == pytest.approx(1.0)  # 1000 vs 1000 at 50/50


def test_analyze_srm_reference(capsys: pytest.CaptureFixture[str]) -> None:
    # 5000 vs 5200 at 50/50: χ² = 2·100²/5100 = 3.9216, p = 0.0477
    result = run_json(capsys, "analyze", "--control", "500/5000", "--treatment", "520/5200")
    assert result["srm_chi_square"] == pytest.approx(2 * 100**2 / 5100)
    assert result["srm_p_value"] == pytest.approx(0.0477, abs=1e-4)
    planned = run_json(
        capsys, "analyze", "--control", "50/1000", "--treatment", "200/4000", "--split", "20,80"
    )
    assert planned["srm_p_value"] == pytest.approx(1.0)


def test_analyze_named_creatives_with_holm(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--treatment", "a=120/5000", "--treatment", "b=90/5000", "--treatment", "c=150/5000"]
    result = run_json(capsys, "analyze", "--control", "100/5000", *args)
    rows = {row["variant"]: row for row in result["treatments"]}
    assert list(rows) == ["a", "b", "c"]
    # Holm: c has the smallest p, times 3; then the next, times 2; the largest times 1
    ps = sorted((row["p_value"], name) for name, row in rows.items())
    assert rows[ps[0][1]]["adjusted_p_value"] == pytest.approx(3 * ps[0][0])
    assert rows[ps[1][1]]["adjusted_p_value"] == pytest.approx(max(3 * ps[0][0], 2 * ps[1][0]))
    assert rows["c"]["significant"] is True
    unnamed = run_json(
        capsys, "analyze", "--control", "1/10", "--treatment", "2/10", "--treatment", "3/10"
    )
    assert [row["variant"] for row in unnamed["treatments"]] == ["treatment_1", "treatment_2"]


def test_analyze_table(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli("experiment", "analyze", "--control", "100/1000", "--treatment", "120/1000") == 0
    out = capsys.readouterr().out
    for text in ("1.4293", "0.1529", "+20.00%", "-6.59%", "+54.16%", "0.9232", "srm_p_value"):
        assert text in out


def test_size(capsys: pytest.CaptureFixture[str]) -> None:
    # (1.959964·√(2·0.11·0.89) + 0.841621·√(0.09 + 0.1056))² / 0.02² = 3840.85 → 3841
    size = run_json(capsys, "size", "--baseline", "0.1", "--mde", "0.02")
    assert size["units_per_variant"] == 3841
    assert size["total_units"] == 7682
    assert size["metric"] == "proportion"
    stricter = run_json(
        capsys, "size", "--baseline", "0.1", "--mde", "0.02", "--power", "0.9", "--alpha", "0.01"
    )
    assert stricter["units_per_variant"] > 3841
    # Cohen's d = 5/10 = 0.5 at 80 % power: 64 per group (Cohen 1988, table 2.4.1)
    assert run_json(capsys, "size", "--sd", "10", "--mde", "5")["units_per_variant"] == 64


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["analyze", "--control", "5/0", "--treatment", "1/2"], '--control "5/0"'),
        (["analyze", "--control", "abc", "--treatment", "1/2"], '--control "abc"'),
        (["analyze", "--control", "1/2", "--treatment", "3/2"], '--treatment "3/2"'),
        (["analyze", "--control", "1/2", "--treatment", "-1/2"], '--treatment "-1/2"'),
        (["analyze", "--control", "1/2"], "--treatment"),
        (["analyze", "--control", "1/2", "--treatment", "1/2", "--split", "x"], '--split "x"'),
        (["analyze", "--experiment", "E", "--control", "1/2"], "either --experiment"),
        (["analyze", "--control", "1/10", "--treatment", "2/10", "--alpha", "2"], "alpha"),
        (["size", "--baseline", "0.1", "--mde", "0"], 'mde "0.0"'),
        (["size", "--mde", "0.02"], "either --baseline"),
    ],
)
def test_bad_input_one_line_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli("experiment", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ")
    assert expected in err
    assert "\n" not in err
