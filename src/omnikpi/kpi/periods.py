"""Calendar periods: grains, period boundaries, comparisons. One place for all of them.

Weeks are ISO weeks starting on Monday. The comparisons, the same on every page, in the API,
the CLI and CSVs:

- `previous`: the previous calendar period of the grain (yesterday, last ISO week, last
  month, last quarter, last year);
- `yoy`: the same period last year (a day: the same date; a week: the same ISO week, 52
  weeks earlier; months, quarters, years: the same calendar period);
- `last_week` (days and weeks): the same day last week (a week: the previous week);
- `weekday_last_year` (days): the same weekday 52 weeks (364 days) earlier, as retailers
  compare days.

A period cut by the query range is compared with the same cut of the comparison period
(month-to-date against the previous month to date).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

import ibis.expr.types as ir

from omnikpi.errors import ConfigError, InvalidChoice

Comparison = Literal["previous", "yoy", "last_week", "weekday_last_year"]
COMPARISONS: tuple[Comparison, ...] = ("previous", "yoy", "last_week", "weekday_last_year")


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @classmethod
    def parse(cls, value: str | Grain) -> Grain:
        try:
            return cls(value)
        except ValueError:
            raise InvalidChoice("grain", str(value), ", ".join(g.value for g in cls)) from None

    @property
    def order(self) -> int:
        return list(Grain).index(self)


_TRUNCATE_UNIT = {
    Grain.DAY: "D",
    Grain.WEEK: "W",
    Grain.MONTH: "M",
    Grain.QUARTER: "Q",
    Grain.YEAR: "Y",
}
_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


def period_start(day: date, grain: Grain) -> date:
    """First day of the period containing `day`.

    >>> period_start(date(2025, 8, 14), Grain.QUARTER)
    datetime.date(2025, 7, 1)
    """
    if grain is Grain.DAY:
        return day
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    if grain is Grain.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clipped to the month's last day (Mar 31 - 1 = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_period(start: date, grain: Grain) -> date:
    if grain is Grain.DAY:
        return start + timedelta(days=1)
    if grain is Grain.WEEK:
        return start + timedelta(days=7)
    return add_months(start, _MONTHS[grain])


def period_end(start: date, grain: Grain) -> date:
    """Last day (inclusive) of the period starting on `start`."""
    return next_period(start, grain) - timedelta(days=1)


def period_days(start: date, grain: Grain) -> int:
    """How many days the period starting on `start` has.

    >>> period_days(date(2024, 2, 1), Grain.MONTH)
    29
    """
    return (period_end(start, grain) - start).days + 1


def comparisons_at(grain: Grain) -> tuple[Comparison, ...]:
    """The comparisons a grain has: the same day last week only for days and weeks, the
    same weekday last year only for days.

    >>> comparisons_at(Grain.MONTH)
    ('previous', 'yoy')
    """
    if grain is Grain.DAY:
        return COMPARISONS
    if grain is Grain.WEEK:
        return ("previous", "yoy", "last_week")
    return ("previous", "yoy")


def check_comparison(comparison: str, grain: Grain | None = None) -> Comparison:
    """`comparison` if `grain` has it (None: if any grain has it); InvalidChoice naming
    those it has."""
    allowed = COMPARISONS if grain is None else comparisons_at(grain)
    for choice in allowed:
        if comparison == choice:
            return choice
    raise InvalidChoice("compare", comparison, ", ".join(("none", *allowed)))


def nearest_comparison(comparison: Comparison, grain: Grain) -> Comparison:
    """`comparison` at `grain`, or its nearest meaning there when the grain has not it (a
    KPI reported only monthly on a daily page): the same weekday last year becomes the same
    period last year, the same day last week the previous period.

    >>> nearest_comparison("weekday_last_year", Grain.MONTH)
    'yoy'
    """
    if comparison in comparisons_at(grain):
        return comparison
    return "yoy" if comparison == "weekday_last_year" else "previous"


def shift(day: date, grain: Grain, comparison: Comparison) -> date:
    """The day that `day` is compared with.

    >>> shift(date(2025, 3, 31), Grain.MONTH, "previous")
    datetime.date(2025, 2, 28)
    >>> shift(date(2025, 3, 5), Grain.DAY, "yoy")
    datetime.date(2024, 3, 5)
    >>> shift(date(2025, 3, 5), Grain.DAY, "weekday_last_year")
    datetime.date(2024, 3, 6)
    """
    check_comparison(comparison, grain)
    if comparison == "previous":
        if grain is Grain.DAY:
            return day - timedelta(days=1)
        if grain is Grain.WEEK:
            return day - timedelta(days=7)
        return add_months(day, -_MONTHS[grain])
    if comparison == "last_week":
        return day - timedelta(days=7)
    if comparison == "weekday_last_year" or grain is Grain.WEEK:
        return day - timedelta(days=364)
    return add_months(day, -12)


def compared_range(
    start: date, end: date, grain: Grain, comparison: Comparison
) -> tuple[date, date]:
    """The range a query over [start, end] is compared with: each whole period with the whole
    period it is compared with (November with all of October, not October's first 30 days),
    a period cut by the range with the same cut of the other (month to date against the
    previous month to the same day).

    >>> compared_range(date(2025, 11, 1), date(2025, 11, 30), Grain.MONTH, "previous")
    (datetime.date(2025, 10, 1), datetime.date(2025, 10, 31))
    >>> compared_range(date(2025, 3, 1), date(2025, 3, 15), Grain.MONTH, "previous")
    (datetime.date(2025, 2, 1), datetime.date(2025, 2, 15))
    """
    first = shift(start, grain, comparison)
    last_start = period_start(end, grain)
    if end == period_end(last_start, grain):
        return first, period_end(shift(last_start, grain, comparison), grain)
    return first, shift(end, grain, comparison)


@dataclass(frozen=True)
class Period:
    """A period of the query: calendar start, and the part of it inside the query range."""

    start: date
    first: date
    last: date


def periods(start: date, end: date, grain: Grain) -> list[Period]:
    """The periods of `grain` overlapping [start, end], each clipped to the range."""
    if end < start:
        raise ConfigError(f"end date {end} is before start date {start} (swap them)")
    result = []
    current = period_start(start, grain)
    while current <= end:
        result.append(Period(current, max(current, start), min(period_end(current, grain), end)))
        current = next_period(current, grain)
    return result


def is_full(period: Period, grain: Grain) -> bool:
    return period.first == period.start and period.last == period_end(period.start, grain)


def truncate(day: ir.DateValue, grain: Grain) -> ir.DateValue:
    """Ibis expression: first day of the period of `day` (a date expression)."""
    if grain is Grain.DAY:
        return day
    result: ir.DateValue = day.truncate(_TRUNCATE_UNIT[grain]).cast("date")
    return result
