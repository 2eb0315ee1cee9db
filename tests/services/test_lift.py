"""Lift studies on the simulated retailer: the win-back e-mail's planted incremental
conversion and the brand flight's planted awareness lift (`simulation_truth`) lie within the
reported intervals; the campaign's spend is its `marketing_daily` spend; the experiments
pages' service withholds a small variant (and what gives it away) below analysts."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from omnikpi.auth import Role, UserRole, parse_role
from omnikpi.auth.audit import Actor
from omnikpi.errors import PermissionDenied
from omnikpi.services.experiment_pages import (
    brand_lift_page,
    experiment_page,
    list_experiments,
)
from omnikpi.services.lift import AWARENESS, experiment_lift, survey_brand_lift
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse


def value(path: Path, sql: str, *params: object) -> float:
    with Warehouse.open(path, read_only=True) as warehouse:
        return float(warehouse.fetch_value(sql, list(params)))


def truth(path: Path, key: str) -> float:
    return value(path, "SELECT value FROM simulation_truth WHERE key = ?", key)


def actor(role: Role) -> Actor:
    return Actor(username=f"test_{role}", role=UserRole(role), channel="page")


def test_planted_lifts_within_reported_intervals(sim_path: Path) -> None:
    settings = load_settings(warehouse=sim_path)
    stored = experiment_lift(settings, "EXP-WINBACK-HOLDOUT")
    campaign = stored.campaign_id
    assert campaign is not None
    (variant, lift), *_ = stored.lifts
    assert (stored.control, variant, len(stored.lifts)) == ("holdout", "treatment", 1)
    # the e-mail's effect on 14-day conversion, planted as a sample average over the audience
    effect = truth(sim_path, f"campaign.{campaign}.incremental_conversion")
    assert lift.test.difference_ci_low < effect < lift.test.difference_ci_high
    conversions = lift.incremental_conversions
    assert conversions.ci_low is not None
    assert conversions.ci_high is not None
    assert conversions.ci_low < effect * lift.exposed.units < conversions.ci_high
    # and with the seeded bootstrap
    boot = experiment_lift(settings, "EXP-WINBACK-HOLDOUT", resamples=2000, seed=11)
    (_, resampled), *_ = boot.lifts
    low, high = resampled.incremental_conversions.ci_low, resampled.incremental_conversions.ci_high
    assert low is not None
    assert high is not None
    assert low < effect * resampled.exposed.units < high
    # spend: the campaign's sends in marketing_daily; iROAS = incremental revenue / spend
    spend = value(
        sim_path, "SELECT sum(spend)::DOUBLE FROM marketing_daily WHERE campaign_id = ?", campaign
    )
    assert stored.spend == pytest.approx(spend)
    assert lift.iroas is not None
    assert lift.incremental_revenue.value is not None
    assert lift.iroas.value == pytest.approx(lift.incremental_revenue.value / spend)
    audience = truth(sim_path, f"campaign.{campaign}.audience")
    assert lift.holdout.units + lift.exposed.units == audience

    # brand lift: awareness planted at 0.31 (control) and 0.38 (exposed)
    study = survey_brand_lift(settings)
    (aware,) = study.lift.questions
    assert aware.question == AWARENESS
    control = truth(sim_path, "brand_lift.aware.control")
    exposed = truth(sim_path, "brand_lift.aware.exposed")
    assert aware.test.difference_ci_low < exposed - control < aware.test.difference_ci_high
    for rate, planted, counts in (
        (aware.test.control_rate, control, aware.control),
        (aware.test.treatment_rate, exposed, aware.exposed),
    ):
        assert rate == pytest.approx(
            planted, abs=3 * math.sqrt(planted * (1 - planted) / counts.units)
        )


def test_pages_service_withholds_small_variants(sim_path: Path) -> None:
    # with k above the holdout's size the holdout is small: a lead sees no comparison,
    # no sample-ratio check and no total, an analyst sees everything
    settings = load_settings(warehouse=sim_path)
    holdout_units = int(
        value(
            sim_path,
            "SELECT count(*) FROM experiment_assignments "
            "WHERE experiment_id = 'EXP-WINBACK-HOLDOUT' AND variant = 'holdout'",
        )
    )
    strict = replace(settings, min_cell_customers=holdout_units + 1)
    lead = experiment_page(strict, actor(Role.TEAM_LEAD), "EXP-WINBACK-HOLDOUT")
    assert dict(lead.variants)["holdout"] is None
    assert dict(lead.variants)["treatment"] is not None
    assert (lead.treatments, lead.verdicts, lead.lift, lead.srm_p_value) == ((), (), None, None)
    assert lead.listing.units is None
    assert lead.withheld == 1
    analyst = experiment_page(strict, actor(Role.ANALYST), "EXP-WINBACK-HOLDOUT")
    assert analyst.withheld == 0
    assert analyst.lift is not None
    # a campaign holdout is checked against the campaign's holdout share (20/80)
    assert analyst.planned_split == pytest.approx((0.2, 0.8))
    assert analyst.srm_p_value is not None
    assert analyst.srm_p_value > 0.001
    (verdict,) = analyst.verdicts
    assert (verdict.kind, verdict.treatment, verdict.control) == (
        "treatment_wins", "treatment", "holdout",
    )  # fmt: skip
    listed = {e.experiment_id: e for e in list_experiments(strict, actor(Role.TEAM_LEAD))}
    assert listed["EXP-WINBACK-HOLDOUT"].units is None
    assert listed["EXP-CHECKOUT-1"].units is not None
    # brand-lift groups below k are withheld the same way
    small = brand_lift_page(replace(settings, min_cell_customers=10_000), actor(Role.BU_USER))
    assert small.study is not None
    assert (small.study.lift.questions, small.withheld) == ((), 1)
    assert small.campaigns[0]["exposed"] is None
    with pytest.raises(PermissionDenied):
        list_experiments(settings, Actor("member", parse_role("member:merchandiser")))
