"""RFM: recency, frequency and monetary scores of the customers who ordered, and the named
groups an R x F grid gives them.

Scores run from 1 (worst) to `bins` (best) and are quantile scores by default: a customer's
score is 1 + floor(bins x p), capped at `bins`, where p is the share of the other buyers
ranked below them (SQL `percent_rank`: (rank - 1) / (buyers - 1)); ties share the lower
score, so with many one-order customers they all get frequency 1. Recency ranks the
latest last order best. `edges` replaces the quantiles of a dimension by fixed cut points:
frequency and monetary score 1 + the number of edges at or below the value, recency
(days since the last order) bins minus the number of edges below the days.

The named groups (segments.yaml `rfm.groups`, after the widely used R x F map): the first
group whose recency and frequency score ranges hold the customer's scores wins:

| R \\ F | 1              | 2              | 3               | 4     | 5                |
|-------|----------------|----------------|-----------------|-------|------------------|
| 5     | new_customers  | potential_loy. | potential_loy.  | champ.| champions        |
| 4     | promising      | potential_loy. | potential_loy.  | loyal | loyal            |
| 3     | about_to_sleep | about_to_sleep | need_attention  | loyal | loyal            |
| 1-2   | hibernating    | hibernating    | at_risk         | at_r. | cannot_lose_them |

>>> RfmConfig().bins
5
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RfmConfig", "RfmGroup", "rfm_group_sizes", "rfm_scores"]

DIMENSIONS = ("recency", "frequency", "monetary")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RfmGroup(_Model):
    """A named group: the recency and frequency score ranges (inclusive) it covers."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    recency: tuple[int, int]
    frequency: tuple[int, int]

    def holds(self, recency: int, frequency: int) -> bool:
        return (
            self.recency[0] <= recency <= self.recency[1]
            and self.frequency[0] <= frequency <= self.frequency[1]
        )


def _default_groups() -> list[RfmGroup]:
    grid = [
        ("champions", (5, 5), (4, 5)),
        ("loyal", (3, 4), (4, 5)),
        ("potential_loyalists", (4, 5), (2, 3)),
        ("new_customers", (5, 5), (1, 1)),
        ("promising", (4, 4), (1, 1)),
        ("need_attention", (3, 3), (3, 3)),
        ("about_to_sleep", (3, 3), (1, 2)),
        ("cannot_lose_them", (1, 2), (5, 5)),
        ("at_risk", (1, 2), (3, 4)),
        ("hibernating", (1, 2), (1, 2)),
    ]
    return [RfmGroup(id=i, recency=r, frequency=f) for i, r, f in grid]


class RfmConfig(_Model):
    """Bins, optional fixed cut points per dimension, and the named groups."""

    bins: int = Field(5, ge=2, le=10)
    edges: dict[str, list[float]] = Field(default_factory=dict)
    groups: list[RfmGroup] = Field(default_factory=_default_groups)

    @model_validator(mode="after")
    def _check(self) -> RfmConfig:
        for dimension, cuts in self.edges.items():
            if dimension not in DIMENSIONS:
                raise ValueError(f'edges: "{dimension}" is not one of {", ".join(DIMENSIONS)}')
            if len(cuts) != self.bins - 1 or sorted(cuts) != cuts:
                raise ValueError(
                    f"edges.{dimension}: give {self.bins - 1} increasing cut points for "
                    f"{self.bins} bins (got {cuts})"
                )
        uncovered = [
            f"R{r}F{f}"
            for r in range(1, self.bins + 1)
            for f in range(1, self.bins + 1)
            if not any(g.holds(r, f) for g in self.groups)
        ]
        if uncovered:
            raise ValueError(
                f"groups leave {', '.join(uncovered)} without a group: widen a group's "
                f"recency/frequency range (scores run 1..{self.bins})"
            )
        return self


def _score(
    value: ir.NumericValue, config: RfmConfig, dimension: str, by: Sequence[str]
) -> ir.IntegerValue:
    bins = config.bins
    cuts = config.edges.get(dimension)
    if cuts is not None:
        if dimension == "recency":
            below = sum(((value > c).cast("int64") for c in cuts), ibis.literal(0))
            return (bins - below).cast("int64")
        at_or_below = sum(((value >= c).cast("int64") for c in cuts), ibis.literal(0))
        return (1 + at_or_below).cast("int64")
    order = value.desc() if dimension == "recency" else value
    share = ibis.percent_rank().over(group_by=list(by) or None, order_by=order)
    return ibis.least((share * bins).floor().cast("int64") + 1, ibis.literal(bins))


def rfm_scores(features: ir.Table, config: RfmConfig) -> ir.Table:
    """`features` (with `orders`, `days_since_last_order`, `revenue`) with
    `recency_score`, `frequency_score`, `monetary_score` and `rfm_group`, ranked among the
    customers with an order (null for the others); per `as_of` when features has it."""
    by = ["as_of"] if "as_of" in features.columns else []
    buyers = features.filter(features.orders > 0)
    scored = buyers.select(
        "customer_id",
        *by,
        recency_score=_score(buyers.days_since_last_order, config, "recency", by),
        frequency_score=_score(buyers.orders, config, "frequency", by),
        monetary_score=_score(buyers.revenue.cast("float64"), config, "monetary", by),
    )
    group = ibis.cases(
        *(
            (
                scored.recency_score.between(*g.recency)
                & scored.frequency_score.between(*g.frequency),
                g.id,
            )
            for g in config.groups
        ),
        else_=ibis.null(str),
    )
    scored = scored.mutate(rfm_group=group)
    keys = ["customer_id", *by]
    joined = features.left_join(scored, keys)
    return joined.drop(*(f"{k}_right" for k in keys))


def rfm_group_sizes(scored: pd.DataFrame, config: RfmConfig) -> pd.DataFrame:
    """Customers per named group with their mean recency (days), orders and revenue:
    columns `rfm_group`, `customers`, `share` (of the buyers), `recency_days`,
    `orders`, `revenue`; every group listed in the config's order."""
    buyers = scored[scored["rfm_group"].notna()]
    total = len(buyers)
    rows = []
    for group in _group_ids(config.groups):
        members = buyers[buyers["rfm_group"] == group]
        count = len(members)
        rows.append(
            {
                "rfm_group": group,
                "customers": count,
                "share": count / total if total else None,
                "recency_days": _mean(members["days_since_last_order"]),
                "orders": _mean(members["orders"]),
                "revenue": _mean(members["revenue"]),
            }
        )
    return pd.DataFrame(rows)


def _group_ids(groups: Sequence[RfmGroup]) -> list[str]:
    return list(dict.fromkeys(g.id for g in groups))


def _mean(values: pd.Series) -> float | None:
    return float(values.astype("float64").mean()) if len(values) else None
