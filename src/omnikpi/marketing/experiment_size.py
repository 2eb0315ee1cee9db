"""How many units an A/B test needs per variant, and the power a given size achieves, for
a conversion rate or a mean, two-sided, equal allocation.

    >>> proportion_sample_size(0.10, 0.02).units_per_variant
    3841
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from omnikpi.errors import InvalidChoice
from omnikpi.marketing.experiments import check_alpha

__all__ = [
    "SampleSize",
    "mean_power",
    "mean_sample_size",
    "proportion_power",
    "proportion_sample_size",
]


@dataclass(frozen=True)
class SampleSize:
    """Units per variant (rounded up) to detect an absolute effect `mde` with `power` at
    two-sided level `alpha`, and the power those units reach (≥ `power`); `baseline` is
    the control's rate or mean when known."""

    units_per_variant: int
    total_units: int
    baseline: float | None
    mde: float
    alpha: float
    power: float
    achieved_power: float


def _check(power: float, alpha: float) -> tuple[float, float]:
    check_alpha(alpha)
    if not 0 < power < 1:
        raise InvalidChoice("power", str(power), "a number between 0 and 1, e.g. 0.8")
    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def _rates(baseline: float, mde: float) -> tuple[float, float]:
    if not 0 < baseline < 1:
        raise InvalidChoice("baseline", str(baseline), "a rate between 0 and 1, e.g. 0.1")
    if mde == 0 or not 0 < baseline + mde < 1:
        raise InvalidChoice(
            "mde",
            str(mde),
            f"an absolute change ≠ 0 with 0 < {baseline} + mde < 1",
        )
    return baseline, baseline + mde


def proportion_power(baseline: float, mde: float, units: int, alpha: float = 0.05) -> float:
    """Power of the pooled two-proportion z-test with `units` per variant:
    Φ((|p₂ - p₁| √n - z_{1-α/2} √(2 p̄ q̄)) / √(p₁q₁ + p₂q₂)), the far tail neglected
    (Fleiss, Levin & Paik 2003, §4.2)."""
    p1, p2 = _rates(baseline, mde)
    if units < 1:
        raise InvalidChoice("units", str(units), "a whole number ≥ 1")
    z_alpha, _ = _check(0.5, alpha)
    p_bar = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    shift = abs(p2 - p1) * math.sqrt(units) - z_alpha * math.sqrt(2 * p_bar * (1 - p_bar))
    return float(stats.norm.cdf(shift / spread))


def proportion_sample_size(
    baseline: float, mde: float, power: float = 0.8, alpha: float = 0.05
) -> SampleSize:
    """Units per variant for the pooled two-proportion z-test to detect baseline → baseline
    + mde: n = (z_{1-α/2} √(2 p̄ q̄) + z_{power} √(p₁q₁ + p₂q₂))² / (p₂ - p₁)², p̄ = (p₁ + p₂)/2
    (Fleiss, Levin & Paik 2003, eq. 4.14, without continuity correction)."""
    p1, p2 = _rates(baseline, mde)
    z_alpha, z_power = _check(power, alpha)
    p_bar = (p1 + p2) / 2
    root = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    units = math.ceil(root**2 / (p2 - p1) ** 2)
    return SampleSize(
        units_per_variant=units,
        total_units=2 * units,
        baseline=baseline,
        mde=mde,
        alpha=alpha,
        power=power,
        achieved_power=proportion_power(baseline, mde, units, alpha),
    )


def _mean_args(sd: float, mde: float) -> None:
    if not sd > 0:
        raise InvalidChoice("sd", str(sd), "the outcome's standard deviation, > 0")
    if mde == 0:
        raise InvalidChoice("mde", str(mde), "an absolute change of the mean ≠ 0")


def mean_power(sd: float, mde: float, units: int, alpha: float = 0.05) -> float:
    """Power of the two-sample t-test with `units` per variant and common `sd`: the
    noncentral t with 2n - 2 degrees of freedom and noncentrality δ / (σ √(2/n)),
    both tails (Cohen 1988, ch. 2; statsmodels `TTestIndPower`)."""
    _mean_args(sd, mde)
    if units < 2:
        raise InvalidChoice("units", str(units), "a whole number ≥ 2")
    _check(0.5, alpha)
    df = 2 * units - 2
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    noncentrality = abs(mde) / (sd * math.sqrt(2 / units))
    return float(
        stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality)
    )


def mean_sample_size(
    sd: float, mde: float, power: float = 0.8, alpha: float = 0.05, baseline: float | None = None
) -> SampleSize:
    """Units per variant for Welch's/Student's t-test to detect a change `mde` of a mean with
    standard deviation `sd`: start from the normal n = 2 (z_{1-α/2} + z_{power})² σ² / δ²
    and step up until the noncentral-t power (`mean_power`) reaches `power`."""
    _mean_args(sd, mde)
    z_alpha, z_power = _check(power, alpha)
    units = max(2, math.ceil(2 * (z_alpha + z_power) ** 2 * sd**2 / mde**2))
    while mean_power(sd, mde, units, alpha) < power:
        units += 1
    return SampleSize(
        units_per_variant=units,
        total_units=2 * units,
        baseline=baseline,
        mde=mde,
        alpha=alpha,
        power=power,
        achieved_power=mean_power(sd, mde, units, alpha),
    )
