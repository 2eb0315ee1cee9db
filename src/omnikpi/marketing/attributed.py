"""Attributed conversions and revenue per day, channel and campaign, by any of the eight
attribution models of `omnikpi.marketing.attribution`, for ROAS.

Rule-based models (`first`, `last`, `last_non_direct`, `linear`, `time_decay`,
`position`) credit each touch of a converting journey, so per-campaign and per-day credit
is exact: a touch's campaign and its order's day are known, and a day's credit depends
only on that day's orders. The weights are those of `attribution.touch_weights` (the
same touch order, time decay over the same whole days before the order), computed in SQL.

Data-driven models (`markov`, `shapley`) credit channels from all paths together,
including journeys without a conversion, so they are fitted per calendar month on the
journeys that end in it (a conversion on its order's day, a journey without one on its
last touch's day). A channel's monthly credit is then shared among the month's converting
journeys that touched it in proportion to their revenue (conversions: equally), and
within a journey equally among that channel's touches, which gives each touch its day
and campaign. Each month's channels sum to the month's touched orders.

Position-based (40/20/40) is the default (`DataSettings.attribution_model`).

>>> attributed_per_day(journey_touches(sources, start, end, settings)).execute()  # doctest: +SKIP
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from omnikpi.errors import ConfigError
from omnikpi.marketing.attribution import AttributionSettings, attribute, check_model
from omnikpi.marketing.journeys import PATH_SEPARATOR, paths_from_counts

#: The model the `attributed_revenue` table and the catalog's `roas` use by default.
ROAS_MODEL = "position"
#: Models that credit channels from all paths at once (fitted per month).
DATA_DRIVEN_MODELS = frozenset({"markov", "shapley"})
FIRST_WEIGHT = 0.4
LAST_WEIGHT = 0.4
_DAY_SECONDS = 86_400.0
#: The columns of a credit table.
CREDIT_COLUMNS = ("date", "channel", "campaign_id", "offline", "conversions", "revenue")


def _ranked(touches: ir.Table) -> ir.Table:
    """The converting touches with `position` (0-based, by time then channel) and `touches`
    (the journey's count)."""
    converting = touches.filter(touches.converted)
    order = [converting.occurred_at, converting.channel]
    return converting.mutate(
        position=ibis.row_number().over(ibis.window(group_by="journey_id", order_by=order)),
        touches=converting.count().over(ibis.window(group_by="journey_id")),
    )


def position_credit(
    touches: ir.Table, first_weight: float = FIRST_WEIGHT, last_weight: float = LAST_WEIGHT
) -> ir.Table:
    """The converting touches of `journey_touches(...)` with `weight`, their share of the
    order: one touch takes all, two split first : last in proportion, more give
    `first_weight` to the first, `last_weight` to the last and the rest equally to the
    touches between (as `omnikpi.marketing.attribution`'s position model)."""
    if min(first_weight, last_weight) < 0 or first_weight + last_weight > 1:
        raise ConfigError(
            f"position weights {first_weight}/{last_weight} are not valid "
            "(allowed: each ≥ 0, first + last ≤ 1)"
        )
    ranked = _ranked(touches)
    ends = first_weight + last_weight
    two_first = first_weight / ends if ends > 0 else 0.5
    first, last = ranked.position == 0, ranked.position == ranked.touches - 1
    between = (1 - ends) / (ranked.touches - 2).cast("float64")
    weight = ibis.cases(
        (ranked.touches == 1, 1.0),
        (ranked.touches == 2, ibis.ifelse(first, two_first, 1 - two_first)),
        (first, first_weight),
        (last, last_weight),
        else_=between,
    )
    return ranked.mutate(weight=weight.cast("float64"))


def touch_credit(
    touches: ir.Table, model: str, settings: AttributionSettings | None = None
) -> ir.Table:
    """The converting touches with `weight` by a rule-based `model` (weights sum to 1 per
    journey, as `attribution.touch_weights` on the same journeys)."""
    chosen = settings or AttributionSettings()
    if check_model(model) in DATA_DRIVEN_MODELS:
        raise ConfigError(f'"{model}" is not a rule-based attribution model')
    if model == "position":
        return position_credit(touches, chosen.first_weight, chosen.last_weight)
    ranked = _ranked(touches)
    whole = ibis.window(group_by="journey_id")
    if model == "first":
        weight = ibis.ifelse(ranked.position == 0, 1.0, 0.0)
    elif model == "last":
        weight = ibis.ifelse(ranked.position == ranked.touches - 1, 1.0, 0.0)
    elif model == "linear":
        weight = 1.0 / ranked.touches.cast("float64")
    elif model == "last_non_direct":
        candidate = ibis.ifelse(ranked.channel != chosen.direct, ranked.position, ibis.null())
        ranked = ranked.mutate(chosen=candidate.max().over(whole))
        pick = ibis.coalesce(ranked.chosen, ranked.touches - 1)
        weight = ibis.ifelse(ranked.position == pick, 1.0, 0.0)
    else:  # time_decay over whole days before the order, as build_journeys rounds them
        seconds = ranked.placed_at.epoch_seconds() - ranked.occurred_at.epoch_seconds()
        days = (seconds / _DAY_SECONDS).round().cast("int64").cast("float64")
        ranked = ranked.mutate(decay=(-days * (math.log(2) / chosen.half_life)).exp())
        weight = ranked.decay / ranked.decay.sum().over(whole)
    return ranked.mutate(weight=weight.cast("float64"))


def attributed_per_day(
    touches: ir.Table, model: str = ROAS_MODEL, settings: AttributionSettings | None = None
) -> ir.Table:
    """Credit of a rule-based `model` per `date` (the order's date in the engine session's
    time zone: the warehouse sets its own), `channel`, `campaign_id` (null for a visit
    without a campaign) and `offline` (a store order): `conversions` and `revenue`."""
    credit = touch_credit(touches, model, settings)
    return credit.group_by(
        date=credit.placed_at.date(),
        channel=credit.channel,
        campaign_id=credit.campaign_id,
        offline=credit.offline,
    ).aggregate(
        conversions=credit.weight.sum(),
        revenue=(credit.weight * credit.revenue).sum(),
    )


def monthly_paths(touches: ir.Table) -> ir.Table:
    """The journeys aggregated to paths per `month` (first day of the local month the
    journey ends in): `path_counts`' columns with `month`."""
    ended = ibis.coalesce(touches.placed_at, touches.occurred_at.max().over(group_by="journey_id"))
    table = touches.mutate(month=ended.date().truncate("M"))
    order = [table.occurred_at, table.channel]
    journeys = table.group_by(["journey_id", "month"]).aggregate(
        converted=table.converted.any(),
        path=table.channel.group_concat(PATH_SEPARATOR, order_by=order),
        revenue=table.revenue.max(),
    )
    converted = journeys.converted.cast("int64")
    return journeys.group_by(["month", "path"]).aggregate(
        conversions=converted.sum(),
        non_conversions=(1 - converted).sum(),
        value=journeys.revenue.sum(where=journeys.converted).fill_null(0.0),
    )


def monthly_shares(touches: ir.Table) -> ir.Table:
    """Per `month`, channel, date, campaign and online/store: how much of each channel's
    monthly credit goes there, before normalising: `conversion_share` Σ 1 / n and
    `revenue_share` Σ revenue / n over the converting journeys' touches of the channel
    (n: that channel's touches in the journey)."""
    converting = touches.filter(touches.converted)
    per_channel = converting.count().over(group_by=["journey_id", "channel"]).cast("float64")
    table = converting.mutate(n=per_channel, date=converting.placed_at.date())
    return table.group_by(
        month=table.date.truncate("M"),
        date=table.date,
        channel=table.channel,
        campaign_id=table.campaign_id,
        offline=table.offline,
    ).aggregate(
        conversion_share=(1.0 / table.n).sum(),
        revenue_share=(table.revenue / table.n).sum(),
    )


def data_driven_per_day(
    paths: pd.DataFrame,
    shares: pd.DataFrame,
    model: str,
    settings: AttributionSettings | None = None,
) -> pd.DataFrame:
    """Credit of a data-driven `model` per day, channel, campaign and online/store from
    the executed `monthly_paths` and `monthly_shares`: the model is fitted on each month's
    paths and each channel's credit shared out by `shares` (columns `CREDIT_COLUMNS`)."""
    if check_model(model) not in DATA_DRIVEN_MODELS:
        raise ConfigError(f'"{model}" is not a data-driven attribution model')
    parts = []
    for month, month_paths in paths.groupby("month", sort=True):
        month_shares = shares[shares["month"] == month]
        if month_shares.empty:
            continue  # no conversion in the month: nothing to credit
        found = attribute(paths_from_counts(month_paths), model, settings)
        credit = pd.DataFrame(
            {
                "channel": [c.channel for c in found.channels],
                "channel_conversions": [c.conversions for c in found.channels],
                "channel_revenue": [c.revenue or 0.0 for c in found.channels],
            }
        )
        part = month_shares.merge(credit, on="channel", how="left")
        totals = part.groupby("channel")[["conversion_share", "revenue_share"]].transform("sum")
        part["conversions"] = part["channel_conversions"].fillna(0.0) * _ratio(
            part["conversion_share"], totals["conversion_share"]
        )
        part["revenue"] = part["channel_revenue"].fillna(0.0) * _ratio(
            part["revenue_share"], totals["revenue_share"]
        )
        parts.append(part[list(CREDIT_COLUMNS)])
    if not parts:
        return pd.DataFrame({name: [] for name in CREDIT_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    """part / whole, 0 where whole is 0."""
    return pd.Series(
        np.divide(
            part.to_numpy(dtype=float),
            whole.to_numpy(dtype=float),
            out=np.zeros(len(part)),
            where=whole.to_numpy() > 0,
        ),
        index=part.index,
    )
