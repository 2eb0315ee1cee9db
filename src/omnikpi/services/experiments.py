"""Experiment readouts: a stored experiment (`experiments`, `experiment_assignments`) joined
to the sessions, events and orders of its units, or counts given by hand, analyzed with
`omnikpi.marketing.experiments`. Readouts are aggregates per variant (no customer ids).

The outcome of a stored experiment follows its `primary_metric`, as
`omnikpi.services.experiment_units` reads it.

Revenue per unit is compared beside the primary metric with Welch's t-test after CUPED on
the unit's revenue before assignment, which no treatment can have changed. A checkout
completion rate is tested as a ratio of sums per visitor (delta method,
`ratio_metric_test`), the Bayesian figures treating checkout sessions as independent
trials (an approximation when visitors repeat checkouts); a conversion per unit with the
pooled two-proportion z-test. The sample-ratio check compares the units per variant with
the planned split: the one given, else equal shares for an A/B test; a campaign holdout's
split is not stored, so it is checked only when given.

    >>> readout = analyze_counts(Counts(100, 1000), [Counts(120, 1000)])
    >>> round(readout.treatments[0].test.z, 4)
    1.4293
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.errors import DataError, InvalidChoice
from omnikpi.marketing.experiment_size import (
    SampleSize,
    mean_sample_size,
    proportion_sample_size,
)
from omnikpi.marketing.experiments import (
    BayesianResult,
    Counts,
    CupedResult,
    ProportionTestResult,
    SampleRatioResult,
    beta_binomial,
    check_alpha,
    cuped_test,
    holm_adjust,
    ratio_metric_test,
    sample_ratio_mismatch,
    two_proportion_test,
)
from omnikpi.services.experiment_units import CHECKOUT_COMPLETION, read_experiment
from omnikpi.settings import Settings

__all__ = [
    "CHECKOUT_COMPLETION",
    "Counts",
    "CountsReadout",
    "ExperimentReadout",
    "TreatmentReadout",
    "VariantSummary",
    "analyze_counts",
    "analyze_experiment",
    "size_experiment",
]


@dataclass(frozen=True)
class VariantSummary:
    """One variant's units, the outcome's trials (checkout sessions, or the units) and
    conversions, and revenue per unit."""

    variant: str
    units: int
    trials: int
    conversions: int
    rate: float
    revenue: float
    revenue_per_unit: float


@dataclass(frozen=True)
class TreatmentReadout:
    """A treatment against the control: the primary test, its Holm-adjusted p-value over all
    treatments, the Bayesian figures and (stored experiments) revenue per unit, CUPED."""

    variant: str
    test: ProportionTestResult
    adjusted_p_value: float
    significant: bool
    bayesian: BayesianResult
    revenue: CupedResult | None = None

    def row(self) -> dict[str, Any]:
        """The flat row the CLI and API print (rates, z, p, lift with its interval, ...)."""
        t, b = self.test, self.bayesian
        row: dict[str, Any] = {
            "variant": self.variant,
            "control_rate": t.control_rate,
            "treatment_rate": t.treatment_rate,
            "difference": t.difference,
            "difference_ci_low": t.difference_ci_low,
            "difference_ci_high": t.difference_ci_high,
            "z": t.z,
            "p_value": t.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "significant": self.significant,
            "lift": t.lift,
            "ci_low": t.ci_low,
            "ci_high": t.ci_high,
            "prob_b_beats_a": b.prob_b_beats_a,
            "expected_loss_control": b.expected_loss_a,
            "expected_loss_treatment": b.expected_loss_b,
        }
        if self.revenue is not None:
            r = self.revenue.adjusted
            row |= {
                "revenue_per_unit_difference": r.difference,
                "revenue_per_unit_ci_low": r.difference_ci_low,
                "revenue_per_unit_ci_high": r.difference_ci_high,
                "revenue_per_unit_p_value": r.p_value,
                "revenue_per_unit_p_value_unadjusted": self.revenue.unadjusted.p_value,
                "cuped_theta": self.revenue.theta,
                "cuped_variance_reduction": self.revenue.variance_reduction,
            }
        return row


@dataclass(frozen=True)
class CountsReadout:
    """Treatments against a control from conversion counts, with the SRM check on units."""

    control: Counts
    treatments: tuple[TreatmentReadout, ...]
    srm: SampleRatioResult
    alpha: float

    def as_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "correction": "holm",
            "control": asdict(self.control) | {"rate": self.control.rate},
            "srm_chi_square": self.srm.chi_square,
            "srm_p_value": self.srm.p_value,
            "treatments": [t.row() for t in self.treatments],
        }


@dataclass(frozen=True)
class ExperimentReadout:
    """A stored experiment's readout: its definition, the outcome read, each variant's
    summary, each treatment against the control and the sample-ratio check (None when the
    planned split is unknown)."""

    experiment_id: str
    name: str
    kind: str
    unit: str
    primary_metric: str
    start_date: date
    end_date: date
    variants: tuple[VariantSummary, ...]
    treatments: tuple[TreatmentReadout, ...]
    srm: SampleRatioResult | None
    planned_split: tuple[float, ...] | None
    alpha: float

    def as_json(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "primary_metric": self.primary_metric,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "alpha": self.alpha,
            "correction": "holm",
            "variants": [asdict(v) for v in self.variants],
            "planned_split": list(self.planned_split) if self.planned_split else None,
            "srm_chi_square": self.srm.chi_square if self.srm else None,
            "srm_p_value": self.srm.p_value if self.srm else None,
            "treatments": [t.row() for t in self.treatments],
        }


def _readouts(
    control: Counts,
    treatments: Sequence[tuple[str, Counts, ProportionTestResult, CupedResult | None]],
    alpha: float,
    prior: tuple[float, float],
) -> tuple[TreatmentReadout, ...]:
    adjusted = holm_adjust([test.p_value for _, _, test, _ in treatments])
    return tuple(
        TreatmentReadout(name, test, p, p <= alpha, beta_binomial(control, counts, prior), revenue)
        for (name, counts, test, revenue), p in zip(treatments, adjusted, strict=True)
    )


def analyze_counts(
    control: Counts,
    treatments: Sequence[Counts],
    names: Sequence[str | None] | None = None,
    *,
    split: Sequence[float] | None = None,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
) -> CountsReadout:
    """Each treatment's conversions against the control's (two-proportion z-test, Holm over
    the treatments, beta-binomial with `prior`) and the SRM check of the units against
    `split` (default equal shares). Unnamed treatments are "treatment", or "treatment_1", ..."""
    check_alpha(alpha)
    if not treatments:
        raise InvalidChoice("treatments", "none", "one or more treatments")
    given = list(names) if names else [None] * len(treatments)
    labels = [
        name or default for name, default in zip(given, _default_names(len(given)), strict=True)
    ]
    if len(given) != len(treatments) or len(set(labels)) != len(labels):
        raise InvalidChoice("names", ", ".join(labels), "one distinct name per treatment")
    control.check("control")
    tests = [
        (name, counts, two_proportion_test(control, counts.check(name), alpha), None)
        for name, counts in zip(labels, treatments, strict=True)
    ]
    srm = sample_ratio_mismatch([control.units, *(t.units for t in treatments)], split)
    return CountsReadout(control, _readouts(control, tests, alpha, prior), srm, alpha)


def _default_names(count: int) -> list[str]:
    return ["treatment"] if count == 1 else [f"treatment_{i}" for i in range(1, count + 1)]


def _summaries(variants: list[str], units: pd.DataFrame) -> list[VariantSummary]:
    summaries = []
    for variant in variants:
        rows = units[units["variant"] == variant]
        trials, conversions = int(rows["trials"].sum()), int(rows["conversions"].sum())
        revenue = float(rows["revenue"].sum())
        summaries.append(
            VariantSummary(
                variant=variant,
                units=len(rows),
                trials=trials,
                conversions=conversions,
                rate=conversions / trials if trials else float("nan"),
                revenue=revenue,
                revenue_per_unit=revenue / len(rows) if len(rows) else float("nan"),
            )
        )
    return summaries


def analyze_experiment(
    settings: Settings,
    experiment_id: str,
    *,
    split: Sequence[float] | None = None,
    alpha: float = 0.05,
    prior: tuple[float, float] = (1.0, 1.0),
) -> ExperimentReadout:
    """Read experiment `experiment_id` from the warehouse of `settings` and analyze it:
    each treatment against the control (the first variant listed), Holm-adjusted, with
    revenue per unit and the SRM check against `split` (see the module docstring)."""
    from omnikpi.services.warehouse import read_warehouse

    check_alpha(alpha)
    with read_warehouse(settings) as warehouse:
        definition, units = read_experiment(warehouse, experiment_id)
    variants = [v.strip() for v in str(definition["variants"]).split(",") if v.strip()]
    unknown = sorted(set(units["variant"]) - set(variants))
    if len(variants) < 2 or unknown:
        raise DataError(
            f'experiment "{experiment_id}": variants "{definition["variants"]}" must list the '
            f"control then the treatments, every assigned one included (also: {unknown})"
        )
    summaries = _summaries(variants, units)
    for summary in summaries:
        if summary.units < 2 or summary.trials < 1:
            raise DataError(
                f'experiment "{experiment_id}": variant "{summary.variant}" has '
                f"{summary.units} units and {summary.trials} trials; too few to analyze"
            )
    control = summaries[0]
    control_counts = Counts(control.conversions, control.trials)
    per_variant = {v: units[units["variant"] == v] for v in variants}
    ratio = definition["primary_metric"] == CHECKOUT_COMPLETION

    def arrays(variant: str) -> tuple[np.ndarray, np.ndarray]:
        rows = per_variant[variant]
        return rows["conversions"].to_numpy(float), rows["trials"].to_numpy(float)

    tests = []
    for summary in summaries[1:]:
        counts = Counts(summary.conversions, summary.trials)
        test = (
            ratio_metric_test(arrays(control.variant), arrays(summary.variant), alpha)
            if ratio
            else two_proportion_test(control_counts, counts, alpha)
        )
        revenue = _revenue_test(per_variant[control.variant], per_variant[summary.variant], alpha)
        tests.append((summary.variant, counts, test, revenue))
    planned = tuple(split) if split else None
    if planned is None and definition["kind"] == "ab_test":
        planned = tuple(1.0 for _ in variants)
    srm = sample_ratio_mismatch([s.units for s in summaries], planned) if planned else None
    return ExperimentReadout(
        experiment_id=str(definition["experiment_id"]),
        name=str(definition["name"]),
        kind=str(definition["kind"]),
        unit=str(definition["unit"]),
        primary_metric=str(definition["primary_metric"]),
        start_date=definition["start_date"],
        end_date=definition["end_date"],
        variants=tuple(summaries),
        treatments=_readouts(control_counts, tests, alpha, prior),
        srm=srm,
        planned_split=planned,
        alpha=alpha,
    )


def _revenue_test(
    control: pd.DataFrame, treatment: pd.DataFrame, alpha: float
) -> CupedResult | None:
    """Welch on revenue per unit after CUPED with the pre-assignment revenue; None when
    both variants' revenue is constant (e.g. no purchases at all)."""
    a, b = control["revenue"].to_numpy(float), treatment["revenue"].to_numpy(float)
    if a.std() == 0 and b.std() == 0:
        return None
    pre_a, pre_b = control["pre_revenue"].to_numpy(float), treatment["pre_revenue"].to_numpy(float)
    return cuped_test((a, pre_a), (b, pre_b), alpha)


def size_experiment(
    mde: float,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
) -> SampleSize:
    """Units per variant to detect an absolute change `mde`: of a conversion rate from
    `baseline`, or of a mean whose standard deviation is `sd` (give exactly one)."""
    if (baseline is None) == (sd is None):
        raise InvalidChoice(
            "--baseline", str(baseline), "either --baseline (a rate) or --sd (a mean), not both"
        )
    if sd is not None:
        return mean_sample_size(sd, mde, power, alpha)
    assert baseline is not None
    return proportion_sample_size(baseline, mde, power, alpha)
