"""The KPI catalog's vocabulary: dimensions, sources and KPI entries with their measures.

Every catalog YAML file is validated against these models; see docs/kpi-catalog.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnikpi.kpi.periods import Grain

Stage = Literal[
    "awareness", "browsing", "purchase", "delivery", "after_sales", "loyalty", "operations"
]
STAGES: tuple[str, ...] = (
    "awareness",
    "browsing",
    "purchase",
    "delivery",
    "after_sales",
    "loyalty",
    "operations",
)
Unit = Literal["count", "percent", "currency", "ratio", "number", "seconds", "hours", "score"]
Direction = Literal["up", "down"]
ChangeType = Literal["relative", "points"]
#: How a partial period's value meets its target (see `KpiSpec.pacing`).
Pacing = Literal["prorate", "as_is", "none"]
#: Units whose changes are differences in points, not relative changes.
POINT_UNITS: tuple[str, ...] = ("percent", "score")
#: Roles of team members; a KPI tagged `member:<role>` is on that role's daily page.
MEMBER_ROLES: tuple[str, ...] = (
    "cs_agent",
    "performance_marketer",
    "merchandiser",
    "crm_marketer",
    "site_operator",
    "logistics",
    "crm_loyalty",
)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Model):
    """A text in English and Korean."""

    en: str
    ko: str


class DimensionSpec(_Model):
    """A way to slice KPIs, e.g. channel or region."""

    id: str
    name: Names
    #: Materialize per-value rollups for it (dashboard dimensions, low cardinality).
    rollup: bool = False
    #: Its valid values: `table.column`s of the canonical model (the column's enum when it
    #: has one, else the values stored) ...
    values_from: list[str] = Field(default_factory=list)
    #: ... or a fixed list. With neither, the values the KPIs' own rows have are valid.
    values: list[str] | None = None
    #: Its values have a natural order, the order of `values` (hours of the day):
    #: breakdowns list them in that order, not by size.
    ordinal: bool = False

    @model_validator(mode="after")
    def _ordinal_has_values(self) -> DimensionSpec:
        if self.ordinal and not self.values:
            raise ValueError(
                f'dimension "{self.id}" is ordinal but lists no values: list them in order '
                "under values:"
            )
        return self


class JoinSpec(_Model):
    """Adds columns of another table or source, matched on keys (a left join)."""

    table: str | None = None
    source: str | None = None
    #: Key expressions of these rows -> key columns of the joined table (its unique key).
    match: dict[str, str]
    columns: dict[str, str]
    #: The joined table is written by a model and may not exist yet: until it does, its
    #: columns are nulls (of the types the model declares) instead of "no data".
    optional: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> JoinSpec:
        if (self.table is None) == (self.source is None):
            raise ValueError("give exactly one of `table` or `source`")
        if self.optional and self.table is None:
            raise ValueError("only a join of a `table` may be `optional`")
        return self


class ChildAggregateSpec(_Model):
    """Summarises rows of a child table per key (e.g. events per session) and adds them."""

    table: str
    #: Key columns of these rows -> key columns of the child table.
    match: dict[str, str]
    filter: str | None = None
    columns: dict[str, str]


class WindowSpec(_Model):
    """A value computed over related rows, e.g. each customer's purchase number."""

    window: Literal["row_number", "lag", "lead", "min", "max", "sum", "count", "first"]
    expr: str | None = None
    partition: list[str]
    order: list[str] = Field(default_factory=list)
    offset: int = 1


class SummarizeSpec(_Model):
    """Groups the rows and keeps one row per group (e.g. competitor price per product and day)."""

    group_by: list[str]
    columns: dict[str, str]


class SourceSpec(_Model):
    """A table prepared for KPIs: joins, child summaries, filter, derived columns, dimensions."""

    id: str
    table: str | None = None
    source: str | None = None
    description: str | None = None
    #: The table may be missing (it is written by a later step); its KPIs then report no data.
    optional: bool = False
    time: str | None = None
    joins: list[JoinSpec] = Field(default_factory=list)
    aggregates: list[ChildAggregateSpec] = Field(default_factory=list)
    filter: str | None = None
    derive: dict[str, str | WindowSpec] = Field(default_factory=dict)
    summarize: SummarizeSpec | None = None
    #: Dimension id -> expression; null drops a dimension the base source offers.
    dimensions: dict[str, str | None] = Field(default_factory=dict)
    #: The person each row is about, as an expression (`customer_id`, or
    #: `coalesce(customer_id, visitor_id)`): small-cell suppression counts the distinct
    #: values behind a KPI value. A source built on another inherits its base's unless it
    #: summarizes; None: its rows describe no customer (media spend, stock).
    customer: str | None = None

    @model_validator(mode="after")
    def _one_base(self) -> SourceSpec:
        if (self.table is None) == (self.source is None):
            raise ValueError("give exactly one of `table` or `source`")
        return self


# -- measures ---------------------------------------------------------------------------------


class _Sourced(_Model):
    source: str
    filter: str | None = None
    #: Time column or expression; defaults to the source's time.
    time: str | None = None


class SumMeasure(_Sourced):
    type: Literal["sum"]
    expr: str


class CountMeasure(_Sourced):
    type: Literal["count"]


class CountDistinctMeasure(_Sourced):
    type: Literal["count_distinct"]
    expr: str
    #: A filter that may use `period_start` (the first day of the period in the query range).
    period_filter: str | None = None
    #: The counted key never appears on two days (e.g. a session), so days can be summed.
    additive: bool = False


class MeanMeasure(_Sourced):
    """sum(expr) / count(expr): an average computed from summed parts."""

    type: Literal["mean"]
    expr: str


class PercentileMeasure(_Sourced):
    type: Literal["percentile"]
    expr: str
    q: float = Field(ge=0, le=1)


class LevelMeasure(_Model):
    """How many rows are 'open' at the end of the period: start <= day < end (semi-additive)."""

    type: Literal["level"]
    source: str
    filter: str | None = None
    start: str
    end: str | None = None
    at: Literal["end", "start"] = "end"


class LastMeasure(_Sourced):
    """Sum over series (e.g. product x location) of each series' latest value in the period:
    semi-additive periodic snapshots such as stock on hand or followers."""

    type: Literal["last"]
    expr: str
    #: Columns naming one series; default: the table's key without its time column.
    series: list[str] | None = None


class TrailingCountMeasure(_Sourced):
    """Entities with at least `min_events` events in the trailing window, at period end."""

    type: Literal["trailing_count"]
    entity: str
    window_days: int = Field(ge=1)
    min_events: int = Field(default=1, ge=1)


class TrailingSumMeasure(_Sourced):
    """Sum of `expr` over the trailing window ending on the period's last day."""

    type: Literal["trailing_sum"]
    expr: str
    window_days: int = Field(ge=1)


class FunnelMeasure(_Model):
    """Units (e.g. sessions) that did `start` and later `then`, over units that did `start`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["funnel"]
    source: str
    unit: str
    start: str
    then: str
    time: str | None = None


class RetentionMeasure(_Sourced):
    """Entities active in the previous period that are active again, over those active before."""

    type: Literal["retention"]
    entity: str


class TopRatioMeasure(_Sourced):
    """sum(numerator) / sum(denominator) over the `n` values of `rank_by` with most denominator."""

    type: Literal["top_ratio"]
    rank_by: str
    n: int = Field(ge=1)
    numerator: str
    denominator: str


class FormulaMeasure(_Model):
    """Arithmetic over other KPIs by id, e.g. `revenue / completed_orders`."""

    type: Literal["formula"]
    expr: str


class RatioMeasure(_Model):
    """numerator / denominator, each summed over the period first (never a mean of ratios)."""

    type: Literal["ratio"]
    numerator: str | Measure
    denominator: str | Measure
    scale: float = 1.0


class ShareMeasure(_Model):
    """Share of each value of a dimension in the total of `measure`."""

    type: Literal["share"]
    of: str
    measure: str | Measure


Measure = Annotated[
    SumMeasure
    | CountMeasure
    | CountDistinctMeasure
    | MeanMeasure
    | PercentileMeasure
    | LevelMeasure
    | LastMeasure
    | TrailingCountMeasure
    | TrailingSumMeasure
    | FunnelMeasure
    | RetentionMeasure
    | TopRatioMeasure
    | FormulaMeasure
    | RatioMeasure
    | ShareMeasure,
    Field(discriminator="type"),
]
RatioMeasure.model_rebuild()
ShareMeasure.model_rebuild()


class KpiSpec(_Model):
    """One KPI: what it means (both languages), who sees it, and how it is computed."""

    id: str
    name: Names
    definition: Names
    stage: Stage
    function: str
    race: Literal["reach", "act", "convert", "engage", "-"]
    unit: Unit
    direction: Direction
    tiers: list[str] = Field(default_factory=list)
    measure: Measure
    #: Dimensions it may be sliced by; default: every dimension all its sources offer.
    dimensions: list[str] | None = None
    #: The finest grain that makes sense (e.g. market share is monthly data).
    min_grain: Grain = Grain.DAY
    #: The dimension this KPI is usually read by (e.g. visits by hour of day).
    breakdown: str | None = None
    #: The values it can take by its definition, [low, high]; None is no bound on that side
    #: (a share [0, 1], NPS [-100, 100], money [0, None], profit [None, None]).
    bounds: tuple[float | None, float | None] | None = None
    notes: Names | None = None

    @field_validator("id")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f'"{value}" is not a snake_case id')
        return value

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, tiers: list[str]) -> list[str]:
        for tier in tiers:
            role = tier.removeprefix("member:")
            if tier not in ("cxo", "lead") and not (
                tier.startswith("member:") and role in MEMBER_ROLES
            ):
                raise ValueError(
                    f'tier "{tier}" is not valid (use cxo, lead or member:<role> with role one '
                    f"of {', '.join(MEMBER_ROLES)})"
                )
        return tiers

    @field_validator("bounds")
    @classmethod
    def _low_below_high(
        cls, bounds: tuple[float | None, float | None] | None
    ) -> tuple[float | None, float | None] | None:
        low, high = bounds or (None, None)
        if low is not None and high is not None and low > high:
            raise ValueError(f"low bound {low:g} is above high bound {high:g} (write [low, high])")
        return bounds

    def has_tier(self, tier: str) -> bool:
        return tier in self.tiers

    def within_bounds(self, value: float) -> bool:
        """Whether `value` is one this KPI can take (True when it declares no bounds)."""
        low, high = self.bounds or (None, None)
        return (low is None or value >= low) and (high is None or value <= high)

    def clamp(self, value: float) -> float:
        """`value`, or the bound it lies beyond (1.034 is 1.0 for a share)."""
        low, high = self.bounds or (None, None)
        if low is not None and value < low:
            return low
        if high is not None and value > high:
            return high
        return value

    @property
    def bounds_text(self) -> str:
        """The bounds as an interval: `[0, 1]`, `[0, ∞)`, `(-∞, ∞)`."""
        low, high = self.bounds or (None, None)
        left = "(-∞" if low is None else f"[{low:g}"
        right = "∞)" if high is None else f"{high:g}]"
        return f"{left}, {right}"

    @property
    def pacing(self) -> Pacing:
        """How the value of a period cut short (month to date) meets the period's target.

        Sums and counts pace: they are held to the part of the target elapsed (12 of 31
        days: 12/31 of the month's target). Ratios, means, percentiles, shares, funnels,
        retention and levels are comparable as they are. Distinct counts, trailing
        windows and formulas grow in no known way with the days: no status until the
        period is complete.

        >>> spec.pacing  # doctest: +SKIP
        'prorate'
        """
        kind = self.measure.type
        if kind in ("sum", "count"):
            return "prorate"
        if kind in ("count_distinct", "trailing_count", "trailing_sum", "formula"):
            return "none"
        return "as_is"

    @property
    def change_type(self) -> ChangeType:
        """How a change of this KPI is told: in points for percents and scores (13.4% →
        14.7% is +1.3 pp; NPS 31 → 35 is +4 pt), else relative (+10.0%)."""
        return "points" if self.unit in POINT_UNITS else "relative"


class CatalogFile(_Model):
    """The top level of a catalog YAML file; every key is optional."""

    dimensions: list[DimensionSpec] = Field(default_factory=list)
    sources: list[SourceSpec] = Field(default_factory=list)
    kpis: list[KpiSpec] = Field(default_factory=list)
