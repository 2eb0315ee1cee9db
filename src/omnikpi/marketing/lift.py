"""Conversion lift: what a campaign added over a random holdout (brand lift is in
`omnikpi.marketing.brand_lift`).

Pure functions of counts or per-unit arrays; the statistics are those of
`omnikpi.marketing.experiments` (no second copy). With n_e exposed units:

- incremental conversions Δc = n_e (p_e - p_h): the exposed group's conversions minus those
  it would have had at the holdout's rate; its interval is n_e times the Wald interval of
  p_e - p_h (`two_proportion_test`), the delta method with n_e fixed.
- incremental revenue Δr = n_e (r̄_e - r̄_h) with r̄ the revenue per unit; its interval is
  n_e times Welch's interval of r̄_e - r̄_h (`welch_test_from_stats`), which needs the
  revenue per unit's standard deviation in each group (per-unit data gives it; counts may).
- iROAS = Δr / spend, spend a known constant, so its interval is Δr's divided by the spend;
  cost per incremental conversion = spend / Δc (interval by inverting Δc's when it is > 0).
- the incremental share Δc / c_e = 1 - p_h / p_e of the exposed group's conversions that
  the campaign caused, from the relative lift's log-ratio interval.

`conversion_lift_from_units` can instead resample units within each group (a seeded
percentile bootstrap; Efron & Tibshirani 1993, ch. 13), which does not lean on the normal
approximation when revenue is skewed or conversions are few.

    >>> lift = conversion_lift(GroupTotals(1000, 50), GroupTotals(4000, 280), spend=1000.0)
    >>> round(lift.incremental_conversions.value)
    80
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from omnikpi.errors import DataError, InvalidChoice
from omnikpi.marketing.experiments import (
    Counts,
    ProportionTestResult,
    check_alpha,
    two_proportion_test,
    welch_test_from_stats,
)

__all__ = [
    "ConversionLift",
    "Estimate",
    "GroupTotals",
    "conversion_lift",
    "conversion_lift_from_units",
]

#: Resamples of the bootstrap when one is asked for without a number.
DEFAULT_RESAMPLES = 2000
_CHUNK = 200


@dataclass(frozen=True)
class GroupTotals:
    """One group of a lift study: units (customers reached, or held out), units that
    converted, their revenue (None when unknown: no incremental revenue, no iROAS) and the
    standard deviation of revenue per unit (None when unknown: the revenue's interval is
    then not given).

    >>> GroupTotals(1000, 50, revenue=2_500_000.0, revenue_sd=12_000.0).rate
    0.05
    """

    units: int
    conversions: int
    revenue: float | None = None
    revenue_sd: float | None = None

    def check(self, name: str) -> GroupTotals:
        """Itself, or `InvalidChoice` naming `name` when a count or amount is impossible."""
        Counts(self.conversions, self.units).check(name)
        if self.revenue is not None and not (math.isfinite(self.revenue) and self.revenue >= 0):
            raise InvalidChoice(f"{name}.revenue", str(self.revenue), "an amount ≥ 0")
        if self.revenue_sd is not None and not (
            math.isfinite(self.revenue_sd) and self.revenue_sd >= 0
        ):
            raise InvalidChoice(f"{name}.revenue_sd", str(self.revenue_sd), "a number ≥ 0")
        return self

    @property
    def rate(self) -> float:
        return self.conversions / self.units

    @property
    def revenue_per_unit(self) -> float | None:
        return None if self.revenue is None else self.revenue / self.units


@dataclass(frozen=True)
class Estimate:
    """A figure with its interval; the interval's ends are None when it cannot be given
    (unknown spread, or an end that is unbounded)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class ConversionLift:
    """Exposed against holdout: the conversion test, incremental conversions and revenue,
    iROAS and cost per incremental conversion (None without spend), incremental share;
    `method` is "delta" or "bootstrap" (then `resamples` and `seed` say how)."""

    holdout: GroupTotals
    exposed: GroupTotals
    spend: float | None
    test: ProportionTestResult
    incremental_conversions: Estimate
    incremental_revenue: Estimate
    incremental_share: Estimate
    iroas: Estimate | None
    cost_per_incremental_conversion: Estimate | None
    method: str
    alpha: float
    resamples: int | None = None
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        t = self.test
        return {
            "method": self.method,
            "alpha": self.alpha,
            "resamples": self.resamples,
            "seed": self.seed,
            "spend": self.spend,
            "holdout": asdict(self.holdout) | {"rate": self.holdout.rate},
            "exposed": asdict(self.exposed) | {"rate": self.exposed.rate},
            "difference": t.difference,
            "difference_ci_low": t.difference_ci_low,
            "difference_ci_high": t.difference_ci_high,
            "lift": t.lift,
            "lift_ci_low": t.ci_low,
            "lift_ci_high": t.ci_high,
            "z": t.z,
            "p_value": t.p_value,
            "incremental_conversions": asdict(self.incremental_conversions),
            "incremental_revenue": asdict(self.incremental_revenue),
            "incremental_share": asdict(self.incremental_share),
            "iroas": asdict(self.iroas) if self.iroas else None,
            "cost_per_incremental_conversion": (
                asdict(self.cost_per_incremental_conversion)
                if self.cost_per_incremental_conversion
                else None
            ),
        }


def _check_spend(spend: float | None) -> float | None:
    if spend is not None and not (math.isfinite(spend) and spend > 0):
        raise InvalidChoice("spend", str(spend), "the campaign's spend, an amount > 0")
    return spend


def _per_spend(spend: float | None, revenue: Estimate) -> Estimate | None:
    if spend is None or revenue.value is None:
        return None
    return Estimate(
        revenue.value / spend,
        None if revenue.ci_low is None else revenue.ci_low / spend,
        None if revenue.ci_high is None else revenue.ci_high / spend,
    )


def _cost_per(spend: float | None, conversions: Estimate) -> Estimate | None:
    """spend / Δc, its interval the inverted interval of Δc: [spend/high, spend/low], the
    upper end unbounded (None) when Δc's interval reaches 0; None when Δc ≤ 0."""
    if spend is None or conversions.value is None or conversions.value <= 0:
        return None
    low, high = conversions.ci_low, conversions.ci_high
    return Estimate(
        spend / conversions.value,
        spend / high if high is not None and high > 0 else None,
        spend / low if low is not None and low > 0 else None,
    )


def _share(test: ProportionTestResult) -> Estimate:
    """Δc / c_e = 1 - p_h / p_e = lift / (1 + lift), monotone in the lift."""

    def of(lift: float | None) -> float | None:
        return None if lift is None else lift / (1 + lift)

    if test.treatment_rate == 0:
        return Estimate(None, None, None)
    value = 1 - test.control_rate / test.treatment_rate
    return Estimate(value, of(test.ci_low), of(test.ci_high))


def _incremental_revenue(h: GroupTotals, e: GroupTotals, alpha: float) -> Estimate:
    """n_e (r̄_e - r̄_h) with n_e times Welch's interval of the difference when both groups'
    spread is known (and not both 0)."""
    per_unit_h, per_unit_e = h.revenue_per_unit, e.revenue_per_unit
    if per_unit_h is None or per_unit_e is None:
        return Estimate(None, None, None)
    n = e.units
    value = n * (per_unit_e - per_unit_h)
    sd_h, sd_e = h.revenue_sd, e.revenue_sd
    if sd_h is None or sd_e is None or min(h.units, e.units) < 2 or not (sd_h or sd_e):
        return Estimate(value, None, None)
    welch = welch_test_from_stats((per_unit_h, sd_h, h.units), (per_unit_e, sd_e, e.units), alpha)
    return Estimate(value, n * welch.difference_ci_low, n * welch.difference_ci_high)


def conversion_lift(
    holdout: GroupTotals,
    exposed: GroupTotals,
    spend: float | None = None,
    alpha: float = 0.05,
) -> ConversionLift:
    """Incremental conversions, revenue and iROAS of `exposed` over `holdout` with delta-method
    intervals (see the module docstring); `spend` is the campaign's cost, None when unknown.

    >>> lift = conversion_lift(GroupTotals(1000, 50), GroupTotals(4000, 280))
    >>> interval = lift.incremental_conversions
    >>> round(interval.value), round(interval.ci_low, 1), round(interval.ci_high, 1)
    (80, 17.4, 142.6)
    """
    h, e = holdout.check("holdout"), exposed.check("exposed")
    check_alpha(alpha)
    _check_spend(spend)
    test = two_proportion_test(
        Counts(h.conversions, h.units), Counts(e.conversions, e.units), alpha
    )
    n = e.units
    conversions = Estimate(
        n * test.difference, n * test.difference_ci_low, n * test.difference_ci_high
    )
    revenue = _incremental_revenue(h, e, alpha)
    return ConversionLift(
        holdout=h,
        exposed=e,
        spend=spend,
        test=test,
        incremental_conversions=conversions,
        incremental_revenue=revenue,
        incremental_share=_share(test),
        iroas=_per_spend(spend, revenue),
        cost_per_incremental_conversion=_cost_per(spend, conversions),
        method="delta",
        alpha=alpha,
    )


def _unit_arrays(
    outcomes: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray], name: str
) -> tuple[np.ndarray, np.ndarray]:
    converted = np.asarray(outcomes[0], dtype=float)
    revenue = np.asarray(outcomes[1], dtype=float)
    if converted.ndim != 1 or converted.shape != revenue.shape or converted.size < 2:
        raise InvalidChoice(
            name, f"{converted.size} units", "two or more units, one conversion and revenue each"
        )
    if not (np.isfinite(converted).all() and np.isfinite(revenue).all()) or (revenue < 0).any():
        raise DataError(f"{name}: conversions and revenue must be finite, revenue ≥ 0")
    return (converted > 0).astype(float), revenue


def _totals(converted: np.ndarray, revenue: np.ndarray) -> GroupTotals:
    return GroupTotals(
        units=int(converted.size),
        conversions=int(converted.sum()),
        revenue=float(revenue.sum()),
        revenue_sd=float(revenue.std(ddof=1)),
    )


def conversion_lift_from_units(
    holdout: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    exposed: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray],
    spend: float | None = None,
    alpha: float = 0.05,
    *,
    resamples: int = 0,
    seed: int | None = None,
) -> ConversionLift:
    """`conversion_lift` from (conversions, revenue) per unit of each group; a unit converts
    when its conversions are > 0. With `resamples` > 0 the intervals of Δc, Δr, iROAS and
    cost per incremental conversion are percentile intervals of a bootstrap resampling units
    within each group `resamples` times from `seed` (required, so a readout repeats)."""
    h_conv, h_rev = _unit_arrays(holdout, "holdout")
    e_conv, e_rev = _unit_arrays(exposed, "exposed")
    delta = conversion_lift(_totals(h_conv, h_rev), _totals(e_conv, e_rev), spend, alpha)
    if resamples <= 0:
        return delta
    if seed is None:
        raise InvalidChoice("seed", "none", "a seed for the bootstrap, e.g. 7, so it repeats")
    if resamples < 100:
        raise InvalidChoice("resamples", str(resamples), "at least 100 (e.g. 2000)")
    rng = np.random.default_rng(seed)
    n = e_conv.size
    draws: list[np.ndarray] = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        h_pick = rng.integers(0, h_conv.size, (size, h_conv.size))
        e_pick = rng.integers(0, n, (size, n))
        conv = n * (e_conv[e_pick].mean(axis=1) - h_conv[h_pick].mean(axis=1))
        rev = n * (e_rev[e_pick].mean(axis=1) - h_rev[h_pick].mean(axis=1))
        draws.append(np.column_stack([conv, rev]))
    sample = np.concatenate(draws)
    low, high = np.quantile(sample, [alpha / 2, 1 - alpha / 2], axis=0)
    conversions = Estimate(delta.incremental_conversions.value, float(low[0]), float(high[0]))
    revenue = Estimate(delta.incremental_revenue.value, float(low[1]), float(high[1]))
    return ConversionLift(
        holdout=delta.holdout,
        exposed=delta.exposed,
        spend=spend,
        test=delta.test,
        incremental_conversions=conversions,
        incremental_revenue=revenue,
        incremental_share=delta.incremental_share,
        iroas=_per_spend(spend, revenue),
        cost_per_incremental_conversion=_cost_per(spend, conversions),
        method="bootstrap",
        alpha=alpha,
        resamples=resamples,
        seed=seed,
    )
