"""Attributed conversions and revenue per day, channel and campaign: the position-based
model (first 40 %, last 40 %, the rest shared by the touches between) applied touch by
touch to the converting journeys of `omnikpi.marketing.journeys`, for ROAS.

Position-based is the ROAS model because its credit belongs to each touch: a touch's
campaign and the order's day are known, so per-campaign and per-day credit is exact and
sums to the orders' revenue; and a day's credit depends only on that day's orders, so it
stays put when later journeys arrive. Markov and Shapley credit channels from all paths
together (including the journeys that did not convert) and are offered beside it in
`omnikpi attribution`.

>>> attributed_per_day(journey_touches(sources, start, end, settings)).execute()  # doctest: +SKIP
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from omnikpi.errors import ConfigError

#: The model the `attributed_revenue` table and the catalog's `roas` use.
ROAS_MODEL = "position"
FIRST_WEIGHT = 0.4
LAST_WEIGHT = 0.4


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
    converting = touches.filter(touches.converted)
    order = [converting.occurred_at, converting.channel]
    window = ibis.window(group_by="journey_id", order_by=order)
    ranked = converting.mutate(
        position=ibis.row_number().over(window),
        touches=converting.count().over(ibis.window(group_by="journey_id")),
    )
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


def attributed_per_day(
    touches: ir.Table, first_weight: float = FIRST_WEIGHT, last_weight: float = LAST_WEIGHT
) -> ir.Table:
    """Position-based credit per `date` (the order's date in the engine session's time
    zone: the warehouse sets its own), `channel`, `campaign_id` (null for a visit without
    a campaign) and `offline` (a store order): `conversions` and `revenue`."""
    credit = position_credit(touches, first_weight, last_weight)
    return credit.group_by(
        date=credit.placed_at.date(),
        channel=credit.channel,
        campaign_id=credit.campaign_id,
        offline=credit.offline,
    ).aggregate(
        conversions=credit.weight.sum(),
        revenue=(credit.weight * credit.revenue).sum(),
    )
