"""Period boundaries and comparison shifts."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.errors import ConfigError, InvalidChoice
from omnikpi.kpi.periods import (
    Grain,
    compared_range,
    is_full,
    period_end,
    period_start,
    periods,
    shift,
)
from omnikpi.kpi.request import KpiRequest


@pytest.mark.parametrize(
    ("day", "grain", "start", "end"),
    [
        (date(2025, 3, 6), Grain.WEEK, date(2025, 3, 3), date(2025, 3, 9)),  # ISO, Monday
        (date(2025, 3, 9), Grain.WEEK, date(2025, 3, 3), date(2025, 3, 9)),  # Sunday
        (date(2024, 2, 10), Grain.MONTH, date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        (date(2025, 11, 30), Grain.QUARTER, date(2025, 10, 1), date(2025, 12, 31)),
        (date(2025, 6, 1), Grain.YEAR, date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_boundaries(day: date, grain: Grain, start: date, end: date) -> None:
    assert period_start(day, grain) == start
    assert period_end(start, grain) == end


@pytest.mark.parametrize(
    ("day", "grain", "comparison", "expected"),
    [
        (date(2025, 3, 3), Grain.DAY, "previous", date(2025, 3, 2)),
        (date(2025, 3, 3), Grain.DAY, "yoy", date(2024, 3, 3)),  # the same date
        (date(2024, 2, 29), Grain.DAY, "yoy", date(2023, 2, 28)),  # clipped
        (date(2025, 3, 3), Grain.DAY, "weekday_last_year", date(2024, 3, 4)),  # 52 weeks
        (date(2025, 3, 3), Grain.WEEK, "yoy", date(2024, 3, 4)),  # the same ISO week
        (date(2025, 3, 5), Grain.DAY, "last_week", date(2025, 2, 26)),
        (date(2025, 3, 3), Grain.WEEK, "last_week", date(2025, 2, 24)),
        (date(2025, 3, 31), Grain.MONTH, "previous", date(2025, 2, 28)),  # clipped
        (date(2024, 2, 29), Grain.MONTH, "yoy", date(2023, 2, 28)),
        (date(2025, 7, 1), Grain.QUARTER, "previous", date(2025, 4, 1)),
        (date(2025, 1, 1), Grain.YEAR, "previous", date(2024, 1, 1)),
    ],
)
def test_shift(day: date, grain: Grain, comparison: str, expected: date) -> None:
    assert shift(day, grain, comparison) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grain", "comparison", "allowed"),
    [
        (Grain.MONTH, "last_week", "none, previous, yoy"),
        (Grain.WEEK, "weekday_last_year", "none, previous, yoy, last_week"),
        (Grain.DAY, "fortnight", "none, previous, yoy, last_week, weekday_last_year"),
    ],
)
def test_a_comparison_the_grain_has_not_is_refused_naming_those_it_has(
    grain: Grain, comparison: str, allowed: str
) -> None:
    with pytest.raises(InvalidChoice) as error:
        shift(date(2025, 3, 3), grain, comparison)  # type: ignore[arg-type]
    assert (error.value.param, error.value.allowed) == ("compare", allowed)
    with pytest.raises(InvalidChoice):
        KpiRequest.parse("revenue", grain, "2025-01-01", "2025-03-31", compare=comparison)


def test_periods_are_clipped_to_the_range() -> None:
    found = periods(date(2025, 1, 15), date(2025, 3, 10), Grain.MONTH)
    assert [(p.start, p.first, p.last) for p in found] == [
        (date(2025, 1, 1), date(2025, 1, 15), date(2025, 1, 31)),
        (date(2025, 2, 1), date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 10)),
    ]
    assert [is_full(p, Grain.MONTH) for p in found] == [False, True, False]


def test_bad_values() -> None:
    with pytest.raises(ConfigError, match='grain "fortnight" is not valid'):
        Grain.parse("fortnight")
    with pytest.raises(ConfigError, match="is before start date"):
        periods(date(2025, 3, 1), date(2025, 2, 1), Grain.DAY)


@pytest.mark.parametrize(
    ("start", "end", "grain", "comparison", "expected"),
    [
        # whole periods compare with whole periods, whatever their lengths
        ("2025-11-01", "2025-11-30", Grain.MONTH, "previous", ("2025-10-01", "2025-10-31")),
        ("2025-03-01", "2025-03-31", Grain.MONTH, "previous", ("2025-02-01", "2025-02-28")),
        ("2024-03-01", "2024-03-31", Grain.MONTH, "previous", ("2024-02-01", "2024-02-29")),
        ("2025-02-01", "2025-02-28", Grain.MONTH, "yoy", ("2024-02-01", "2024-02-29")),
        ("2025-04-01", "2025-06-30", Grain.QUARTER, "previous", ("2025-01-01", "2025-03-31")),
        ("2025-09-01", "2025-11-30", Grain.MONTH, "previous", ("2025-08-01", "2025-10-31")),
        # a period cut by the range: the same cut of the other
        ("2025-03-01", "2025-03-15", Grain.MONTH, "previous", ("2025-02-01", "2025-02-15")),
        ("2025-03-31", "2025-03-31", Grain.DAY, "yoy", ("2024-03-31", "2024-03-31")),
        ("2025-03-31", "2025-03-31", Grain.DAY, "weekday_last_year", ("2024-04-01", "2024-04-01")),
        ("2025-12-22", "2025-12-28", Grain.WEEK, "previous", ("2025-12-15", "2025-12-21")),
    ],
)
def test_the_compared_range(
    start: str, end: str, grain: Grain, comparison: str, expected: tuple[str, str]
) -> None:
    found = compared_range(date.fromisoformat(start), date.fromisoformat(end), grain, comparison)  # type: ignore[arg-type]
    assert tuple(d.isoformat() for d in found) == expected
