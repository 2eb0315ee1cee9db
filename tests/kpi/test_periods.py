"""Period boundaries and comparison shifts."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.errors import ConfigError
from omnikpi.kpi.periods import Grain, is_full, period_end, period_start, periods, shift


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
        (date(2025, 3, 3), Grain.DAY, "yoy", date(2024, 3, 4)),  # same weekday, 52 weeks
        (date(2025, 3, 3), Grain.WEEK, "yoy", date(2024, 3, 4)),
        (date(2025, 3, 31), Grain.MONTH, "previous", date(2025, 2, 28)),  # clipped
        (date(2024, 2, 29), Grain.MONTH, "yoy", date(2023, 2, 28)),
        (date(2025, 7, 1), Grain.QUARTER, "previous", date(2025, 4, 1)),
        (date(2025, 1, 1), Grain.YEAR, "previous", date(2024, 1, 1)),
    ],
)
def test_shift(day: date, grain: Grain, comparison: str, expected: date) -> None:
    assert shift(day, grain, comparison) == expected  # type: ignore[arg-type]


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
