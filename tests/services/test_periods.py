"""Which periods a dashboard opens on (checked by calendar)."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.kpi import Grain
from omnikpi.services import default_range, latest_complete_end, periods_back


@pytest.mark.parametrize(
    ("grain", "latest", "end"),
    [
        (Grain.DAY, date(2025, 12, 31), date(2025, 12, 31)),
        (Grain.WEEK, date(2025, 12, 31), date(2025, 12, 28)),  # Wed → the Sunday before
        (Grain.WEEK, date(2025, 12, 28), date(2025, 12, 28)),  # a Sunday ends its week
        (Grain.MONTH, date(2025, 12, 30), date(2025, 11, 30)),
        (Grain.MONTH, date(2024, 2, 29), date(2024, 2, 29)),  # leap day ends February
        (Grain.QUARTER, date(2025, 12, 31), date(2025, 12, 31)),
        (Grain.QUARTER, date(2025, 12, 30), date(2025, 9, 30)),
        (Grain.YEAR, date(2025, 12, 30), date(2024, 12, 31)),
    ],
)
def test_the_latest_complete_period_ends_on_or_before_the_latest_data(
    grain: Grain, latest: date, end: date
) -> None:
    assert latest_complete_end(grain, latest) == end


def test_periods_back_count_whole_periods() -> None:
    assert periods_back(date(2025, 12, 22), Grain.WEEK, 52) == date(2024, 12, 23)
    assert periods_back(date(2025, 3, 1), Grain.MONTH, 13) == date(2024, 2, 1)
    assert periods_back(date(2025, 10, 1), Grain.QUARTER, 4) == date(2024, 10, 1)
    assert periods_back(date(2025, 12, 31), Grain.DAY, 364) == date(2025, 1, 1)


def test_default_ranges_span_the_usual_number_of_periods() -> None:
    assert default_range(Grain.MONTH, date(2025, 12, 31)) == (date(2024, 12, 1), date(2025, 12, 31))
    assert default_range(Grain.WEEK, date(2025, 12, 31)) == (date(2025, 9, 29), date(2025, 12, 28))
    assert default_range(Grain.DAY, date(2025, 12, 31)) == (date(2025, 12, 2), date(2025, 12, 31))
    assert default_range(Grain.MONTH, date(2025, 12, 31), 1) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )
