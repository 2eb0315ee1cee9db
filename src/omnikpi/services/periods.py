"""Which periods a dashboard shows: the latest complete one, and the ones before it.

Built on `omnikpi.kpi.periods` (the one place that knows period boundaries): the
executive opens on the latest complete month, the team lead on the latest complete week,
a member on the latest day with data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType

from omnikpi.kpi.periods import Grain, add_months, period_end, period_start

#: How many periods a view spans unless the URL says otherwise (DESIGN §1: 13 months
#: of trend for executives, a quarter of weeks for leads, 30 days for members).
DEFAULT_PERIODS: Mapping[Grain, int] = MappingProxyType(
    {Grain.DAY: 30, Grain.WEEK: 13, Grain.MONTH: 13, Grain.QUARTER: 8, Grain.YEAR: 3}
)


def periods_back(start: date, grain: Grain, count: int) -> date:
    """The first day of the period `count` periods before the one starting on `start`.

    >>> periods_back(date(2025, 12, 1), Grain.MONTH, 12)
    datetime.date(2024, 12, 1)
    """
    if grain is Grain.DAY:
        return start - timedelta(days=count)
    if grain is Grain.WEEK:
        return start - timedelta(weeks=count)
    months = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[grain]
    return add_months(start, -months * count)


def latest_complete_end(grain: Grain, latest: date) -> date:
    """The last day of the latest period of `grain` that ends on or before `latest`.

    >>> latest_complete_end(Grain.WEEK, date(2025, 12, 31))  # a Wednesday
    datetime.date(2025, 12, 28)
    >>> latest_complete_end(Grain.MONTH, date(2025, 12, 31))
    datetime.date(2025, 12, 31)
    """
    current = period_start(latest, grain)
    if period_end(current, grain) <= latest:
        return period_end(current, grain)
    return current - timedelta(days=1)


def default_range(grain: Grain, latest: date, periods: int | None = None) -> tuple[date, date]:
    """First and last day of the `periods` (default: DEFAULT_PERIODS) complete periods of
    `grain` ending with the latest complete one.

    >>> default_range(Grain.MONTH, date(2025, 12, 31))
    (datetime.date(2024, 12, 1), datetime.date(2025, 12, 31))
    """
    end = latest_complete_end(grain, latest)
    count = periods if periods is not None else DEFAULT_PERIODS[grain]
    return periods_back(period_start(end, grain), grain, count - 1), end
