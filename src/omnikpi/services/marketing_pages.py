"""What the marketing pages show, for one signed-in role (`Action.VIEW_MARKETING`):

- the attribution page: the eight attribution models side by side per channel (attributed
  conversions, revenue and share) over the warehouse's journeys of a period, the journey
  explorer (top paths, path lengths, time to convert) and the offline matching summary;
- the RACE view: the catalog's KPIs tagged reach / act / convert / engage that split by
  marketing channel, per channel for a period, through the KPI reader the dashboards use.

Aggregates only. For roles without customer-level access a path group (a top path, a path
length, an offline channel) of fewer than `Settings.min_cell_customers` journeys (orders)
is withheld; a lone withheld path length takes the next smallest with it (the total minus
the others would give it back).

    >>> analyst = UserRole(Role.ANALYST)
    >>> page = attribution_page(settings, analyst, AttributionQuery())  # doctest: +SKIP
    >>> page.credit("search", "markov").conversions  # doctest: +SKIP
    412.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from omnikpi.auth import Action, UserRole, check_allowed
from omnikpi.errors import ConfigError, DataError, InvalidChoice
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.kpi.request import KpiRequest, parse_day
from omnikpi.kpi.spec import KpiSpec
from omnikpi.marketing.attribution import ChannelCredit, attribute
from omnikpi.services.access import visible_kpis
from omnikpi.services.attribution import (
    MODELS,
    Attribution,
    AttributionSettings,
    JourneyRequest,
)
from omnikpi.services.journeys import (
    JourneyReport,
    JourneySettings,
    OfflineReport,
    analyse_journeys,
)
from omnikpi.services.query import query_kpis
from omnikpi.services.reader import KpiReader
from omnikpi.services.suppression import sees_customers
from omnikpi.services.warehouse import data_settings
from omnikpi.settings import Settings

__all__ = [
    "LOOKBACK_CHOICES",
    "RACE_STEPS",
    "AttributionPage",
    "AttributionQuery",
    "RaceKpi",
    "RaceStep",
    "RaceView",
    "attribution_page",
    "parse_attribution_query",
    "race_view",
]

#: Lookback windows the attribution page offers, in days.
LOOKBACK_CHOICES: tuple[int, ...] = (7, 14, 30, 60, 90)
#: The RACE steps in order (Smart Insights: reach, act, convert, engage).
RACE_STEPS: tuple[str, ...] = ("reach", "act", "convert", "engage")
#: The dimension the RACE view splits by.
CHANNEL_DIMENSION = "marketing_channel"
_GRAINS = list(Grain)
#: How many paths the journey explorer lists.
TOP_PATHS = 10


@dataclass(frozen=True)
class AttributionQuery:
    """The attribution page's choices: local days `start` to `end` (None: the last 90 days
    with orders), the lookback in days and whether store orders convert."""

    start: date | None = None
    end: date | None = None
    lookback_days: int = 30
    include_offline: bool = True

    def journey_request(self) -> JourneyRequest:
        settings = JourneySettings(
            lookback_days=float(self.lookback_days), include_offline=self.include_offline
        )
        return JourneyRequest(first=self.start, last=self.end, journey=settings)

    def key(self) -> str:
        """A cache key naming every choice."""
        return f"{self.start}:{self.end}:{self.lookback_days}:{self.include_offline}"


def parse_attribution_query(params: Mapping[str, str]) -> AttributionQuery:
    """The query of a page address (`start`, `end`, `lookback`, `offline=include|exclude`);
    InvalidChoice names the first bad parameter."""
    start = parse_day(params["start"], "start") if params.get("start") else None
    end = parse_day(params["end"], "end") if params.get("end") else None
    lookback_text = params.get("lookback") or "30"
    allowed = ", ".join(str(days) for days in LOOKBACK_CHOICES)
    if not lookback_text.isdigit() or int(lookback_text) not in LOOKBACK_CHOICES:
        raise InvalidChoice("lookback", lookback_text, allowed)
    offline = params.get("offline") or "include"
    if offline not in ("include", "exclude"):
        raise InvalidChoice("offline", offline, "include, exclude")
    if start and end and end < start:
        raise ConfigError(f"end {end} is before start {start} (give an end on or after it)")
    return AttributionQuery(start, end, int(lookback_text), offline == "include")


@dataclass(frozen=True)
class AttributionPage:
    """The models side by side (`results` by model), the journey explorer (`journeys`,
    withheld path groups marked `suppressed`) and the offline matching (None when store
    orders are left out); `minimum` is the small-group minimum (None: every value shown)."""

    query: AttributionQuery
    first: date
    last: date
    models: tuple[str, ...]
    results: Mapping[str, Attribution]
    channels: tuple[str, ...]
    journeys: JourneyReport
    offline: OfflineReport | None
    minimum: int | None
    withheld: int
    #: The model behind the catalog's ROAS (the warehouse's `attribution_model` setting).
    roas_model: str

    def credit(self, channel: str, model: str) -> ChannelCredit | None:
        """`channel`'s credit under `model` (None: the model credits it nothing)."""
        return next((c for c in self.results[model].channels if c.channel == channel), None)


def _withhold(
    rows: Sequence[Mapping[str, Any]], count: str, minimum: int, complementary: bool
) -> list[dict[str, Any]]:
    """`rows` with those of fewer than `minimum` `count` marked `suppressed` and their
    figures removed; with `complementary`, a lone withheld row takes the next smallest."""
    marked = [{**row, "suppressed": "small_cell" if row[count] < minimum else None} for row in rows]
    small = [row for row in marked if row["suppressed"]]
    if complementary and len(small) == 1:
        others = [row for row in marked if not row["suppressed"]]
        if others:
            min(others, key=lambda row: row[count])["suppressed"] = "complementary"
    keep = {"path", "touches", "channel", "suppressed"}
    return [
        {k: (v if k in keep or not row["suppressed"] else None) for k, v in row.items()}
        for row in marked
    ]


def attribution_page(
    settings: Settings, role: UserRole, query: AttributionQuery
) -> AttributionPage:
    """Every model over the period's journeys, the explorer and the offline matching, for
    `role` (ActionDenied without `VIEW_MARKETING`; DataError when the period has no
    journey)."""
    check_allowed(role, Action.VIEW_MARKETING)
    request = query.journey_request()
    used = AttributionSettings()
    analysis = analyse_journeys(settings, request, top=TOP_PATHS)
    paths, timed = analysis.paths, analysis.timed
    results = {
        model: attribute(timed if model == "time_decay" else paths, model, used) for model in MODELS
    }
    journeys, offline = analysis.report, analysis.offline
    minimum = None if sees_customers(role) else settings.min_cell_customers
    withheld = 0
    if minimum is not None:
        top = _withhold(journeys.top_paths, "journeys", minimum, complementary=False)
        lengths = _withhold(journeys.lengths, "journeys", minimum, complementary=True)
        withheld = sum(1 for row in (*top, *lengths) if row["suppressed"])
        journeys = replace(journeys, top_paths=top, lengths=lengths)
        if offline is not None:
            matched = _withhold(offline.channels, "orders", minimum, complementary=False)
            withheld += sum(1 for row in matched if row["suppressed"])
            offline = replace(offline, channels=matched)
    anchor = results["position"]
    order = sorted(anchor.channels, key=lambda c: (-c.conversions, c.channel))
    channels = tuple(dict.fromkeys([c.channel for c in order] + _all_channels(results)))
    return AttributionPage(
        query=query,
        first=journeys.first,
        last=journeys.last,
        models=MODELS,
        results=results,
        channels=channels,
        journeys=journeys,
        offline=offline,
        minimum=minimum,
        withheld=withheld,
        roas_model=data_settings(settings).attribution_model,
    )


def _all_channels(results: Mapping[str, Attribution]) -> list[str]:
    return sorted({c.channel for result in results.values() for c in result.channels})


# -- the RACE view -------------------------------------------------------------------------
@dataclass(frozen=True)
class RaceKpi:
    """A KPI of a RACE step: its value in the period (None: no data or withheld) and per
    marketing channel; `suppressed` names withheld cells ("" for the total)."""

    kpi: KpiSpec
    value: float | None
    by_channel: Mapping[str, float | None]
    suppressed: frozenset[str]


@dataclass(frozen=True)
class RaceStep:
    """One RACE step: its KPIs that split by channel and how many others it has."""

    step: str
    kpis: tuple[RaceKpi, ...]
    others: int


@dataclass(frozen=True)
class RaceView:
    """The RACE view of a period: the steps, the channels (columns) in order."""

    grain: Grain
    start: date
    end: date
    channels: tuple[str, ...]
    steps: tuple[RaceStep, ...]
    minimum: int | None


def race_view(reader: KpiReader, role: UserRole, grain: Grain, start: date, end: date) -> RaceView:
    """The KPIs `role` may read that carry a RACE step and split by marketing channel, for
    the last period of `grain` in `start`..`end`, in total and per channel (small cells
    withheld as on every KPI page). ActionDenied without `VIEW_MARKETING`."""
    check_allowed(role, Action.VIEW_MARKETING)
    first = max(start, period_start(end, grain))
    tagged = [kpi for kpi in visible_kpis(reader.catalog, role) if kpi.race in RACE_STEPS]
    split = [
        kpi
        for kpi in tagged
        if CHANNEL_DIMENSION in reader.dimensions(kpi.id)
        and _GRAINS.index(grain) >= _GRAINS.index(kpi.min_grain)
    ]
    ids = tuple(kpi.id for kpi in split)
    totals: dict[str, tuple[float | None, bool]] = {}
    cells: dict[str, dict[str, float | None]] = {kpi.id: {} for kpi in split}
    withheld: dict[str, set[str]] = {kpi.id: set() for kpi in split}
    channels: list[str] = []
    if ids:
        whole = query_kpis(reader, KpiRequest(ids, grain, first, end), role)
        for row in whole.rows:
            totals[row.kpi] = (row.value, bool(row.suppressed))
        parts = query_kpis(
            reader, KpiRequest(ids, grain, first, end, by=(CHANNEL_DIMENSION,)), role
        )
        for row in parts.rows:
            channel = row.keys[0]
            if channel is None:
                continue
            channels.append(channel)
            cells[row.kpi][channel] = row.value
            if row.suppressed:
                withheld[row.kpi].add(channel)
    steps = []
    for step in RACE_STEPS:
        kpis = tuple(
            RaceKpi(
                kpi,
                totals.get(kpi.id, (None, False))[0],
                cells[kpi.id],
                frozenset(withheld[kpi.id] | ({""} if totals.get(kpi.id, (0, 0))[1] else set())),
            )
            for kpi in split
            if kpi.race == step
        )
        others = sum(1 for kpi in tagged if kpi.race == step) - len(kpis)
        steps.append(RaceStep(step, kpis, others))
    if not any(step.kpis for step in steps):
        raise DataError("no KPI with a RACE step splits by marketing channel in the catalog")
    return RaceView(
        grain=grain,
        start=first,
        end=end,
        channels=tuple(sorted(set(channels))),
        steps=tuple(steps),
        minimum=None if sees_customers(role) else reader.settings.min_cell_customers,
    )
