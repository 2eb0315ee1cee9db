"""A/B test statistics: two-proportion z-test, Welch t-test, ratio metrics, Bayesian
beta-binomial, sample-ratio mismatch, CUPED and many variants against one control.

Pure functions of counts or arrays returning frozen dataclasses; no warehouse access.
Frequentist intervals are two-sided at level 1 - `alpha` from the normal (or Welch t)
approximation. Sample sizes and power are in `omnikpi.marketing.experiment_size`.

    >>> result = two_proportion_test(Counts(100, 1000), Counts(120, 1000))
    >>> round(result.z, 4), round(result.p_value, 4)
    (1.4293, 0.1529)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from omnikpi.errors import DataError, InvalidChoice

__all__ = [
    "BayesianResult",
    "Counts",
    "CupedResult",
    "MeanTestResult",
    "ProportionTestResult",
    "SampleRatioResult",
    "VariantComparison",
    "beta_binomial",
    "check_alpha",
    "compare_variants",
    "cuped_test",
    "holm_adjust",
    "prob_beta_greater",
    "ratio_metric_test",
    "sample_ratio_mismatch",
    "two_proportion_test",
    "welch_test",
    "welch_test_from_stats",
]


@dataclass(frozen=True)
class Counts:
    """Conversions among units of one variant, e.g. `Counts(120, 1000)`: 120 of 1,000."""

    conversions: int
    units: int

    def check(self, name: str) -> Counts:
        """Itself, or `InvalidChoice` naming `name` when not 0 ≤ conversions ≤ units ≥ 1."""
        if self.units < 1:
            raise InvalidChoice(f"{name}.units", str(self.units), "a whole number ≥ 1")
        if not 0 <= self.conversions <= self.units:
            raise InvalidChoice(
                f"{name}.conversions", str(self.conversions), f"0 to {self.units} (its units)"
            )
        return self

    @property
    def rate(self) -> float:
        return self.conversions / self.units


@dataclass(frozen=True)
class ProportionTestResult:
    """Treatment against control on a conversion rate.

    `lift` is the relative lift rate_b / rate_a - 1; it and its interval are None when
    the control has no conversions (no ratio), the interval also when the treatment has
    none (the log ratio's variance is infinite)."""

    control_rate: float
    treatment_rate: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    z: float
    p_value: float
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    alpha: float


@dataclass(frozen=True)
class MeanTestResult:
    """Treatment against control on a mean (Welch); `lift` = mean_b / mean_a - 1 with a
    delta-method interval, None when the control mean is 0."""

    control_mean: float
    treatment_mean: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    t: float
    degrees_of_freedom: float
    p_value: float
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    alpha: float


@dataclass(frozen=True)
class CupedResult:
    """A Welch test on CUPED-adjusted outcomes, with the adjustment's theta and the share of
    the outcome's variance it removed."""

    theta: float
    variance_reduction: float
    adjusted: MeanTestResult
    unadjusted: MeanTestResult


@dataclass(frozen=True)
class BayesianResult:
    """Beta-binomial posteriors Beta(prior_a + conversions, prior_b + failures) per variant.

    `expected_loss_b` is E[max(p_A - p_B, 0)], the conversion rate given up on average by
    shipping B; `expected_loss_a` the same for keeping A."""

    prob_b_beats_a: float
    expected_loss_a: float
    expected_loss_b: float
    control_posterior: tuple[float, float]
    treatment_posterior: tuple[float, float]


@dataclass(frozen=True)
class SampleRatioResult:
    """Pearson's chi-square goodness of fit of the units per variant to the planned split."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi_square: float
    p_value: float


@dataclass(frozen=True)
class VariantComparison:
    """One treatment against the control, with its Holm-adjusted p-value."""

    variant: str
    test: ProportionTestResult
    adjusted_p_value: float
    significant: bool


def check_alpha(alpha: float) -> float:
    """`alpha` when it is a probability strictly between 0 and 0.5, else `InvalidChoice`."""
    if not 0 < alpha < 0.5:
        raise InvalidChoice("alpha", str(alpha), "a number between 0 and 0.5, e.g. 0.05")
    return alpha


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - check_alpha(alpha) / 2))


def two_proportion_test(
    control: Counts, treatment: Counts, alpha: float = 0.05
) -> ProportionTestResult:
    """Pooled two-proportion z-test, unpooled Wald interval for the difference and a
    log-ratio (Katz) interval for the relative lift.

    z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)) with p = (x_a + x_b) / (n_a + n_b)
    (statsmodels `proportions_ztest`); difference ± z_{1-α/2} sqrt(p_a q_a/n_a + p_b q_b/n_b);
    lift interval exp(log(p_b/p_a) ± z_{1-α/2} sqrt(1/x_a - 1/n_a + 1/x_b - 1/n_b)) - 1
    (Katz, Baptista, Azen & Pike 1978; statsmodels `confint_proportions_2indep`,
    compare="ratio", method="log"). When both rates are 0 or both 1 the pooled variance is 0:
    the rates are equal, z = 0 and p = 1.
    """
    a, b = control.check("control"), treatment.check("treatment")
    p_a, p_b = a.rate, b.rate
    pooled = (a.conversions + b.conversions) / (a.units + b.units)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / a.units + 1 / b.units))
    se_log = None
    if a.conversions and b.conversions:
        se_log = math.sqrt(
            max(1 / a.conversions - 1 / a.units + 1 / b.conversions - 1 / b.units, 0.0)
        )
    return _rates_result(
        (p_a, p_b),
        z=(p_b - p_a) / se_pooled if se_pooled > 0 else 0.0,
        se=math.sqrt(p_a * (1 - p_a) / a.units + p_b * (1 - p_b) / b.units),
        se_log=se_log,
        alpha=alpha,
    )


def _interval(estimate: float, se: float, critical: float) -> tuple[float, float]:
    """estimate ± critical · se."""
    return estimate - critical * se, estimate + critical * se


def _rates_result(
    rates: tuple[float, float], z: float, se: float, se_log: float | None, alpha: float
) -> ProportionTestResult:
    """Two rates (control, treatment) compared: the difference's Wald interval from its
    standard error `se`, the two-sided normal p-value of `z`, and the relative lift with the
    log-ratio interval exp(log(b/a) ± z_{1-α/2} se_log) - 1 (None without `se_log`)."""
    rate_a, rate_b = rates
    critical = _z(alpha)
    difference = rate_b - rate_a
    ci_low = ci_high = None
    if se_log is not None:
        low, high = _interval(math.log(rate_b / rate_a), se_log, critical)
        ci_low, ci_high = math.exp(low) - 1, math.exp(high) - 1
    difference_low, difference_high = _interval(difference, se, critical)
    return ProportionTestResult(
        control_rate=rate_a,
        treatment_rate=rate_b,
        difference=difference,
        difference_ci_low=difference_low,
        difference_ci_high=difference_high,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))),
        lift=rate_b / rate_a - 1 if rate_a > 0 else None,
        ci_low=ci_low,
        ci_high=ci_high,
        alpha=alpha,
    )


def _relative_interval(
    mean_a: float, mean_b: float, se_a: float, se_b: float, critical: float
) -> tuple[float | None, float | None, float | None]:
    """mean_b / mean_a - 1 and its delta-method interval for independent means:
    Var(m_b / m_a) ≈ se_b² / m_a² + m_b² se_a² / m_a⁴ (Deng, Knoblich & Lu 2018, eq. 4)."""
    if mean_a == 0:
        return None, None, None
    ratio = mean_b / mean_a
    se = math.sqrt(se_b**2 / mean_a**2 + mean_b**2 * se_a**2 / mean_a**4)
    return (ratio - 1, *_interval(ratio - 1, se, critical))


def welch_test_from_stats(
    control: tuple[float, float, int],
    treatment: tuple[float, float, int],
    alpha: float = 0.05,
) -> MeanTestResult:
    """Welch's unequal-variance t-test from (mean, standard deviation, n) per variant.

    t = (m_b - m_a) / sqrt(s_a²/n_a + s_b²/n_b), Welch-Satterthwaite degrees of freedom
    ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1)) (Welch 1947);
    the difference's interval uses t_{1-α/2, ν} (SciPy `ttest_ind(equal_var=False)`).
    """
    check_alpha(alpha)
    for name, (_, sd, n) in (("control", control), ("treatment", treatment)):
        if n < 2:
            raise InvalidChoice(f"{name}.n", str(n), "at least 2 observations")
        if not sd >= 0:
            raise InvalidChoice(f"{name}.sd", str(sd), "a standard deviation ≥ 0")
    (m_a, s_a, n_a), (m_b, s_b, n_b) = control, treatment
    v_a, v_b = s_a**2 / n_a, s_b**2 / n_b
    se = math.sqrt(v_a + v_b)
    if se == 0:
        raise DataError(
            "both variants' outcomes are constant (standard deviation 0): a t-test has no "
            "variance to work with; compare the values directly"
        )
    df = (v_a + v_b) ** 2 / (v_a**2 / (n_a - 1) + v_b**2 / (n_b - 1))
    t = (m_b - m_a) / se
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    lift, ci_low, ci_high = _relative_interval(m_a, m_b, math.sqrt(v_a), math.sqrt(v_b), _z(alpha))
    difference_low, difference_high = _interval(m_b - m_a, se, critical)
    return MeanTestResult(
        control_mean=m_a,
        treatment_mean=m_b,
        difference=m_b - m_a,
        difference_ci_low=difference_low,
        difference_ci_high=difference_high,
        t=t,
        degrees_of_freedom=df,
        p_value=float(2 * stats.t.sf(abs(t), df)),
        lift=lift,
        ci_low=ci_low,
        ci_high=ci_high,
        alpha=alpha,
    )


def _summary(values: Sequence[float] | np.ndarray, name: str) -> tuple[float, float, int]:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or not np.isfinite(array).all():
        raise InvalidChoice(name, f"{array.size} values", "a list of finite numbers")
    if array.size < 2:
        raise InvalidChoice(name, f"{array.size} values", "at least 2 observations")
    return float(array.mean()), float(array.std(ddof=1)), int(array.size)


def welch_test(
    control: Sequence[float] | np.ndarray,
    treatment: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
) -> MeanTestResult:
    """Welch's t-test on one value per unit (e.g. revenue per visitor); see
    `welch_test_from_stats`."""
    return welch_test_from_stats(
        _summary(control, "control"), _summary(treatment, "treatment"), alpha
    )


def cuped_test(
    control: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    treatment: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    alpha: float = 0.05,
) -> CupedResult:
    """Welch's test after CUPED: each variant is (outcomes, pre-period covariate) per unit.

    Y' = Y - θ (X - mean X) with θ = Cov(X, Y) / Var(X) over both variants pooled
    (Deng, Xu, Kohavi & Walker 2013, eq. 3-4); the treatment effect's expectation is
    unchanged and Var(Y') = Var(Y) (1 - ρ²). A constant covariate leaves Y as it is (θ = 0).
    """
    ys, xs = [], []
    for name, (y, x) in (("control", control), ("treatment", treatment)):
        y_arr, x_arr = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
        _summary(y_arr, f"{name}.outcomes")
        _summary(x_arr, f"{name}.covariate")
        if y_arr.shape != x_arr.shape:
            raise InvalidChoice(
                f"{name}.covariate", f"{x_arr.size} values", f"one per outcome ({y_arr.size})"
            )
        ys.append(y_arr)
        xs.append(x_arr)
    y_all, x_all = np.concatenate(ys), np.concatenate(xs)
    var_x = float(np.var(x_all, ddof=1))
    theta = float(np.cov(x_all, y_all, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    mean_x = float(x_all.mean())
    adjusted = [y - theta * (x - mean_x) for y, x in zip(ys, xs, strict=True)]
    var_y = float(np.var(y_all, ddof=1))
    reduction = 1 - float(np.var(np.concatenate(adjusted), ddof=1)) / var_y if var_y > 0 else 0.0
    return CupedResult(
        theta=theta,
        variance_reduction=reduction,
        adjusted=welch_test(adjusted[0], adjusted[1], alpha),
        unadjusted=welch_test(ys[0], ys[1], alpha),
    )


def ratio_metric_test(
    control: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    treatment: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    alpha: float = 0.05,
) -> ProportionTestResult:
    """A ratio of sums when the analysis unit (e.g. checkout session) is finer than the
    randomization unit (visitor): each variant is (numerators, denominators) per
    randomized unit, e.g. (purchases, checkout sessions) per visitor.

    R = Σ y / Σ x; Var(R) ≈ (σ_y² - 2 R σ_xy + R² σ_x²) / (n μ_x²) by the delta method
    (Deng, Knoblich & Lu 2018, "Applying the Delta Method in Metric Analytics", §3), which
    keeps the units' sessions correlated instead of treating sessions as independent.
    The difference's test is z = (R_b - R_a) / sqrt(Var R_a + Var R_b) (unpooled) and the
    lift's interval is exp(log(R_b/R_a) ± z sqrt(Var R_a / R_a² + Var R_b / R_b²)) - 1.
    """
    check_alpha(alpha)
    ratios, variances = [], []
    for name, (y, x) in (("control", control), ("treatment", treatment)):
        y_arr, x_arr = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
        _, _, n = _summary(y_arr, f"{name}.numerators")
        _summary(x_arr, f"{name}.denominators")
        if y_arr.shape != x_arr.shape or x_arr.sum() <= 0:
            raise InvalidChoice(
                f"{name}.denominators", f"{x_arr.size} values", "one per unit, with a sum > 0"
            )
        ratio = float(y_arr.sum() / x_arr.sum())
        cov = np.cov(y_arr, x_arr, ddof=1)
        variance = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (
            n * float(x_arr.mean()) ** 2
        )
        ratios.append(ratio)
        variances.append(max(float(variance), 0.0))
    (r_a, r_b), (v_a, v_b) = ratios, variances
    se = math.sqrt(v_a + v_b)
    se_log = math.sqrt(v_a / r_a**2 + v_b / r_b**2) if r_a > 0 and r_b > 0 else None
    z = (r_b - r_a) / se if se > 0 else 0.0
    return _rates_result((r_a, r_b), z=z, se=se, se_log=se_log, alpha=alpha)


def prob_beta_greater(x: tuple[float, float], y: tuple[float, float]) -> float:
    """P(X > Y) for independent X ~ Beta(x) and Y ~ Beta(y), exactly.

    With an integer first shape of X the closed form is
    P = Σ_{i=0}^{α_x-1} B(α_y + i, β_x + β_y) / ((β_x + i) B(1 + i, β_x) B(α_y, β_y))
    (Evan Miller 2014, "Formulas for Bayesian A/B Testing", after Cook 2005), summed in
    log space; otherwise P = ∫₀¹ f_X(t) F_Y(t) dt by adaptive quadrature around X's mass.
    """
    (a_x, b_x), (a_y, b_y) = x, y
    if min(a_x, b_x, a_y, b_y) <= 0:
        raise InvalidChoice("beta shape", str(min(a_x, b_x, a_y, b_y)), "numbers > 0")
    if float(a_x).is_integer() and a_x <= 5_000_000:
        i = np.arange(int(a_x), dtype=float)
        log_terms = (
            special.betaln(a_y + i, b_x + b_y)
            - np.log(b_x + i)
            - special.betaln(1 + i, b_x)
            - special.betaln(a_y, b_y)
        )
        return float(min(max(np.exp(special.logsumexp(log_terms)), 0.0), 1.0))
    low, high = stats.beta.ppf([1e-12, 1 - 1e-12], a_x, b_x)
    value, _ = integrate.quad(
        lambda t: stats.beta.pdf(t, a_x, b_x) * stats.beta.cdf(t, a_y, b_y),
        low,
        high,
        limit=200,
        epsabs=1e-12,
    )
    return float(min(max(value, 0.0), 1.0))


def beta_binomial(
    control: Counts, treatment: Counts, prior: tuple[float, float] = (1.0, 1.0)
) -> BayesianResult:
    """P(B > A) and each choice's expected loss under Beta(prior) priors (default uniform).

    Expected loss of shipping B, E[max(p_A - p_B, 0)] = E[p_A] P(A⁺ > B) - E[p_B] P(A > B⁺)
    where A⁺ ~ Beta(α_A + 1, β_A) (since t·Beta(t; α, β) = α/(α+β) Beta(t; α+1, β);
    Stucchio 2015, "Bayesian A/B Testing at VWO", §5).
    """
    a, b = control.check("control"), treatment.check("treatment")
    if min(prior) <= 0:
        raise InvalidChoice("prior", f"{prior[0]}, {prior[1]}", "two numbers > 0, e.g. 1, 1")
    post_a = (prior[0] + a.conversions, prior[1] + a.units - a.conversions)
    post_b = (prior[0] + b.conversions, prior[1] + b.units - b.conversions)
    mean_a = post_a[0] / sum(post_a)
    mean_b = post_b[0] / sum(post_b)
    a_plus, b_plus = (post_a[0] + 1, post_a[1]), (post_b[0] + 1, post_b[1])
    loss_b = mean_a * prob_beta_greater(a_plus, post_b) - mean_b * prob_beta_greater(post_a, b_plus)
    loss_a = mean_b * prob_beta_greater(b_plus, post_a) - mean_a * prob_beta_greater(post_b, a_plus)
    return BayesianResult(
        prob_b_beats_a=prob_beta_greater(post_b, post_a),
        expected_loss_a=max(loss_a, 0.0),
        expected_loss_b=max(loss_b, 0.0),
        control_posterior=post_a,
        treatment_posterior=post_b,
    )


def sample_ratio_mismatch(
    units: Sequence[int], weights: Sequence[float] | None = None
) -> SampleRatioResult:
    """Chi-square goodness of fit of units per variant to the planned `weights` (default
    equal): χ² = Σ (O - E)² / E with E = N w / Σ w, k - 1 degrees of freedom (Pearson;
    Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch"). A small p (< 0.001 is the
    usual alarm) says the assignment, not the treatment, differs between variants.
    """
    observed = np.asarray(units, dtype=float)
    if observed.size < 2 or (observed < 0).any() or observed.sum() <= 0:
        raise InvalidChoice("units", str(list(units)), "two or more counts ≥ 0, not all 0")
    planned = np.ones(observed.size) if weights is None else np.asarray(weights, dtype=float)
    if planned.shape != observed.shape or (planned <= 0).any():
        raise InvalidChoice("weights", str(list(planned)), "one weight > 0 per variant")
    expected = observed.sum() * planned / planned.sum()
    chi_square, p_value = stats.chisquare(observed, expected)
    return SampleRatioResult(
        observed=tuple(int(v) for v in observed),
        expected=tuple(float(v) for v in expected),
        chi_square=float(chi_square),
        p_value=float(p_value),
    )


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order: sorted ascending,
    p̃_(j) = max_{i ≤ j} min(1, (m - i + 1) p_(i)) (Holm 1979). Rejecting p̃ ≤ α controls
    the family-wise error rate at α."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return [float(v) for v in adjusted]


def compare_variants(
    control: Counts, treatments: Mapping[str, Counts], alpha: float = 0.05
) -> list[VariantComparison]:
    """Each treatment (e.g. 20+ creatives) against the control with `two_proportion_test`,
    p-values Holm-adjusted over the family so the chance of any false winner stays ≤ α."""
    if not treatments:
        raise InvalidChoice("treatments", "none", "one or more variants")
    tests = {
        name: two_proportion_test(control, counts.check(f"treatment {name}"), alpha)
        for name, counts in treatments.items()
    }
    adjusted = holm_adjust([test.p_value for test in tests.values()])
    return [
        VariantComparison(name, test, p, p <= alpha)
        for (name, test), p in zip(tests.items(), adjusted, strict=True)
    ]
