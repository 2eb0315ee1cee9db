"""Lift studies through the service layer: conversion lift of a stored experiment (a campaign
holdout, or any experiment's treatments against its control), of counts given in a file,
and brand lift from the warehouse's brand-lift surveys or a file of answers. Computations
are `omnikpi.marketing.lift` and `brand_lift`; readouts are aggregates per group.

From the warehouse:

- conversion lift reads the experiment's units as `omnikpi.services.experiment_units` does
  (a unit converts when it has a conversion; revenue is its orders' net amount). The
  campaign's spend is the sum of `marketing_daily.spend` of the experiment's `campaign_id`
  (a holdout's campaign), unless one is given.
- brand lift reads `surveys` of kind `brand_lift`: one question per response, read as
  awareness (the table has no question column; other questions come in a file). An answer
  is positive when it is the top of its scale (`score = scale_max`: yes on a yes/no scale).

    >>> lift = counts_lift(GroupTotals(1000, 50), GroupTotals(4000, 280))
    >>> round(lift.incremental_conversions.value)
    80
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from omnikpi.errors import DataError, InvalidChoice, NotFound
from omnikpi.marketing.brand_lift import BrandLift, brand_lift, tally_answers
from omnikpi.marketing.experiments import Counts
from omnikpi.marketing.lift import (
    ConversionLift,
    GroupTotals,
    conversion_lift,
    conversion_lift_from_units,
)
from omnikpi.marketing.lift_files import read_lift_groups_csv, read_survey_answers_csv
from omnikpi.services.experiment_units import read_experiment
from omnikpi.settings import Settings

__all__ = [
    "AWARENESS",
    "BrandLiftStudy",
    "ExperimentLift",
    "GroupTotals",
    "answers_lift",
    "brand_lift_campaigns",
    "counts_lift",
    "experiment_lift",
    "file_lift",
    "survey_brand_lift",
]

#: The question a `brand_lift` survey response answers in the warehouse.
AWARENESS = "awareness"

_CAMPAIGN = "SELECT campaign_id FROM experiments WHERE experiment_id = ?"
_SPEND = "SELECT sum(spend)::DOUBLE FROM marketing_daily WHERE campaign_id = ?"
_BRAND_CAMPAIGNS = """
SELECT s.campaign_id, any_value(c.name) AS name,
       min(CAST(timezone(?, s.responded_at) AS DATE)) AS first_day,
       max(CAST(timezone(?, s.responded_at) AS DATE)) AS last_day,
       count(*) FILTER (WHERE s.exposure_group = 'exposed')::BIGINT AS exposed,
       count(*) FILTER (WHERE s.exposure_group = 'control')::BIGINT AS control
FROM surveys s LEFT JOIN campaigns c ON c.campaign_id = s.campaign_id
WHERE s.kind = 'brand_lift' AND s.campaign_id IS NOT NULL
GROUP BY s.campaign_id ORDER BY s.campaign_id
"""
_BRAND_ANSWERS = """
SELECT exposure_group, count(*)::BIGINT AS respondents,
       count(*) FILTER (WHERE score = scale_max)::BIGINT AS positive
FROM surveys
WHERE kind = 'brand_lift' AND campaign_id = ? AND exposure_group IN ('exposed', 'control')
GROUP BY exposure_group
"""


@dataclass(frozen=True)
class ExperimentLift:
    """A stored experiment's conversion lift: each treatment against the control (first
    variant), with the campaign and spend used (None when unknown)."""

    experiment_id: str
    name: str
    campaign_id: str | None
    control: str
    spend: float | None
    lifts: tuple[tuple[str, ConversionLift], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "campaign_id": self.campaign_id,
            "control": self.control,
            "spend": self.spend,
            "treatments": [{"variant": v} | lift.as_json() for v, lift in self.lifts],
        }


@dataclass(frozen=True)
class BrandLiftStudy:
    """A campaign's brand-lift survey readout (campaign None: answers from a file)."""

    campaign_id: str | None
    campaign_name: str | None
    first_day: date | None
    last_day: date | None
    lift: BrandLift

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        } | self.lift.as_json()


def counts_lift(
    holdout: GroupTotals, exposed: GroupTotals, spend: float | None = None, alpha: float = 0.05
) -> ConversionLift:
    """Conversion lift from group totals (delta method; see `omnikpi.marketing.lift`)."""
    return conversion_lift(holdout, exposed, spend, alpha)


def file_lift(file: Path, spend: float | None = None, alpha: float = 0.05) -> ConversionLift:
    """Conversion lift from a CSV of group totals (`omnikpi.marketing.lift_files`)."""
    holdout, exposed = read_lift_groups_csv(file)
    return conversion_lift(holdout, exposed, spend, alpha)


def experiment_lift(
    settings: Settings,
    experiment_id: str,
    *,
    spend: float | None = None,
    alpha: float = 0.05,
    resamples: int = 0,
    seed: int | None = None,
) -> ExperimentLift:
    """Conversion lift of each treatment of stored experiment `experiment_id` over its
    control; `spend` defaults to its campaign's spend (one treatment only); `resamples` > 0
    asks for bootstrap intervals from `seed`."""
    from omnikpi.services.warehouse import read_warehouse

    with read_warehouse(settings) as warehouse:
        definition, units = read_experiment(warehouse, experiment_id)
        campaign = warehouse.fetch_value(_CAMPAIGN, [experiment_id])
        stored = warehouse.fetch_value(_SPEND, [campaign]) if campaign else None
    variants = [v.strip() for v in str(definition["variants"]).split(",") if v.strip()]
    if len(variants) < 2:
        raise DataError(
            f'experiment "{experiment_id}": variants "{definition["variants"]}" must list the '
            "control (or holdout) then the treatments"
        )
    if spend is not None and len(variants) > 2:
        raise InvalidChoice(
            "--spend", str(spend), "a spend for an experiment with one treatment (iROAS)"
        )
    used = (
        spend if spend is not None else (float(stored) if stored and len(variants) == 2 else None)
    )

    def outcomes(variant: str) -> tuple[Any, Any]:
        rows = units[units["variant"] == variant]
        if len(rows) < 2:
            raise DataError(
                f'experiment "{experiment_id}": variant "{variant}" has {len(rows)} units; '
                "too few for a lift"
            )
        return rows["conversions"].to_numpy(float), rows["revenue"].to_numpy(float)

    control = outcomes(variants[0])
    lifts = tuple(
        (
            variant,
            conversion_lift_from_units(
                control, outcomes(variant), used, alpha, resamples=resamples, seed=seed
            ),
        )
        for variant in variants[1:]
    )
    return ExperimentLift(
        experiment_id=experiment_id,
        name=str(definition["name"]),
        campaign_id=str(campaign) if campaign else None,
        control=variants[0],
        spend=used,
        lifts=lifts,
    )


def answers_lift(file: Path, alpha: float = 0.05) -> BrandLiftStudy:
    """Brand lift from a CSV of answers `group,question,answer`."""
    return BrandLiftStudy(
        None, None, None, None, brand_lift(tally_answers(read_survey_answers_csv(file)), alpha)
    )


def brand_lift_campaigns(settings: Settings) -> list[dict[str, Any]]:
    """Campaigns with brand-lift survey responses: id, name, first and last answer day and
    respondents per group, in campaign order (empty without a `surveys` table)."""
    from omnikpi.services.warehouse import read_warehouse

    with read_warehouse(settings) as warehouse:
        if not (warehouse.has_table("surveys") and warehouse.has_table("campaigns")):
            return []
        rows = warehouse.fetch_rows(_BRAND_CAMPAIGNS, [warehouse.time_zone] * 2)
    keys = ("campaign_id", "name", "first_day", "last_day", "exposed", "control")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def survey_brand_lift(
    settings: Settings, campaign_id: str | None = None, alpha: float = 0.05
) -> BrandLiftStudy:
    """Brand lift (awareness) of `campaign_id` from the warehouse's brand-lift surveys; the
    only surveyed campaign when none is given."""
    from omnikpi.services.warehouse import read_warehouse

    campaigns = brand_lift_campaigns(settings)
    if not campaigns:
        raise NotFound("the warehouse has no brand-lift survey answers (give --answers FILE.csv)")
    ids = [str(c["campaign_id"]) for c in campaigns]
    if campaign_id is None:
        if len(ids) > 1:
            raise InvalidChoice("--campaign", "none", f"one of {', '.join(ids)}")
        campaign_id = ids[0]
    if campaign_id not in ids:
        raise NotFound(
            f'campaign "{campaign_id}" has no brand-lift answers (surveyed: {", ".join(ids)})'
        )
    with read_warehouse(settings) as warehouse:
        rows = warehouse.fetch_rows(_BRAND_ANSWERS, [campaign_id])
    groups = {
        str(group): Counts(int(positive), int(respondents)) for group, respondents, positive in rows
    }
    missing = [g for g in ("control", "exposed") if g not in groups]
    if missing:
        raise DataError(
            f'campaign "{campaign_id}": no brand-lift answers of the {" or ".join(missing)} group'
        )
    info = campaigns[ids.index(campaign_id)]
    study = brand_lift({AWARENESS: (groups["control"], groups["exposed"])}, alpha)
    return BrandLiftStudy(
        campaign_id, info.get("name"), info.get("first_day"), info.get("last_day"), study
    )
