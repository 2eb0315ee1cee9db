"""A/B test statistics against values worked out by hand (shown in the comments) and the
issue's statsmodels reference values; SciPy is used only where it is an independent check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from omnikpi.errors import DataError, InvalidChoice
from omnikpi.marketing.experiment_size import (
    mean_power,
    mean_sample_size,
    proportion_power,
    proportion_sample_size,
)
from omnikpi.marketing.experiments import (
    Counts,
    beta_binomial,
    compare_variants,
    cuped_test,
    holm_adjust,
    prob_beta_greater,
    ratio_metric_test,
    sample_ratio_mismatch,
    two_proportion_test,
    welch_test,
    welch_test_from_stats,
)

Z975 = 1.959963984540054  # Φ⁻¹(0.975)


def test_two_proportion_reference() -> None:
    result = two_proportion_test(Counts(100, 1000), Counts(120, 1000))
    # pooled p = 220/2000 = 0.11; se = √(0.11·0.89·(2/1000)) = √0.0001958 = 0.0139929
    # z = 0.02 / 0.0139929 = 1.4293 (statsmodels proportions_ztest), p = 0.1529
    assert result.z == pytest.approx(1.4293, abs=1e-4)
    assert result.p_value == pytest.approx(0.1529, abs=1e-4)
    assert result.p_value == pytest.approx(math.erfc(0.02 / math.sqrt(0.0001958) / math.sqrt(2)))
    # unpooled se = √(0.1·0.9/1000 + 0.12·0.88/1000) = √0.0001956; ±1.96·se = ±0.027411
    half = Z975 * math.sqrt(0.0001956)
    assert result.difference == pytest.approx(0.02)
    assert result.difference_ci_low == pytest.approx(0.02 - half)
    assert result.difference_ci_high == pytest.approx(0.02 + half)
    assert (result.difference_ci_low, result.difference_ci_high) == pytest.approx(
        (-0.007411, 0.047411), abs=1e-6
    )
    # lift 0.12/0.10 - 1 = 0.2; se(log ratio) = √(1/100 - 1/1000 + 1/120 - 1/1000) = 0.127802
    # exp(log 1.2 ± 1.96·0.127802) - 1 = (-0.065894, 0.541582)
    assert result.lift == pytest.approx(0.2)
    assert result.ci_low == pytest.approx(-0.065894, abs=1e-6)
    assert result.ci_high == pytest.approx(0.541582, abs=1e-6)


def test_two_proportion_alpha_widens_interval() -> None:
    narrow = two_proportion_test(Counts(100, 1000), Counts(120, 1000), alpha=0.10)
    # 90 %: z = 1.644854 instead of 1.959964
    assert narrow.difference_ci_high == pytest.approx(0.02 + 1.644854 * math.sqrt(0.0001956))


def test_two_proportion_edge_cases() -> None:
    none = two_proportion_test(Counts(0, 50), Counts(0, 80))
    assert (none.z, none.p_value, none.lift, none.ci_low) == (0.0, 1.0, None, None)
    # both at 100 %: equal rates, ratio 1 with no spread
    full = two_proportion_test(Counts(40, 40), Counts(25, 25))
    assert (full.z, full.p_value, full.lift) == (0.0, 1.0, 0.0)
    assert (full.ci_low, full.ci_high) == (0.0, 0.0)
    # control without conversions: no relative lift, the difference still tested
    from_zero = two_proportion_test(Counts(0, 100), Counts(5, 100))
    assert from_zero.lift is None
    assert from_zero.z > 0
    # treatment without conversions: lift -100 %, its log interval undefined
    to_zero = two_proportion_test(Counts(5, 100), Counts(0, 100))
    assert to_zero.lift == pytest.approx(-1.0)
    assert to_zero.ci_low is None


@pytest.mark.parametrize(
    ("control", "treatment", "param"),
    [
        (Counts(0, 0), Counts(1, 10), "control.units"),
        (Counts(1, 10), Counts(0, 0), "treatment.units"),
        (Counts(11, 10), Counts(1, 10), "control.conversions"),
        (Counts(1, 10), Counts(-1, 10), "treatment.conversions"),
    ],
)
def test_bad_counts_name_the_argument(control: Counts, treatment: Counts, param: str) -> None:
    with pytest.raises(InvalidChoice) as error:
        two_proportion_test(control, treatment)
    assert error.value.param == param
    assert param in str(error.value)
    with pytest.raises(InvalidChoice, match=param.replace(".", r"\.")):
        beta_binomial(control, treatment)


def test_bad_alpha() -> None:
    with pytest.raises(InvalidChoice, match="alpha"):
        two_proportion_test(Counts(1, 10), Counts(2, 10), alpha=1.5)


def test_bayesian_reference() -> None:
    result = beta_binomial(Counts(100, 1000), Counts(120, 1000))
    # posteriors Beta(101, 901) and Beta(121, 881); statsmodels-era reference 0.923
    assert result.control_posterior == (101, 901)
    assert result.treatment_posterior == (121, 881)
    assert result.prob_b_beats_a == pytest.approx(0.923, abs=5e-4)
    # expected losses: E[max(A-B,0)] + E[B-A] = E[max(B-A,0)], E[B-A] = 121/1002 - 101/1002
    assert result.expected_loss_a - result.expected_loss_b == pytest.approx(20 / 1002)
    # independent check: Monte Carlo with 2M draws (standard error ≈ 0.0002 and 0.000005)
    rng = np.random.default_rng(5)
    a, b = rng.beta(101, 901, 2_000_000), rng.beta(121, 881, 2_000_000)
    assert result.prob_b_beats_a == pytest.approx((b > a).mean(), abs=1e-3)
    assert result.expected_loss_b == pytest.approx(np.maximum(a - b, 0).mean(), abs=2e-5)


def test_bayesian_tiny_by_hand() -> None:
    # control 0/1 → Beta(1, 2) with density 2(1-a); treatment 1/1 → Beta(2, 1) with density 2b
    # P(B > A) = ∫ 2b (2b - b²) db = 4/3 - 1/2 = 5/6
    # loss of B = ∫∫_{a>b} (a-b) 2(1-a) 2b = ∫ 4b (1-b)³/6 db = (2/3) B(2, 4) = 1/30
    # loss of A = E[B - A] + loss of B = (2/3 - 1/3) + 1/30 = 11/30
    result = beta_binomial(Counts(0, 1), Counts(1, 1))
    assert result.prob_b_beats_a == pytest.approx(5 / 6)
    assert result.expected_loss_b == pytest.approx(1 / 30)
    assert result.expected_loss_a == pytest.approx(11 / 30)


def test_prob_beta_greater_closed_form_and_quadrature_agree() -> None:
    # X ~ Beta(2, 1), Y uniform: ∫ 2x · x dx = 2/3
    assert prob_beta_greater((2, 1), (1, 1)) == pytest.approx(2 / 3)
    # a non-integer shape takes the quadrature path; a tiny shift changes little
    exact = prob_beta_greater((121, 881), (101, 901))
    assert prob_beta_greater((121.000001, 881), (101, 901)) == pytest.approx(exact, abs=1e-6)
    assert prob_beta_greater((2.5, 1), (1, 1)) == pytest.approx(2.5 / 3.5)  # E[X] for Y ~ U


def test_sample_ratio_mismatch_reference() -> None:
    result = sample_ratio_mismatch([5000, 5200])
    # E = 5100 each; χ² = 2 · 100² / 5100 = 3.92157; 1 df: p = erfc(√(χ²/2)) = 0.0477
    assert result.chi_square == pytest.approx(2 * 100**2 / 5100)
    assert result.p_value == pytest.approx(0.0477, abs=1e-4)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(result.chi_square / 2)))


def test_sample_ratio_mismatch_weights_and_three_variants() -> None:
    assert sample_ratio_mismatch([200, 800], [20, 80]).p_value == pytest.approx(1.0)
    # 3 variants of 100, 100, 130: E = 110; χ² = (100 + 100 + 400)/110 = 5.4545; 2 df: e^{-χ²/2}
    three = sample_ratio_mismatch([100, 100, 130])
    assert three.chi_square == pytest.approx(600 / 110)
    assert three.p_value == pytest.approx(math.exp(-300 / 110))
    with pytest.raises(InvalidChoice, match="weights"):
        sample_ratio_mismatch([1, 2], [1, 2, 3])


def test_welch_by_hand() -> None:
    # means 2.5 and 5; variances 5/3 and 20/3; v = 5/12 + 5/3 = 25/12, t = 2.5/√(25/12) = √3
    # df = (25/12)² / ((5/12)²/3 + (5/3)²/3) = 1875/425 = 4.41176
    result = welch_test([1, 2, 3, 4], [2, 4, 6, 8])
    assert result.t == pytest.approx(math.sqrt(3))
    assert result.degrees_of_freedom == pytest.approx(1875 / 425)
    assert result.p_value == pytest.approx(2 * stats.t.sf(math.sqrt(3), 1875 / 425))
    assert result.p_value == pytest.approx(
        stats.ttest_ind([2, 4, 6, 8], [1, 2, 3, 4], equal_var=False).pvalue
    )
    half = stats.t.ppf(0.975, 1875 / 425) * math.sqrt(25 / 12)
    assert (result.difference_ci_low, result.difference_ci_high) == pytest.approx(
        (2.5 - half, 2.5 + half)
    )
    # lift 5/2.5 - 1 = 1; delta se = √(v_b/m_a² + m_b² v_a/m_a⁴) = √(5/3/6.25 + 25·5/12/39.0625)
    se = math.sqrt((5 / 3) / 6.25 + 25 * (5 / 12) / 39.0625)
    assert result.lift == pytest.approx(1.0)
    assert result.ci_low == pytest.approx(1 - Z975 * se)


def test_welch_errors() -> None:
    with pytest.raises(InvalidChoice, match=r"control\.n"):
        welch_test_from_stats((1.0, 1.0, 1), (1.0, 1.0, 10))
    with pytest.raises(DataError, match="constant"):
        welch_test([1, 1, 1], [2, 2, 2])
    zero_mean = welch_test([-1, 1], [1, 3])
    assert zero_mean.lift is None


def test_cuped_by_hand() -> None:
    # x deviations from 2.5 are (-1.5, -0.5, 0.5, 1.5) in both variants; Σ dx·y = 6.5 + 5
    # = 11.5, Σ dx² = 10 → θ = 1.15. Y' = Y - 1.15 dx keeps the means (2.75 vs 3.5) since x
    # is balanced; variance removed = ρ² = 11.5² / (10 · 14.875) = 0.889076
    result = cuped_test(([1, 2, 3, 5], [1, 2, 3, 4]), ([2, 3, 4, 5], [1, 2, 3, 4]))
    assert result.theta == pytest.approx(1.15)
    assert result.variance_reduction == pytest.approx(11.5**2 / (10 * 14.875))
    assert result.adjusted.difference == pytest.approx(0.75)
    assert result.unadjusted.difference == pytest.approx(0.75)
    assert result.adjusted.p_value < result.unadjusted.p_value
    # adjusted control (2.725, 2.575, 2.425, 3.275): variance (0.025² + 0.175² + 0.325²
    # + 0.525²) / 3 = 0.1425
    adjusted_var_a = (0.025**2 + 0.175**2 + 0.325**2 + 0.525**2) / 3
    v_b = (0.225**2 + 0.075**2 + 0.075**2 + 0.225**2) / 3
    assert result.adjusted.t == pytest.approx(0.75 / math.sqrt((adjusted_var_a + v_b) / 4))


def test_cuped_constant_covariate_changes_nothing() -> None:
    result = cuped_test(([1, 2, 4], [3, 3, 3]), ([2, 4, 5], [3, 3, 3]))
    assert result.theta == 0.0
    assert result.adjusted.t == pytest.approx(result.unadjusted.t)
    with pytest.raises(InvalidChoice, match=r"treatment\.covariate"):
        cuped_test(([1, 2, 4], [3, 3, 3]), ([2, 4, 5], [3, 3]))


def test_ratio_metric_one_session_per_unit_is_the_wald_test() -> None:
    # x ≡ 1: R = mean y, Var R = s_y²/n: control s² = 4·0.25·0.75/3 = 0.25 → 0.0625;
    # treatment s² = 4·0.25/3 = 1/3 → 1/12; z = 0.25 / √(0.0625 + 1/12) = 0.654654
    result = ratio_metric_test(([1, 0, 0, 0], [1, 1, 1, 1]), ([1, 1, 0, 0], [1, 1, 1, 1]))
    assert (result.control_rate, result.treatment_rate) == (0.25, 0.5)
    assert result.z == pytest.approx(0.25 / math.sqrt(0.0625 + 1 / 12))


def test_ratio_metric_clustered_by_hand() -> None:
    # units (y, x) = (2, 2), (0, 1), (0, 1): R = 0.5, μx = 4/3, s_y² = 4/3, s_x² = 1/3,
    # s_xy = 2/3 → Var R = (4/3 - 2·0.5·2/3 + 0.25/3) / (3 · 16/9) = 9/64
    units = ([2, 0, 0], [2, 1, 1])
    result = ratio_metric_test(units, units)
    assert result.z == 0.0
    assert result.difference_ci_high == pytest.approx(Z975 * math.sqrt(2 * 9 / 64))
    # lift interval on the log scale: se = √(2 · (9/64) / 0.25)
    assert result.ci_high == pytest.approx(math.exp(Z975 * math.sqrt(2 * 9 / 64 / 0.25)) - 1)


def test_holm_by_hand() -> None:
    # sorted .005 .01 .03 .04 times 4 3 2 1 = .02 .03 .06 .04 → running max .02 .03 .06 .06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # .5·2 = 1.0 then .9·1 = .9, raised to the running max 1.0 (adjusted p never decrease)
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_twenty_creatives_against_control() -> None:
    control = Counts(100, 2000)
    creatives = {f"creative-{i:02d}": Counts(100 + 2 * i, 2000) for i in range(1, 22)}
    results = compare_variants(control, creatives)
    assert [r.variant for r in results] == list(creatives)
    raw = [r.test.p_value for r in results]
    assert [r.adjusted_p_value for r in results] == pytest.approx(holm_adjust(raw))
    best = results[-1]  # 142 vs 100 of 2000: z = 0.021 / √(0.0605·0.9395·0.001) = 2.7769
    assert best.test.z == pytest.approx(0.021 / math.sqrt(0.0605 * 0.9395 * 0.001))
    # the smallest p is multiplied by the 21 comparisons
    assert best.adjusted_p_value == pytest.approx(min(1.0, 21 * best.test.p_value))
    unadjusted_winners = [r for r in results if r.test.p_value <= 0.05]
    assert len(unadjusted_winners) > sum(r.significant for r in results)
    with pytest.raises(InvalidChoice, match=r"treatment creative-x\.units"):
        compare_variants(control, {"creative-x": Counts(0, 0)})


def test_proportion_sample_size_by_hand() -> None:
    # p1 0.10, p2 0.12, p̄ 0.11: (1.959964·√(2·0.11·0.89) + 0.841621·√(0.09 + 0.1056))² / 0.02²
    # = (0.867270 + 0.372222)² / 0.0004 = 3840.85 → 3841 per variant
    size = proportion_sample_size(0.10, 0.02)
    assert size.units_per_variant == 3841
    assert size.total_units == 7682
    assert size.achieved_power == pytest.approx(0.8, abs=1e-4)
    assert proportion_power(0.10, 0.02, 3840) < 0.8 <= proportion_power(0.10, 0.02, 3841)
    # statsmodels NormalIndPower on Cohen's h = 2 asin √0.12 - 2 asin √0.10 = 0.063982 gives
    # 2 (2.801585 / 0.063982)² = 3834.6: the arcsine approximation agrees within 0.2 %
    h = 2 * math.asin(math.sqrt(0.12)) - 2 * math.asin(math.sqrt(0.10))
    assert size.units_per_variant == pytest.approx(2 * ((Z975 + 0.841621) / h) ** 2, rel=2e-3)
    assert proportion_sample_size(0.10, -0.02, power=0.9).units_per_variant > 3841


def test_mean_sample_size_matches_cohen_table() -> None:
    # Cohen (1988) table 2.4.1 and statsmodels TTestIndPower: d = 0.5, power 0.8 → n = 64
    size = mean_sample_size(sd=10.0, mde=5.0)
    assert size.units_per_variant == 64
    assert mean_power(10.0, 5.0, 63) < 0.8 <= mean_power(10.0, 5.0, 64)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"baseline": 0.0, "mde": 0.02}, "baseline"),
        ({"baseline": 0.1, "mde": 0.0}, "mde"),
        ({"baseline": 0.95, "mde": 0.1}, "mde"),
        ({"baseline": 0.1, "mde": 0.02, "power": 1.0}, "power"),
    ],
)
def test_sample_size_errors(kwargs: dict[str, float], param: str) -> None:
    with pytest.raises(InvalidChoice) as error:
        proportion_sample_size(**kwargs)
    assert error.value.param == param
