"""Stored experiments on the simulated retailer: the planted checkout lift and the win-back
e-mail's incremental conversion (`simulation_truth`) lie within the reported intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from omnikpi.services.experiments import analyze_experiment
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli


def truth(path: Path, key: str) -> float:
    with Warehouse.open(path, read_only=True) as warehouse:
        return float(
            warehouse.fetch_value("SELECT value FROM simulation_truth WHERE key = ?", [key])
        )


def holdout_campaign(path: Path) -> str:
    sql = "SELECT campaign_id FROM experiments WHERE experiment_id = 'EXP-WINBACK-HOLDOUT'"
    with Warehouse.open(path, read_only=True) as warehouse:
        return str(warehouse.fetch_value(sql))


def test_planted_effects_within_reported_intervals(
    sim_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(warehouse=sim_path)
    checkout = analyze_experiment(settings, "EXP-CHECKOUT-1")
    assert [v.variant for v in checkout.variants] == ["control", "treatment"]
    (treatment,) = checkout.treatments
    test = treatment.test
    planted = truth(sim_path, "experiment.EXP-CHECKOUT-1.relative_lift")  # 0.08
    assert test.ci_low is not None
    assert test.ci_high is not None
    assert test.ci_low < planted < test.ci_high
    # the control's completion rate is planted at 0.62; within 3 binomial standard errors
    control = checkout.variants[0]
    control_rate = truth(sim_path, "experiment.EXP-CHECKOUT-1.control_rate")
    spread = 3 * math.sqrt(control_rate * (1 - control_rate) / control.trials)
    assert control.rate == pytest.approx(control_rate, abs=spread)
    # visitors were split 50/50 at random: no sample-ratio mismatch
    assert checkout.srm is not None
    assert checkout.srm.p_value > 0.001
    assert checkout.srm.observed == (control.units, checkout.variants[1].units)
    assert 0.5 < treatment.bayesian.prob_b_beats_a <= 1
    # revenue per visitor after CUPED on the pre-assignment revenue: θ fitted on both
    # variants pooled only removes variance
    assert treatment.revenue is not None
    assert 0 <= treatment.revenue.variance_reduction < 1
    assert treatment.revenue.adjusted.p_value == pytest.approx(
        checkout.as_json()["treatments"][0]["revenue_per_unit_p_value"]
    )

    # The win-back e-mail: 20 % held out; its 14-day conversion effect is planted.
    holdout = analyze_experiment(settings, "EXP-WINBACK-HOLDOUT", split=(20, 80))
    campaign = holdout_campaign(sim_path)
    effect = truth(sim_path, f"campaign.{campaign}.incremental_conversion")
    (mail,) = holdout.treatments
    assert mail.test.difference_ci_low < effect < mail.test.difference_ci_high
    assert holdout.srm is not None
    assert holdout.srm.p_value > 0.001
    audience = truth(sim_path, f"campaign.{campaign}.audience")
    assert sum(v.units for v in holdout.variants) == audience
    # without a planned split a holdout's sample ratio is not checked
    assert analyze_experiment(settings, "EXP-WINBACK-HOLDOUT").srm is None

    # The CLI prints the same readout, aggregates only (no unit ids).
    capsys.readouterr()
    args = ["--experiment", "EXP-CHECKOUT-1", "--format", "json", "--warehouse", str(sim_path)]
    assert run_cli("experiment", "analyze", *args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == json.loads(json.dumps(checkout.as_json()))
    assert document["treatments"][0]["lift"] == pytest.approx(test.lift)
    assert "unit_id" not in json.dumps(document)
