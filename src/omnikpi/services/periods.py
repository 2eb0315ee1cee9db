"""Which periods a dashboard shows: the latest complete one, and the ones before it.

Built on `omnikpi.kpi.periods` (the one place that knows period boundaries): the
executive opens on the latest complete month, the team lead on the latest complete week,
a member on the latest day with data. A `RelativePeriod` names such a period in an
address (`period=last-complete-week`), so a bookmark keeps showing the newest data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Literal

from omnikpi.errors import InvalidChoice
from omnikpi.kpi.periods import Grain, add_months, period_end, period_start
from omnikpi.kpi.request import MAX_SPAN_DAYS

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


#: The kinds of relative period: the latest complete one, the current one so far, and the
#: last N complete ones.
RelativeKind = Literal["last_complete", "to_date", "last"]
_RELATIVE_NAME = re.compile(
    r"last-complete-(?P<complete>[a-z]+)"
    r"|(?P<current>[a-z]+)-to-date"
    r"|last-(?P<count>\d{1,6})-(?P<grains>[a-z]+)s"
)
#: How a relative period is written, for messages.
RELATIVE_FORMS = (
    "last-complete-week, week-to-date or last-13-weeks (day, week, month, quarter, year)"
)


@dataclass(frozen=True)
class RelativePeriod:
    """A period named relative to the latest day with data, so an address that names it
    shows the newest data every time it is opened (`period=last-complete-week`).

    >>> RelativePeriod.parse("last-13-weeks").resolve(date(2025, 12, 31))
    (datetime.date(2025, 9, 29), datetime.date(2025, 12, 28))
    """

    kind: RelativeKind
    grain: Grain
    #: How many complete periods `last` spans (1 for the other kinds).
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> RelativePeriod:
        """The relative period written as `text`; InvalidChoice naming the forms if none.

        >>> RelativePeriod.parse("month-to-date")
        RelativePeriod(kind='to_date', grain=<Grain.MONTH: 'month'>, count=1)
        """
        found = _RELATIVE_NAME.fullmatch(text.strip())
        grains = {grain.value: grain for grain in Grain}
        if found and found["complete"] in grains:
            return cls("last_complete", grains[found["complete"]])
        if found and found["current"] in grains:
            return cls("to_date", grains[found["current"]])
        if found and found["grains"] in grains and int(found["count"]) > 0:
            return cls("last", grains[found["grains"]], int(found["count"]))
        raise InvalidChoice("period", text, RELATIVE_FORMS)

    @property
    def name(self) -> str:
        """How an address writes it: `last-complete-week`, `week-to-date`, `last-13-weeks`."""
        if self.kind == "last_complete":
            return f"last-complete-{self.grain}"
        if self.kind == "to_date":
            return f"{self.grain}-to-date"
        return f"last-{self.count}-{self.grain}s"

    def resolve(self, latest: date) -> tuple[date, date]:
        """First and last day of this period when `latest` is the last day with data: the
        latest complete period(s) of the grain (`default_range`), or the current period
        from its first day up to `latest`."""
        if self.kind == "to_date":
            return period_start(latest, self.grain), latest
        longest = f"a span of at most {MAX_SPAN_DAYS} days"
        try:
            start, end = default_range(self.grain, latest, self.count)
        except (OverflowError, ValueError):  # starts before the calendar's first year
            raise InvalidChoice("period", self.name, longest) from None
        if (end - start).days >= MAX_SPAN_DAYS:
            raise InvalidChoice("period", self.name, longest)
        return start, end
