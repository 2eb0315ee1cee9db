"""Experiment readouts: a stored experiment (`experiments`, `experiment_assignments`) joined
to the sessions, events and orders of its units, or counts given by hand, analyzed with
`omnikpi.marketing.experiments`. Readouts are aggregates per variant (no customer ids).

The outcome follows the experiment's `primary_metric`:

- `checkout_completion_rate` — the share of checkout sessions that end in a purchase. A
  checkout session is a session of an assigned visitor that started on one of the
  experiment's days (local time), at or after the visitor's assignment, and has a
  `begin_checkout` event; it converts when it also has a `purchase` event. Visitors are
  randomized, not sessions, so the rate is a ratio of sums per visitor and its interval
  comes from the delta method (`ratio_metric_test`); the Bayesian figures treat checkout
  sessions as independent trials (an approximation when visitors repeat checkouts).
- `conversion_<N>d` (e.g. `conversion_14d`) — a unit converts when it places an order that
  is not cancelled within N days of its assignment (assigned_at ≤ placed_at < assigned_at
  + N days; customers: any channel, store included; visitors: orders of their sessions'
  `purchase` events). Pooled two-proportion z-test per unit.

Revenue per unit (net merchandise amount of those orders; every unit counts, 0 for none)
is compared beside the primary metric with Welch's t-test after CUPED, the covariate being
the unit's revenue over the same number of days just before its assignment (the test's
length, or N), which no treatment can have changed. The sample-ratio check compares
the units per variant with the planned split: the one given, else equal shares for an A/B
test; a campaign holdout's split is not stored, so it is checked only when given.

    >>> readout = analyze_counts(Counts(100, 1000), [Counts(120, 1000)])
    >>> round(readout.treatments[0].test.z, 4)
    1.4293
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.errors import DataError, InvalidChoice, NotFound
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
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

__all__ = [
    "CHECKOUT_COMPLETION",
    "Counts",
    "CountsReadout",
    "ExperimentReadout",
    "TreatmentReadout",
    "VariantSummary",
    "analyze_counts",
    "analyze_experiment",
    "read_experiment",
    "size_experiment",
]

CHECKOUT_COMPLETION = "checkout_completion_rate"
_CONVERSION = re.compile(r"conversion_(\d+)d")
_METRICS = f"{CHECKOUT_COMPLETION}, conversion_<N>d (e.g. conversion_14d)"


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


_DEFINITION = """
SELECT experiment_id, name, kind, unit, variants, start_date, end_date, primary_metric
FROM experiments WHERE experiment_id = ?
"""
# Per visitor: checkout sessions on the test's days after assignment, and those purchased;
# revenue of those purchases, and before assignment (the CUPED covariate) the revenue of the
# visitor's purchases over as many days as the test lasts.
_CHECKOUT_UNITS = """
WITH assigned AS (
    SELECT unit_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = ?
), steps AS (
    SELECT session_id,
           bool_or(event_type = 'begin_checkout') AS checkout,
           bool_or(event_type = 'purchase') AS purchased,
           any_value(order_id) FILTER (WHERE event_type = 'purchase') AS order_id
    FROM events WHERE event_type IN ('begin_checkout', 'purchase')
    GROUP BY session_id
), checkouts AS (
    SELECT a.unit_id, st.purchased, o.net_amount
    FROM assigned a
    JOIN sessions s ON s.visitor_id = a.unit_id AND s.started_at >= a.assigned_at
    JOIN steps st ON st.session_id = s.session_id AND st.checkout
    LEFT JOIN orders o ON o.order_id = st.order_id AND o.status <> 'cancelled'
    WHERE CAST(timezone(?, s.started_at) AS DATE) BETWEEN ? AND ?
), before AS (
    SELECT unit_id, sum(net_amount) AS pre_revenue FROM (
        SELECT DISTINCT a.unit_id, o.order_id, o.net_amount
        FROM assigned a
        JOIN events e ON e.visitor_id = a.unit_id AND e.event_type = 'purchase'
        JOIN orders o ON o.order_id = e.order_id AND o.status <> 'cancelled'
        WHERE o.placed_at < a.assigned_at AND o.placed_at >= a.assigned_at - to_days(?)
    ) GROUP BY unit_id
)
SELECT a.variant, a.unit_id,
       count(c.unit_id)::BIGINT AS trials,
       count(*) FILTER (WHERE c.purchased)::BIGINT AS conversions,
       coalesce(sum(c.net_amount) FILTER (WHERE c.purchased), 0)::DOUBLE AS revenue,
       coalesce(any_value(p.pre_revenue), 0)::DOUBLE AS pre_revenue
FROM assigned a
LEFT JOIN checkouts c ON c.unit_id = a.unit_id
LEFT JOIN before p ON p.unit_id = a.unit_id
GROUP BY a.variant, a.unit_id
ORDER BY a.variant, a.unit_id
"""
# Per unit: orders (not cancelled) within N days after the assignment, and within N days
# before it (the CUPED covariate).
_CONVERSION_ORDERS = {
    "customer": """
        SELECT a.unit_id, o.placed_at, o.net_amount FROM assigned a
        JOIN orders o ON o.customer_id = a.unit_id
    """,
    "visitor": """
        SELECT DISTINCT a.unit_id, o.order_id, o.placed_at, o.net_amount FROM assigned a
        JOIN events e ON e.visitor_id = a.unit_id AND e.event_type = 'purchase'
        JOIN orders o ON o.order_id = e.order_id
    """,
}
_CONVERSION_UNITS = """
WITH assigned AS (
    SELECT unit_id, variant, assigned_at FROM experiment_assignments WHERE experiment_id = ?
), bought AS (
    SELECT unit_id, placed_at, net_amount FROM ({orders}
        WHERE o.status <> 'cancelled' AND o.placed_at >= a.assigned_at - to_days(?)
          AND o.placed_at < a.assigned_at + to_days(?))
)
SELECT a.variant, a.unit_id, 1::BIGINT AS trials,
       (count(b.unit_id) FILTER (WHERE b.placed_at >= a.assigned_at) > 0)::BIGINT
           AS conversions,
       coalesce(sum(b.net_amount) FILTER (WHERE b.placed_at >= a.assigned_at), 0)::DOUBLE
           AS revenue,
       coalesce(sum(b.net_amount) FILTER (WHERE b.placed_at < a.assigned_at), 0)::DOUBLE
           AS pre_revenue
FROM assigned a LEFT JOIN bought b ON b.unit_id = a.unit_id
GROUP BY a.variant, a.unit_id, a.assigned_at
ORDER BY a.variant, a.unit_id
"""


def read_experiment(
    warehouse: Warehouse, experiment_id: str
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The experiment's definition and one row per assigned unit: variant, trials,
    conversions, revenue and pre-assignment revenue as the module docstring defines them,
    ordered by variant and unit so that a readout is the same on every run."""
    for table in ("experiments", "experiment_assignments"):
        if not warehouse.has_table(table):
            raise NotFound(f"the warehouse has no {table} table (load experiments first)")
    row = warehouse.fetch_row(_DEFINITION, [experiment_id])
    if row is None:
        known = [r[0] for r in warehouse.fetch_rows("SELECT experiment_id FROM experiments")]
        hint = ", ".join(sorted(known)[:10]) or "none stored"
        raise NotFound(f'experiment "{experiment_id}" does not exist (experiments: {hint})')
    keys = ("experiment_id", "name", "kind", "unit", "variants", "start_date", "end_date")
    definition = dict(zip((*keys, "primary_metric"), row, strict=True))
    metric = str(definition["primary_metric"])
    conversion = _CONVERSION.fullmatch(metric)
    if metric == CHECKOUT_COMPLETION:
        if definition["unit"] != "visitor":
            raise DataError(
                f'experiment "{experiment_id}": {metric} needs visitor units, not '
                f'"{definition["unit"]}"'
            )
        start, end = definition["start_date"], definition["end_date"]
        days = (end - start).days + 1
        units = warehouse.fetch_frame(
            _CHECKOUT_UNITS, [experiment_id, warehouse.time_zone, start, end, days]
        )
    elif conversion and definition["unit"] in _CONVERSION_ORDERS:
        sql = _CONVERSION_UNITS.format(orders=_CONVERSION_ORDERS[str(definition["unit"])])
        days = int(conversion.group(1))
        units = warehouse.fetch_frame(sql, [experiment_id, days, days])
    else:
        raise DataError(
            f'experiment "{experiment_id}": primary metric "{metric}" for {definition["unit"]} '
            f"units cannot be read (supported: {_METRICS})"
        )
    return definition, units


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
