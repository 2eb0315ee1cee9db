"""A KPI request — KPIs × grain × date range × breakdown × filters × comparison — parsed
from what a person typed, once, the same way for the CLI, the API and the pages.

`KpiRequest.parse` checks the form of every part (ids, grain, dates, `DIM=VALUE` filters,
comparison) with the same functions the KPI engine checks its arguments with; whether the
KPIs, dimensions and values exist is checked by the engine when the request runs
(`omnikpi.services.query_kpis`), so every interface gives the same answer or the same
error.

    >>> KpiRequest.parse("revenue,aov", "month", "2025-01-01", "2025-03-31",
    ...                  by=["channel"], filters=["store=S001"], compare="yoy").filters
    (('store', ('S001',)),)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from omnikpi.errors import InvalidChoice
from omnikpi.kpi.periods import Comparison, Grain, check_comparison

FilterItems = tuple[tuple[str, tuple[str, ...]], ...]
#: The longest range a request may span (ten years of days).
MAX_SPAN_DAYS = 3660
#: The first and last day any date of a request may be: beyond them periods, comparisons
#: a year back and the calendar's own limits (year 1, year 9999) are not worth reaching.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
DAY_RANGE = f"a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"


def parse_ids(ids: str | Sequence[str]) -> tuple[str, ...]:
    """KPI ids from `a,b,c` or a list; an empty id (`revenue,,nps`) is an error."""
    items = ids.split(",") if isinstance(ids, str) else list(ids)
    parts = tuple(item.strip() for item in items)
    if not parts or any(not part for part in parts):
        text = ids if isinstance(ids, str) else ",".join(ids)
        raise InvalidChoice("KPI list", text, "one or more KPI ids separated by commas")
    return parts


def parse_grain(value: str | Grain) -> Grain:
    """A grain: day, week, month, quarter or year."""
    return Grain.parse(value)


def parse_day(value: str | date, param: str) -> date:
    """A YYYY-MM-DD date from FIRST_DAY to LAST_DAY (InvalidChoice naming `param` and the
    form or the bounds otherwise: `end "9999-12-31" is not valid (allowed: a day from
    1900-01-01 to 2999-12-31)`).

    >>> parse_day("2025-12-31", "end")
    datetime.date(2025, 12, 31)
    """
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidChoice(param, value, "YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidChoice(param, day.isoformat(), DAY_RANGE)
    return day


def check_range(start: date, end: date) -> None:
    """InvalidChoice unless `start` ≤ `end` and the range spans at most MAX_SPAN_DAYS."""
    if end < start:
        raise InvalidChoice("end", end.isoformat(), f"≥ start {start.isoformat()}")
    if (end - start).days >= MAX_SPAN_DAYS:
        earliest = end - timedelta(days=MAX_SPAN_DAYS - 1)
        raise InvalidChoice("start", start.isoformat(), f"≥ {earliest.isoformat()}")


def parse_compare(value: str | None, grain: Grain | None = None) -> Comparison | None:
    """A comparison (see `omnikpi.kpi.periods`) that `grain` has (any grain's when None);
    None, "" or "none" for no comparison.

    >>> parse_compare("last_week", Grain.MONTH)
    Traceback (most recent call last):
    omnikpi.errors.InvalidChoice: compare "last_week" is not valid (allowed: none, previous, yoy)
    """
    if value is None or value.strip() in ("", "none"):
        return None
    return check_comparison(value.strip(), grain)


def parse_filters(items: Iterable[str] | Mapping[str, str | Sequence[str]]) -> FilterItems:
    """Filters from `DIM=VALUE` texts (repeatable; several values of one dimension are
    alternatives) or a mapping, sorted by dimension."""
    found: dict[str, list[str]] = {}
    if isinstance(items, Mapping):
        for name, values in items.items():
            listed = [values] if isinstance(values, str) else list(values)
            found.setdefault(str(name), []).extend(str(v) for v in listed)
    else:
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise InvalidChoice("filter", item, "DIM=VALUE, e.g. channel=web")
            found.setdefault(name.strip(), []).append(value.strip())
    return tuple(
        (name, tuple(dict.fromkeys(values))) for name, values in sorted(found.items()) if values
    )


@dataclass(frozen=True)
class KpiRequest:
    """What a person asked for, checked for form."""

    kpis: tuple[str, ...]
    grain: Grain
    start: date
    end: date
    by: tuple[str, ...] = ()
    filters: FilterItems = ()
    compare: Comparison | None = None
    #: Also give the numerator and denominator of ratio KPIs (how many visits behind a
    #: conversion rate, how many answers behind a CSAT).
    parts: bool = False
    #: Also count the distinct customers behind each value and its comparison (columns
    #: `population`, `comparison_population`; see `omnikpi.kpi.population`): the services
    #: ask for them to suppress small cells for roles without customer-level access.
    population: bool = False

    @classmethod
    def parse(
        cls,
        kpis: str | Sequence[str],
        grain: str | Grain,
        start: str | date,
        end: str | date,
        *,
        by: Sequence[str] = (),
        filters: Iterable[str] | Mapping[str, str | Sequence[str]] = (),
        compare: str | None = None,
        parts: bool = False,
    ) -> KpiRequest:
        """A request from typed values; InvalidChoice names the first bad one."""
        first, last = parse_day(start, "start"), parse_day(end, "end")
        check_range(first, last)
        chosen_grain = parse_grain(grain)
        dims = tuple(d.strip() for d in by if d.strip())
        if len(set(dims)) != len(dims):
            raise InvalidChoice("by", ",".join(dims), "each dimension once")
        return cls(
            kpis=parse_ids(kpis),
            grain=chosen_grain,
            start=first,
            end=last,
            by=dims,
            filters=parse_filters(filters),
            compare=parse_compare(compare, chosen_grain),
            parts=parts,
        )

    @property
    def filter_map(self) -> dict[str, list[str]]:
        """The filters as the KPI engine takes them."""
        return {name: list(values) for name, values in self.filters}

    def query(self) -> list[tuple[str, str]]:
        """The request as query-string pairs (`GET /api/v1/kpis/{id}/series` and the CSV
        downloads read them back into the same request)."""
        pairs = [
            ("grain", self.grain.value),
            ("start", self.start.isoformat()),
            ("end", self.end.isoformat()),
            ("compare", self.compare or "none"),
        ]
        pairs += [("by", dimension) for dimension in self.by]
        pairs += [
            ("filter", f"{name}={value}") for name, values in self.filters for value in values
        ]
        if self.parts:
            pairs.append(("parts", "true"))
        return pairs
