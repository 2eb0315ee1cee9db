"""Conversion lift and brand lift on tiny data, every expected value worked out by hand from
the formulas in `omnikpi.marketing.lift` and `brand_lift` (normal quantile 1.959964 for
95 %)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from omnikpi.errors import DataError, InvalidChoice, NotFound
from omnikpi.marketing.brand_lift import brand_lift, tally_answers
from omnikpi.marketing.experiments import Counts
from omnikpi.marketing.lift import GroupTotals, conversion_lift, conversion_lift_from_units
from omnikpi.marketing.lift_files import read_lift_groups_csv, read_survey_answers_csv

Z = 1.959963984540054


def test_conversion_lift_from_totals_by_hand() -> None:
    holdout = GroupTotals(1000, 50, revenue=100_000.0, revenue_sd=400.0)
    exposed = GroupTotals(4000, 280, revenue=560_000.0, revenue_sd=500.0)
    lift = conversion_lift(holdout, exposed, spend=80_000.0)
    # incremental conversions: 4000 × (0.07 - 0.05) = 80, ± 4000 × z × Wald se
    se = math.sqrt(0.05 * 0.95 / 1000 + 0.07 * 0.93 / 4000)  # 0.0079859
    conversions = lift.incremental_conversions
    assert conversions.value == pytest.approx(80.0)
    assert conversions.ci_low == pytest.approx(80 - 4000 * Z * se)  # 17.39
    assert conversions.ci_high == pytest.approx(80 + 4000 * Z * se)  # 142.61
    assert round(conversions.ci_low, 1) == 17.4
    # incremental revenue: 4000 × (140 - 100) = 160,000; Welch se sqrt(400²/1000 + 500²/4000)
    se_revenue = math.sqrt(160 + 62.5)
    df = 222.5**2 / (160**2 / 999 + 62.5**2 / 3999)
    half = 4000 * stats.t.ppf(0.975, df) * se_revenue
    revenue = lift.incremental_revenue
    assert revenue.value == pytest.approx(160_000.0)
    assert revenue.ci_low == pytest.approx(160_000 - half)
    assert revenue.ci_high == pytest.approx(160_000 + half)
    # iROAS = 160,000 / 80,000 = 2.0, interval divided by the spend
    assert lift.iroas is not None
    assert lift.iroas.value == pytest.approx(2.0)
    assert lift.iroas.ci_low == pytest.approx((160_000 - half) / 80_000)
    # cost per incremental conversion 80,000 / 80 = 1,000; interval inverted
    cost = lift.cost_per_incremental_conversion
    assert cost is not None
    assert cost.value == pytest.approx(1000.0)
    assert cost.ci_low == pytest.approx(80_000 / (80 + 4000 * Z * se))
    assert cost.ci_high == pytest.approx(80_000 / (80 - 4000 * Z * se))
    # incremental share 1 - 0.05/0.07 = 2/7, its interval from the Katz log-ratio interval
    se_log = math.sqrt(1 / 50 - 1 / 1000 + 1 / 280 - 1 / 4000)
    low_ratio = math.exp(math.log(1.4) - Z * se_log)
    assert lift.incremental_share.value == pytest.approx(2 / 7)
    assert lift.incremental_share.ci_low == pytest.approx(1 - 1 / low_ratio)
    assert lift.test.lift == pytest.approx(0.4)
    document = lift.as_json()
    assert document["iroas"]["value"] == pytest.approx(2.0)
    assert document["method"] == "delta"


def test_revenue_interval_needs_the_spread() -> None:
    lift = conversion_lift(GroupTotals(100, 10, 1000.0), GroupTotals(100, 20, 3000.0), spend=500.0)
    assert lift.incremental_revenue.value == pytest.approx(100 * (30 - 10))
    assert (lift.incremental_revenue.ci_low, lift.incremental_revenue.ci_high) == (None, None)
    assert lift.iroas is not None
    assert lift.iroas.value == pytest.approx(4.0)
    assert lift.iroas.ci_low is None
    # no spend: no iROAS, no cost per incremental conversion
    no_spend = conversion_lift(GroupTotals(100, 10), GroupTotals(100, 20))
    assert no_spend.iroas is None
    # no revenue given (counts only): no incremental revenue at all, not a zero
    assert no_spend.incremental_revenue.value is None
    assert no_spend.as_json()["incremental_revenue"]["value"] is None
    assert no_spend.cost_per_incremental_conversion is None


def test_cost_interval_is_open_when_the_lift_may_be_zero() -> None:
    lift = conversion_lift(GroupTotals(100, 10), GroupTotals(100, 12), spend=100.0)
    cost = lift.cost_per_incremental_conversion
    assert cost is not None
    assert cost.value == pytest.approx(100 / 2)  # 100 × (0.12 - 0.10) = 2 conversions
    assert lift.incremental_conversions.ci_low is not None
    assert lift.incremental_conversions.ci_low < 0
    assert cost.ci_high is None
    # a negative lift has no cost per incremental conversion
    negative = conversion_lift(GroupTotals(100, 12), GroupTotals(100, 10), 100.0)
    assert negative.cost_per_incremental_conversion is None


def test_lift_from_units_by_hand() -> None:
    # holdout: 1 of 4 converted, revenue 0, 10, 0, 0 (mean 2.5, sd 5)
    # exposed: 3 of 4 (two conversions count once), revenue 20, 10, 0, 30 (mean 15, sd 12.91)
    holdout = ([0, 1, 0, 0], [0.0, 10.0, 0.0, 0.0])
    exposed = ([1, 1, 0, 2], [20.0, 10.0, 0.0, 30.0])
    lift = conversion_lift_from_units(holdout, exposed, spend=25.0)
    assert lift.holdout == GroupTotals(4, 1, 10.0, pytest.approx(5.0))
    assert lift.exposed.conversions == 3
    assert lift.exposed.revenue_sd == pytest.approx(math.sqrt(500 / 3))
    assert lift.incremental_conversions.value == pytest.approx(4 * (0.75 - 0.25))
    assert lift.incremental_revenue.value == pytest.approx(4 * (15 - 2.5))
    assert lift.iroas is not None
    assert lift.iroas.value == pytest.approx(50 / 25)


def test_bootstrap_of_constant_groups_has_no_spread() -> None:
    # every holdout unit: no conversion, no revenue; every exposed unit: one, 5.0. Every
    # resample has Δc = 6 × 1 = 6 and Δr = 6 × 5 = 30.
    lift = conversion_lift_from_units(
        ([0] * 5, [0.0] * 5), ([1] * 6, [5.0] * 6), spend=10.0, resamples=300, seed=3
    )
    assert lift.method == "bootstrap"
    assert (lift.incremental_conversions.ci_low, lift.incremental_conversions.ci_high) == (6, 6)
    assert lift.incremental_revenue.ci_low == pytest.approx(30.0)
    assert lift.iroas is not None
    assert lift.iroas.ci_high == pytest.approx(3.0)


def test_bootstrap_repeats_with_its_seed_and_agrees_with_the_delta_method() -> None:
    rng = np.random.default_rng(0)
    h_conv = (rng.random(600) < 0.10).astype(float)
    e_conv = (rng.random(900) < 0.16).astype(float)
    h_rev, e_rev = h_conv * rng.gamma(2, 50, 600), e_conv * rng.gamma(2, 50, 900)
    args = ((h_conv, h_rev), (e_conv, e_rev), 1000.0)
    first = conversion_lift_from_units(*args, resamples=1000, seed=7)
    again = conversion_lift_from_units(*args, resamples=1000, seed=7)
    other = conversion_lift_from_units(*args, resamples=1000, seed=8)
    delta = conversion_lift_from_units(*args)
    assert first == again
    assert first.incremental_revenue != other.incremental_revenue
    for boot, normal in (
        (first.incremental_conversions, delta.incremental_conversions),
        (first.incremental_revenue, delta.incremental_revenue),
    ):
        assert boot.ci_low is not None
        assert boot.ci_high is not None
        assert normal.ci_low is not None
        assert normal.ci_high is not None
        width = normal.ci_high - normal.ci_low
        assert abs(boot.ci_low - normal.ci_low) < 0.1 * width
        assert abs(boot.ci_high - normal.ci_high) < 0.1 * width
    with pytest.raises(InvalidChoice, match="seed"):
        conversion_lift_from_units(*args, resamples=1000)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidChoice, match="spend"):
        conversion_lift(GroupTotals(10, 1), GroupTotals(10, 2), spend=0.0)
    with pytest.raises(InvalidChoice, match=r"exposed\.conversions"):
        conversion_lift(GroupTotals(10, 1), GroupTotals(10, 11))
    with pytest.raises(InvalidChoice, match=r"holdout\.revenue"):
        conversion_lift(GroupTotals(10, 1, revenue=-5.0), GroupTotals(10, 2))


def test_brand_lift_by_hand() -> None:
    answers = {
        "awareness": (Counts(31, 100), Counts(38, 100)),
        "consideration": (Counts(20, 100), Counts(30, 100)),
    }
    study = brand_lift(answers)
    aware, consider = study.questions
    # awareness: 0.38 - 0.31 = 7 points, Wald se sqrt(.31·.69/100 + .38·.62/100)
    se = math.sqrt(0.31 * 0.69 / 100 + 0.38 * 0.62 / 100)
    assert aware.test.difference == pytest.approx(0.07)
    assert aware.test.difference_ci_low == pytest.approx(0.07 - Z * se)
    assert aware.test.difference_ci_high == pytest.approx(0.07 + Z * se)
    # pooled z: p = 0.345, se = sqrt(.345·.655·2/100)
    z_aware = 0.07 / math.sqrt(0.345 * 0.655 * 2 / 100)
    z_consider = 0.10 / math.sqrt(0.25 * 0.75 * 2 / 100)
    p_aware, p_consider = 2 * stats.norm.sf(z_aware), 2 * stats.norm.sf(z_consider)
    assert aware.test.z == pytest.approx(z_aware)
    # Holm over two: smallest p × 2, then max(that, next p × 1)
    assert consider.adjusted_p_value == pytest.approx(2 * p_consider)
    assert aware.adjusted_p_value == pytest.approx(max(2 * p_consider, p_aware))
    # P(exposed > control) = ∫ f_exposed(t) F_control(t) dt with Beta(39, 63), Beta(32, 70)
    expected, _ = integrate.quad(
        lambda t: stats.beta.pdf(t, 39, 63) * stats.beta.cdf(t, 32, 70), 0, 1
    )
    assert aware.prob_exposed_higher == pytest.approx(expected, abs=1e-7)
    assert study.as_json()["questions"][1]["lift_points"] == pytest.approx(0.10)


def test_tally_answers_and_missing_groups() -> None:
    answers = [
        ("control", "aware", True),
        ("control", "aware", False),
        ("exposed", "aware", True),
        ("exposed", "consider", False),
    ]
    tally = tally_answers(answers)
    assert tally["aware"] == (Counts(1, 2), Counts(1, 1))
    assert tally["consider"] == (Counts(0, 0), Counts(0, 1))
    with pytest.raises(DataError, match='"consider" has no control respondents'):
        brand_lift(tally)


def test_files(tmp_path: Path) -> None:
    groups = tmp_path / "lift.csv"
    groups.write_text(
        "group,units,conversions,revenue,revenue_sd\n"
        "test,4000,280,560000,500\ncontrol,1000,50,100000,400\n"
    )
    holdout, exposed = read_lift_groups_csv(groups)
    assert holdout == GroupTotals(1000, 50, 100_000.0, 400.0)
    assert exposed == GroupTotals(4000, 280, 560_000.0, 500.0)
    groups.write_text("group,units,conversions\nexposed,10,2\nexposed,10,3\n")
    with pytest.raises(DataError, match=r"row 3: .*repeats the exposed group"):
        read_lift_groups_csv(groups)
    groups.write_text("group,units,conversions\nexposed,10,12\nholdout,10,1\n")
    with pytest.raises(DataError, match='row 2: column "conversions" value "12"'):
        read_lift_groups_csv(groups)
    groups.write_text("group,units\nexposed,10\n")
    with pytest.raises(DataError, match="missing column"):
        read_lift_groups_csv(groups)
    with pytest.raises(NotFound):
        read_lift_groups_csv(tmp_path / "none.csv")

    survey = tmp_path / "answers.csv"
    survey.write_text("group,question,answer\nexposed,awareness,yes\ncontrol,awareness,0\n")
    assert read_survey_answers_csv(survey) == [
        ("exposed", "awareness", True),
        ("control", "awareness", False),
    ]
    survey.write_text("group,question,answer\nexposed,awareness,maybe\n")
    with pytest.raises(DataError, match='row 2: column "answer" value "maybe"'):
        read_survey_answers_csv(survey)
