"""Bounds of dates, times and years: the range of values a column may hold.

A value outside its column's bounds is no mistake a KPI could absorb: an order of year 1
or 9000 breaks every period spine and date conversion that reads it. Loads quarantine
such values (`checks.py`); the event collector refuses them (400). One table of defaults,
changed per column in a mapping with `earliest:` and `latest:`:

- times of transactions and events (orders, payments, sessions, events, tickets, …):
  1970-01-01 (the Unix epoch: no retailer's system records older ones) to today + 1 year;
- the reference tables' own history (stores opened, products launched, customers and
  their memberships): from 1900-01-01, since a shop or a product can be older than 1970;
- `customers.birth_year`: 1900 to this year.

    >>> bounds = column_bounds("orders", "placed_at", date(2026, 1, 15))
    >>> bounds.describe(), bounds.contains(date(1969, 12, 31))
    ('1970-01-01 … 2027-01-15', False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from omnikpi.errors import ConfigError

#: A limit as a mapping writes it: a date (`2000-01-01`), a year (for year columns),
#: `today`, or `today + N days|years` (also `today - …`).
Limit = date | int | str
Unit = Literal["date", "year"]

EPOCH = date(1970, 1, 1)
HISTORY = date(1900, 1, 1)
#: Default latest value of every date and time: a year ahead of the load's clock.
AHEAD = "today + 1 year"
#: Tables whose dates tell their own history (a shop opened in 1955), from HISTORY.
_REFERENCE_TABLES = frozenset({"stores", "products", "customers"})
#: Integer columns holding a year, with their (earliest, latest) limits.
YEAR_COLUMNS: dict[tuple[str, str], tuple[Limit, Limit]] = {
    ("customers", "birth_year"): (HISTORY.year, "today"),
}
_RELATIVE = re.compile(r"^today(?:\s*([+-])\s*(\d+)\s*(days?|years?))?$")


@dataclass(frozen=True)
class Bounds:
    """The first and last allowed value of a column, both included; `unit` "year" for
    integer year columns (compared with the limits' years)."""

    earliest: date
    latest: date
    unit: Unit = "date"

    def contains(self, value: date | datetime | int) -> bool:
        """Whether `value` lies within the bounds (a datetime by its UTC date)."""
        if isinstance(value, datetime):
            day = value.astimezone(UTC).date() if value.tzinfo else value.date()
            return self.earliest <= day <= self.latest
        if isinstance(value, date):
            return self.earliest <= value <= self.latest
        return self.earliest.year <= value <= self.latest.year

    def describe(self) -> str:
        """The bounds as messages show them: `1970-01-01 … 2027-01-15` (or years)."""
        if self.unit == "year":
            return f"{self.earliest.year} … {self.latest.year}"
        return f"{self.earliest.isoformat()} … {self.latest.isoformat()}"

    def first_instant(self) -> datetime:
        """The first allowed instant (UTC) for a timestamp column."""
        return datetime.combine(self.earliest, time(), UTC)

    def end_instant(self) -> datetime:
        """The first instant (UTC) after the bounds for a timestamp column."""
        return datetime.combine(self.latest + timedelta(days=1), time(), UTC)


def has_bounds(table: str, column: str, column_type: str) -> bool:
    """Whether a column has bounds: every date and timestamp, and the year columns."""
    return column_type in ("date", "timestamp") or (table, column) in YEAR_COLUMNS


def default_limits(table: str, column: str) -> tuple[Limit, Limit]:
    """The (earliest, latest) limits of a column when the mapping sets none."""
    if (table, column) in YEAR_COLUMNS:
        return YEAR_COLUMNS[(table, column)]
    return (HISTORY if table in _REFERENCE_TABLES else EPOCH), AHEAD


def column_bounds(
    table: str,
    column: str,
    today: date,
    earliest: Limit | None = None,
    latest: Limit | None = None,
) -> Bounds:
    """The bounds of `table.column` on `today`, with the mapping's own limits if set.

    Raises ConfigError when a limit cannot be read or the range is empty.

    >>> column_bounds("customers", "birth_year", date(2026, 1, 15)).describe()
    '1900 … 2026'
    """
    low, high = default_limits(table, column)
    unit: Unit = "year" if (table, column) in YEAR_COLUMNS else "date"
    first = resolve_limit(low if earliest is None else earliest, today, unit)
    last = resolve_limit(high if latest is None else latest, today, unit)
    if unit == "year":
        last = date(last.year, 12, 31)
    if first > last:
        shown = Bounds(first, last, unit).describe()
        raise ConfigError(f"{table}.{column}: earliest is after latest ({shown})")
    return Bounds(first, last, unit)


def resolve_limit(limit: Limit, today: date, unit: Unit = "date") -> date:
    """A limit as a date: `2000-01-01`, a year (year columns), `today`, `today + 1 year`.

    >>> resolve_limit("today + 1 year", date(2024, 2, 29))
    datetime.date(2025, 2, 28)
    """
    if isinstance(limit, datetime):
        return limit.date()
    if isinstance(limit, date):
        return limit
    if isinstance(limit, int) and not isinstance(limit, bool):
        if unit != "year" or not 1 <= limit <= 9999:
            raise ConfigError(f"{limit} is not a date (write it as YYYY-MM-DD)")
        return date(limit, 1, 1)
    text = str(limit).strip().lower()
    match = _RELATIVE.match(text)
    if match:
        sign, count, step = match.groups()
        amount = int(count or 0) * (-1 if sign == "-" else 1)
        if step and step.startswith("year"):
            return _add_years(today, amount)
        return today + timedelta(days=amount)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f'"{limit}" is not a date limit (write YYYY-MM-DD, today, or e.g. today + 1 year)'
        ) from None


def _add_years(day: date, years: int) -> date:
    """`day` moved by whole years; 29 February becomes the 28th in other years."""
    year = min(max(day.year + years, 1), 9999)
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)
