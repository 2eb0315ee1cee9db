"""KPI cards: a KPI's value for one period, its target and status, its changes against
earlier periods, and its trend — the building block of every dashboard.

Values, targets and status come from the KPI engine. For a complete period the earlier
values are read from the same query as the trend (the previous and year-ago periods are in
it), which is what the engine's own comparison gives for complete periods, in one query
instead of three. A period cut by the range end (month to date) is compared with the same
cut of the earlier period by the engine itself.

For a role without customer-level access the values describing too few customers are
withheld (`omnikpi.services.suppression`): the card, trend point, change or share says
`suppressed`, and its value is None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import pandas as pd

from omnikpi.auth import UserRole
from omnikpi.kpi import Grain, KpiSpec
from omnikpi.kpi.periods import Comparison, next_period, period_end, period_start, shift
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.spec import ChangeType
from omnikpi.services.limits import check_requests_size
from omnikpi.services.query import (
    Status,
    change_between,
    number,
    share_dimension,
    status_of,
    too_few,
)
from omnikpi.services.reader import Filters, KpiReader
from omnikpi.services.series import applicable_filters
from omnikpi.services.suppression import read_answer


@dataclass(frozen=True)
class Point:
    """One period of a trend."""

    period_start: date
    value: float | None
    target: float | None = None
    #: Whether the value is withheld from the role (too few customers).
    suppressed: bool = False


@dataclass(frozen=True)
class Change:
    """A value compared with an earlier period: that period's value and the change (relative,
    or in points for percents and scores)."""

    comparison: Comparison
    period_start: date
    value: float | None
    change: float | None
    #: Whether the earlier value is withheld from the role (too few customers).
    suppressed: bool = False


@dataclass(frozen=True)
class Share:
    """One value of a share KPI's dimension (e.g. card payments) with its share."""

    key: str | None
    value: float | None
    changes: tuple[Change, ...] = ()
    #: Whether the share is withheld from the role (too few customers).
    suppressed: bool = False


@dataclass(frozen=True)
class KpiCard:
    """A KPI for one period, as every dashboard shows it."""

    kpi: KpiSpec
    grain: Grain
    period_start: date
    period_end: date
    value: float | None
    target: float | None
    status: Status | None
    changes: tuple[Change, ...]
    trend: tuple[Point, ...]
    #: For share KPIs: the dimension (e.g. payment_method) and each value's share.
    share_of: str | None = None
    shares: tuple[Share, ...] = ()
    #: Filters of the view this KPI cannot be cut by (the card shows its total, which is
    #: not held to a target: it has no status).
    unfiltered_by: tuple[str, ...] = ()
    #: Why there is no value at all: "grain" when the KPI is not reported this finely,
    #: "missing" when tables it reads have no data (`missing_tables`).
    unavailable: Literal["grain", "missing"] | None = None
    missing_tables: tuple[str, ...] = ()
    #: For a rate: the units it is taken over in the period (visits, answers).
    base: float | None = None
    #: Whether `base` is below the minimum a status needs (the status is withheld).
    small_base: bool = False
    #: Whether the value is withheld from the role: it describes too few customers, or
    #: would give such a value back (`omnikpi.services.suppression`).
    suppressed: bool = False

    @property
    def withheld(self) -> bool:
        """Whether the card has a value to rate but no status: a filter it cannot take, or
        a target it is not held to (too small a base, a period it cannot be paced in)."""
        rateable = self.value is not None and self.status is None
        return rateable and (bool(self.unfiltered_by) or self.target is not None)

    @property
    def has_data(self) -> bool:
        """Whether the period has a value (or any share), shown or withheld."""
        if self.share_of:
            return any(share.value is not None or share.suppressed for share in self.shares)
        return self.value is not None or self.suppressed

    def change(self, comparison: Comparison) -> Change | None:
        """The change against `comparison` ("previous", "yoy", ...), if shown."""
        return next((c for c in self.changes if c.comparison == comparison), None)


def change_tone(change: float | None, direction: str) -> Literal["good", "bad", "flat"] | None:
    """Whether a change is good news for a KPI whose `direction` is up or down.

    >>> change_tone(-0.1, "down")
    'good'
    """
    if change is None:
        return None
    if change == 0:
        return "flat"
    return "good" if (change > 0) == (direction == "up") else "bad"


@dataclass
class _Rows:
    """Result rows of one KPI, by period start (and share key)."""

    rows: dict[tuple[date, str | None], dict[str, object]] = field(default_factory=dict)

    def get(self, start: date, key: str | None = None) -> dict[str, object]:
        return self.rows.get((start, key), {})

    def value(self, start: date, key: str | None = None) -> float | None:
        return number(self.get(start, key).get("value"))

    def suppressed(self, start: date, key: str | None = None, column: str = "suppressed") -> bool:
        """Whether the value (or with `column="comparison_suppressed"` the compared one)
        is withheld from the role."""
        return self.get(start, key).get(column) is not None

    def keys_at(self, start: date) -> list[str | None]:
        return [key for (day, key) in self.rows if day == start]


def _rows_by_kpi(frame: pd.DataFrame, share_of: Mapping[str, str | None]) -> dict[str, _Rows]:
    """The result's rows by KPI, period and share key (read column by column: dashboards
    turn thousands of rows into cards on every request)."""
    found: dict[str, _Rows] = {}
    share_columns = {d for d in share_of.values() if d is not None and d in frame.columns}
    wanted = [
        "kpi",
        "period_start",
        "value",
        "comparison_value",
        "change",
        "target",
        "status",
        "base",
        "suppressed",
        "comparison_suppressed",
    ]
    names = [name for name in wanted if name in frame.columns] + sorted(share_columns)
    columns = {name: frame[name].tolist() for name in names}
    for index, kpi in enumerate(columns["kpi"]):
        kpi_id = str(kpi)
        row = {name: values[index] for name, values in columns.items()}
        dimension = share_of.get(kpi_id)
        share = row.get(dimension) if dimension else None
        start = row["period_start"]
        assert isinstance(start, date)
        found.setdefault(kpi_id, _Rows()).rows[(start, None if share is None else str(share))] = row
    return found


@dataclass(frozen=True)
class _View:
    """The period the cards show and what they compare with."""

    grain: Grain
    last: date
    end: date
    complete: bool
    comparisons: tuple[Comparison, ...]
    trend_starts: tuple[date, ...]

    def changes(
        self,
        found: _Rows,
        engine: Mapping[str, _Rows],
        change_type: ChangeType,
        key: str | None = None,
    ) -> tuple[Change, ...]:
        """The changes of one KPI (or one share): from the engine's comparison for a period
        cut by the range end, else from the earlier period in the same result."""
        value = found.value(self.last, key)
        changes = []
        for comparison in self.comparisons:
            earlier = shift(self.last, self.grain, comparison)
            compared = engine.get(comparison)
            if not self.complete and compared is not None:
                row = compared.get(self.last, key)
                before = number(row.get("comparison_value"))
                change = number(row.get("change"))
                hidden = compared.suppressed(self.last, key, "comparison_suppressed")
            else:
                before = found.value(earlier, key)
                change = change_between(value, before, change_type)
                hidden = found.suppressed(earlier, key)
            changes.append(Change(comparison, earlier, before, change, hidden))
        return tuple(changes)


def _period_starts(first: date, last: date, grain: Grain) -> tuple[date, ...]:
    starts = []
    current = first
    while current <= last:
        starts.append(current)
        current = next_period(current, grain)
    return tuple(starts)


def build_cards(
    reader: KpiReader,
    kpis: Sequence[KpiSpec],
    grain: Grain,
    start: date,
    end: date,
    filters: Filters,
    comparisons: Sequence[Comparison],
    role: UserRole | None = None,
) -> list[KpiCard]:
    """A card per KPI for the period of `grain` that ends the range [start, end].

    The trend covers the periods from `start` to `end`; filters a KPI cannot be cut by are
    left out for that KPI and named on its card. KPIs reported only at a coarser grain get a
    card saying so. Values describing too few customers are withheld unless `role` has
    customer-level access (None: the warehouse owner, who has).
    """
    last = period_start(end, grain)
    view = _View(
        grain=grain,
        last=last,
        end=end,
        complete=end == period_end(last, grain),
        comparisons=tuple(comparisons),
        trend_starts=_period_starts(period_start(start, grain), last, grain),
    )
    first_needed = min([view.trend_starts[0], *(shift(last, grain, c) for c in comparisons)])
    share_of = {kpi.id: share_dimension(kpi) for kpi in kpis}
    groups: dict[tuple[tuple[str, tuple[str, ...]], ...], list[str]] = {}
    unfiltered: dict[str, tuple[str, ...]] = {}
    for kpi in kpis:
        if kpi.min_grain.order <= grain.order:
            kept, unfiltered[kpi.id] = applicable_filters(reader, kpi.id, filters)
            key = tuple(sorted((name, tuple(values)) for name, values in kept.items()))
            groups.setdefault(key, []).append(kpi.id)
    shapes = [  # each card's values, with the values a share KPI splits into
        (KpiRequest((kpi_id,), grain, first_needed, end, filters=key), share_of[kpi_id] or "")
        for key, ids in groups.items()
        for kpi_id in ids
    ]
    check_requests_size(reader, [(r, (share,) if share else ()) for r, share in shapes])
    rows: dict[str, _Rows] = {}
    compared: dict[str, dict[str, _Rows]] = {}
    for key, ids in groups.items():

        def request(
            first: date,
            compare: Comparison | None,
            ids: list[str] = ids,
            key: tuple[tuple[str, tuple[str, ...]], ...] = key,
        ) -> KpiRequest:
            return KpiRequest(tuple(ids), grain, first, end, filters=key, compare=compare)

        answer = read_answer(reader, request(first_needed, None), role)
        rows.update(_rows_by_kpi(answer, share_of))
        for comparison in comparisons if not view.complete else ():
            frame = read_answer(reader, request(last, comparison), role)
            for kpi_id, found in _rows_by_kpi(frame, share_of).items():
                compared.setdefault(kpi_id, {})[comparison] = found
    cards = [
        _card(
            kpi,
            view,
            rows.get(kpi.id, _Rows()),
            compared.get(kpi.id, {}),
            share_of[kpi.id],
            unfiltered[kpi.id],
            reader.settings.min_base,
        )
        if kpi.id in unfiltered
        else KpiCard(
            kpi, grain, last, end, None, None, None, (), (), share_of[kpi.id], unavailable="grain"
        )
        for kpi in kpis
    ]
    return [_explained(reader, card) for card in cards]


def _explained(reader: KpiReader, card: KpiCard) -> KpiCard:
    """`card`, saying which tables have no data when it has no value in any period."""
    if card.unavailable or card.has_data or any(p.value is not None for p in card.trend):
        return card
    missing = reader.missing_tables(card.kpi.id)
    return replace(card, unavailable="missing", missing_tables=missing) if missing else card


def _card(
    kpi: KpiSpec,
    view: _View,
    found: _Rows,
    engine: Mapping[str, _Rows],
    share_of: str | None,
    unfiltered_by: tuple[str, ...],
    min_base: int,
) -> KpiCard:
    """The card of one KPI; its total under filters it cannot take gets no target or
    status, nor does a rate over fewer than `min_base` units."""
    if share_of is not None:
        keys = sorted(
            found.keys_at(view.last), key=lambda k: (-(found.value(view.last, k) or 0.0), str(k))
        )
        shares = tuple(
            Share(
                k,
                found.value(view.last, k),
                view.changes(found, engine, kpi.change_type, k),
                found.suppressed(view.last, k),
            )
            for k in keys
        )
        return KpiCard(
            kpi,
            view.grain,
            view.last,
            view.end,
            None,
            None,
            None,
            (),
            (),
            share_of,
            shares,
            unfiltered_by,
        )
    row = found.get(view.last)
    rated = not unfiltered_by
    trend = tuple(
        Point(
            day,
            found.value(day),
            number(found.get(day).get("target")) if rated else None,
            found.suppressed(day),
        )
        for day in view.trend_starts
    )
    base = number(row.get("base"))
    return KpiCard(
        kpi=kpi,
        grain=view.grain,
        period_start=view.last,
        period_end=view.end,
        value=number(row.get("value")),
        target=number(row.get("target")) if rated else None,
        status=status_of(row.get("status")) if rated else None,
        changes=view.changes(found, engine, kpi.change_type),
        trend=trend,
        unfiltered_by=unfiltered_by,
        base=base,
        small_base=too_few(number(row.get("value")), base, min_base),
        suppressed=found.suppressed(view.last),
    )
