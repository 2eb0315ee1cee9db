"""What the experiments pages show, for one signed-in role: the stored experiments, one
experiment's readout with a plain-language verdict per treatment and its conversion lift,
and the brand-lift studies. Aggregates only (`Action.VIEW_EXPERIMENTS`).

Small groups: for roles without customer-level access a variant of fewer than
`Settings.min_cell_customers` units (a brand-lift group of fewer respondents) is withheld,
with everything that would give its size back: the comparisons it is part of, the
experiment's total units and the sample-ratio check (its chi-square and the other
variants' counts give the withheld count).

A verdict (`Verdict`) says who wins: the treatment when its Holm-adjusted p-value is at
most alpha and it converts more, the control when it converts more, nobody yet otherwise;
a sample-ratio mismatch (p < 0.001) overrides it, since the assignment is broken. A campaign
holdout's planned split is the campaign's `holdout_share`.

    >>> page = experiment_page(settings, actor, "EXP-CHECKOUT-1")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from omnikpi.auth import Action, check_allowed
from omnikpi.auth.audit import Actor
from omnikpi.errors import NotFound
from omnikpi.services.experiments import (
    TreatmentReadout,
    VariantSummary,
    analyze_experiment,
)
from omnikpi.services.lift import BrandLiftStudy, ExperimentLift, experiment_lift, survey_brand_lift
from omnikpi.services.lift import brand_lift_campaigns as _brand_lift_campaigns
from omnikpi.services.suppression import sees_customers
from omnikpi.settings import Settings

__all__ = [
    "SRM_ALARM",
    "BrandLiftPage",
    "ExperimentListing",
    "ExperimentPage",
    "Verdict",
    "brand_lift_page",
    "experiment_page",
    "list_experiments",
]

#: Below this sample-ratio p-value the assignment is suspect (Fabijan et al. 2019).
SRM_ALARM = 0.001
VerdictKind = Literal["treatment_wins", "control_wins", "no_winner", "sample_ratio_mismatch"]

_LIST = """
SELECT e.experiment_id, e.name, e.kind, e.unit, e.variants, e.start_date, e.end_date,
       e.primary_metric, e.campaign_id, e.description,
       (SELECT count(*) FROM experiment_assignments a
        WHERE a.experiment_id = e.experiment_id)::BIGINT AS units,
       (SELECT min(count) FROM (SELECT count(*) AS count FROM experiment_assignments a
        WHERE a.experiment_id = e.experiment_id GROUP BY a.variant))::BIGINT AS smallest
FROM experiments e ORDER BY e.start_date DESC, e.experiment_id
"""
_HOLDOUT_SHARE = """
SELECT c.holdout_share FROM experiments e JOIN campaigns c ON c.campaign_id = e.campaign_id
WHERE e.experiment_id = ? AND e.kind = 'campaign_holdout'
"""


@dataclass(frozen=True)
class ExperimentListing:
    """A stored experiment's definition and its units (None: withheld, a small variant)."""

    experiment_id: str
    name: str
    kind: str
    unit: str
    variants: tuple[str, ...]
    start_date: date
    end_date: date
    primary_metric: str
    campaign_id: str | None
    description: str | None
    units: int | None


@dataclass(frozen=True)
class Verdict:
    """Who wins, in words the page fills in: P(the winner beats the other) (None when no
    winner) and the treatment's difference in rate with its interval."""

    kind: VerdictKind
    treatment: str
    control: str
    probability: float
    difference: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ExperimentPage:
    """One experiment for one role (no figure of a withheld variant is kept): its variants
    (None: withheld), the treatments compared
    and their verdicts (those with a withheld variant left out), the sample-ratio check and
    the conversion lift (None when withheld or not computable), and the small-cell minimum
    (None for roles that see every value)."""

    listing: ExperimentListing
    alpha: float
    planned_split: tuple[float, ...] | None
    variants: tuple[tuple[str, VariantSummary | None], ...]
    treatments: tuple[TreatmentReadout, ...]
    verdicts: tuple[Verdict, ...]
    srm_p_value: float | None
    srm_alarm: bool
    lift: ExperimentLift | None
    minimum: int | None
    withheld: int


@dataclass(frozen=True)
class BrandLiftPage:
    """The campaigns with brand-lift answers, and the chosen campaign's study (questions
    with a small group left out; `withheld` counts them)."""

    campaigns: tuple[dict[str, object], ...]
    study: BrandLiftStudy | None
    minimum: int | None
    withheld: int


def _read_listings(settings: Settings) -> list[tuple[ExperimentListing, int]]:
    from omnikpi.services.warehouse import read_warehouse

    with read_warehouse(settings) as warehouse:
        if not (
            warehouse.has_table("experiments") and warehouse.has_table("experiment_assignments")
        ):
            return []
        rows = warehouse.fetch_rows(_LIST)
    listings = []
    for row in rows:
        *fields, units, smallest = row
        (experiment_id, name, kind, unit, variants, start, end, metric, campaign, text) = fields
        listing = ExperimentListing(
            experiment_id=str(experiment_id),
            name=str(name),
            kind=str(kind),
            unit=str(unit),
            variants=tuple(v.strip() for v in str(variants).split(",") if v.strip()),
            start_date=start,
            end_date=end,
            primary_metric=str(metric),
            campaign_id=None if campaign is None else str(campaign),
            description=None if text is None else str(text),
            units=int(units),
        )
        listings.append((listing, int(smallest or 0)))
    return listings


def list_experiments(settings: Settings, actor: Actor) -> list[ExperimentListing]:
    """The stored experiments, newest first; the units of one with a small variant are
    withheld from roles without customer-level access."""
    check_allowed(actor.role, Action.VIEW_EXPERIMENTS, actor.scopes)
    sees = sees_customers(actor.role)
    return [
        listing if sees or smallest >= settings.min_cell_customers else _without_units(listing)
        for listing, smallest in _read_listings(settings)
    ]


def _without_units(listing: ExperimentListing) -> ExperimentListing:
    return replace(listing, units=None)


def verdict(treatment: TreatmentReadout, control: str, srm_alarm: bool) -> Verdict:
    """The plain-language verdict of `treatment` against `control` (module docstring)."""
    t = treatment.test
    probability = treatment.bayesian.prob_b_beats_a
    kind: VerdictKind = "no_winner"
    if srm_alarm:
        kind = "sample_ratio_mismatch"
    elif treatment.significant and t.difference > 0:
        kind = "treatment_wins"
    elif treatment.significant and t.difference < 0:
        kind, probability = "control_wins", 1 - probability
    return Verdict(
        kind,
        treatment.variant,
        control,
        probability,
        t.difference,
        t.difference_ci_low,
        t.difference_ci_high,
    )


def _planned_split(settings: Settings, experiment_id: str) -> tuple[float, float] | None:
    from omnikpi.services.warehouse import read_warehouse

    with read_warehouse(settings) as warehouse:
        if not warehouse.has_table("campaigns"):
            return None
        share = warehouse.fetch_value(_HOLDOUT_SHARE, [experiment_id])
    if share is None or not 0 < float(share) < 1:
        return None
    return float(share), 1 - float(share)


def experiment_page(settings: Settings, actor: Actor, experiment_id: str) -> ExperimentPage:
    """Experiment `experiment_id` as `actor` may see it (module docstring)."""
    check_allowed(actor.role, Action.VIEW_EXPERIMENTS, actor.scopes)
    listings = {listing.experiment_id: listing for listing, _ in _read_listings(settings)}
    if experiment_id not in listings:
        known = ", ".join(sorted(listings)) or "none stored"
        raise NotFound(f'experiment "{experiment_id}" does not exist (experiments: {known})')
    readout = analyze_experiment(
        settings, experiment_id, split=_planned_split(settings, experiment_id)
    )
    minimum = None if sees_customers(actor.role) else settings.min_cell_customers
    hidden = {v.variant for v in readout.variants if minimum is not None and v.units < minimum}
    control = readout.variants[0].variant
    treatments = tuple(
        t for t in readout.treatments if control not in hidden and t.variant not in hidden
    )
    srm = readout.srm if not hidden else None
    alarm = srm is not None and srm.p_value < SRM_ALARM
    listing = listings[experiment_id]
    lift = None
    if not hidden and readout.kind == "campaign_holdout":
        lift = experiment_lift(settings, experiment_id)
    return ExperimentPage(
        listing=listing if not hidden else _without_units(listing),
        alpha=readout.alpha,
        planned_split=readout.planned_split,
        variants=tuple((v.variant, None if v.variant in hidden else v) for v in readout.variants),
        treatments=treatments,
        verdicts=tuple(verdict(t, control, alarm) for t in treatments),
        srm_p_value=None if srm is None else srm.p_value,
        srm_alarm=alarm,
        lift=lift,
        minimum=minimum,
        withheld=len(hidden),
    )


def brand_lift_page(
    settings: Settings, actor: Actor, campaign_id: str | None = None
) -> BrandLiftPage:
    """The brand-lift campaigns and `campaign_id`'s study (default: the latest surveyed)."""
    check_allowed(actor.role, Action.VIEW_EXPERIMENTS, actor.scopes)
    campaigns = _brand_lift_campaigns(settings)
    minimum = None if sees_customers(actor.role) else settings.min_cell_customers
    if not campaigns:
        return BrandLiftPage((), None, minimum, 0)
    chosen = campaign_id or str(campaigns[-1]["campaign_id"])
    study = survey_brand_lift(settings, chosen)
    shown = tuple(
        q
        for q in study.lift.questions
        if minimum is None or min(q.control.units, q.exposed.units) >= minimum
    )
    withheld = len(study.lift.questions) - len(shown)
    study = replace(study, lift=replace(study.lift, questions=shown))
    listed = tuple(
        c if minimum is None or min(int(c["exposed"]), int(c["control"])) >= minimum
        else c | {"exposed": None, "control": None}
        for c in campaigns
    )  # fmt: skip
    return BrandLiftPage(listed, study, minimum, withheld)
