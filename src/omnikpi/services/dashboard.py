"""The three dashboards: the executive scorecard (cxo, monthly), the stage dashboard (lead,
weekly, by shopping stage) and "my KPIs" (a member's role, daily).

Each is the cards of one tier's KPIs for the latest period of the view; they differ in the
tier, the grain they open on and what they compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.kpi import Grain
from omnikpi.kpi.periods import (
    Comparison,
    check_comparison,
    period_days,
    period_end,
    period_start,
)
from omnikpi.kpi.spec import STAGES
from omnikpi.services.access import tier_kpis
from omnikpi.services.cards import KpiCard, build_cards
from omnikpi.services.periods import default_range
from omnikpi.services.query import STATUSES, Status
from omnikpi.services.reader import Filters, KpiReader
from omnikpi.settings import DEFAULT_MIN_CELL_CUSTOMERS

#: Statuses from the one needing action first (None: no target or no status yet).
WORST_FIRST: tuple[Status | None, ...] = (*reversed(STATUSES), None)
#: The shopping stages of the stage dashboard, in the customer's order (DESIGN §1).
JOURNEY_STAGES: tuple[str, ...] = tuple(stage for stage in STAGES if stage != "operations")


@dataclass(frozen=True)
class StageGroup:
    """The cards of one shopping stage."""

    stage: str
    cards: tuple[KpiCard, ...]

    @property
    def counts(self) -> dict[str, int]:
        """How many KPIs are red, amber and green (the statuses present, worst first)."""
        found = [card.status for card in self.cards]
        return {s: found.count(s) for s in WORST_FIRST if s is not None and s in found}


@dataclass(frozen=True)
class Dashboard:
    """The cards of one tier for the latest period of a view."""

    tier: str
    grain: Grain
    #: The period the cards show (the last of the view), and where the trends start.
    period_start: date
    period_end: date
    trend_start: date
    data_through: date
    comparisons: tuple[Comparison, ...]
    cards: tuple[KpiCard, ...]
    filters: dict[str, list[str]]
    #: The fewest customers a value shown describes (small-cell suppression, "<10").
    min_customers: int = DEFAULT_MIN_CELL_CUSTOMERS

    @property
    def default_comparisons(self) -> tuple[Comparison, ...]:
        """What this tier compares with when the view does not say."""
        return comparisons_for(self.tier, self.grain)

    @property
    def period_days(self) -> int:
        """Days in the period shown."""
        return period_days(self.period_start, self.grain)

    @property
    def elapsed_days(self) -> int:
        """Days of the period shown that the view covers (all of them when complete)."""
        return (self.period_end - self.period_start).days + 1

    @property
    def complete(self) -> bool:
        """Whether the period shown is whole (not cut by the view's end, e.g. month to date)."""
        return self.period_end == period_end(self.period_start, self.grain)

    def by_stage(self, worst_first: bool = False) -> tuple[StageGroup, ...]:
        """The cards grouped by shopping stage, awareness to loyalty (then any other), in
        catalog order or, `worst_first`, off target first (red, amber, green, no status).

        >>> [c.status for c in board.by_stage(worst_first=True)[0].cards]  # doctest: +SKIP
        ['red', 'amber', 'green', None]
        """
        order = [*JOURNEY_STAGES, *(s for s in STAGES if s not in JOURNEY_STAGES)]
        groups = []
        for stage in order:
            cards = [c for c in self.cards if c.kpi.stage == stage]
            if worst_first:
                cards.sort(key=lambda c: WORST_FIRST.index(c.status))
            if cards:
                groups.append(StageGroup(stage, tuple(cards)))
        return tuple(groups)

    def card(self, kpi_id: str) -> KpiCard:
        """The card of `kpi_id` (KeyError if the dashboard has none)."""
        for card in self.cards:
            if card.kpi.id == kpi_id:
                return card
        raise KeyError(kpi_id)


def tier_grain(tier: str) -> Grain:
    """The grain a tier's dashboard opens on: cxo monthly, lead weekly, members daily."""
    if tier.startswith("member:"):
        return Grain.DAY
    return Grain.WEEK if tier == "lead" else Grain.MONTH


def comparisons_for(
    tier: str, grain: Grain, chosen: Comparison | None = None
) -> tuple[Comparison, ...]:
    """What a tier's cards compare with: the comparison the view `chosen` (if the grain has
    it), else members' days with the same day last week and everything else with the
    previous period and the same period last year.

    A year's previous period is the same period last year: it is compared once.

    >>> comparisons_for("cxo", Grain.MONTH), comparisons_for("cxo", Grain.YEAR)
    (('previous', 'yoy'), ('previous',))
    """
    if chosen is not None:
        return (check_comparison(chosen, grain),)
    if tier.startswith("member:") and grain is Grain.DAY:
        return ("last_week",)
    if grain is Grain.YEAR:
        return ("previous",)
    return ("previous", "yoy")


def build_dashboard(
    reader: KpiReader,
    role: UserRole,
    tier: str,
    grain: Grain,
    start: date,
    end: date,
    filters: Filters | None = None,
    compare: Comparison | None = None,
) -> Dashboard:
    """The cards of `tier` (if `role` may open it) for the last period of [start, end],
    compared as `compare` asks (None: as the tier compares, see `comparisons_for`).

    >>> build_dashboard(engine, role, "cxo", Grain.MONTH, date(2024, 12, 1),
    ...                 date(2025, 12, 31))  # doctest: +SKIP
    """
    kpis = tier_kpis(reader.catalog, role, tier)
    chosen = comparisons_for(tier, grain, compare)
    wanted = {name: list(values) for name, values in (filters or {}).items()}
    cards = build_cards(reader, kpis, grain, start, end, wanted, chosen, role)
    return Dashboard(
        tier=tier,
        grain=grain,
        period_start=period_start(end, grain),
        period_end=end,
        trend_start=period_start(start, grain),
        data_through=reader.data_through(),
        comparisons=chosen,
        cards=tuple(cards),
        filters=wanted,
        min_customers=reader.settings.min_cell_customers,
    )


def default_view(reader: KpiReader, grain: Grain) -> tuple[date, date]:
    """The range a dashboard opens on: the latest complete periods with data."""
    return default_range(grain, reader.data_through())
