"""Numbers, money, percentages, dates and times formatted by locale (Babel, CLDR data).

Never format a user-facing number with an f-string: `format_currency(12500, "KRW", "ko")`
gives "₩12,500" (KRW has no minor unit), `format_percent(0.1234, "en")` gives "12.3%".
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers

from omnikpi.i18n.catalog import Locale, t

Number = int | float | Decimal
#: Units of KPI values (see the KPI catalog); `format_value` renders each.
Unit = Literal["count", "percent", "currency", "ratio", "number", "seconds", "hours", "score"]
DateStyle = Literal["short", "medium", "long"]


def format_number(value: Number, locale: Locale, *, digits: int = 0) -> str:
    """A number with locale grouping and exactly `digits` fraction digits."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=locale)


def format_percent(value: Number, locale: Locale, *, digits: int = 1) -> str:
    """A share given as a fraction (0.123) as a percentage ("12.3%")."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel_numbers.format_percent(value, format=pattern, locale=locale)


def format_currency(value: Number, currency: str, locale: Locale) -> str:
    """Money with the currency's own minor units (none for KRW, two for USD)."""
    return babel_numbers.format_currency(value, currency, locale=locale)


def format_compact(value: Number, locale: Locale) -> str:
    """A short form for axes and cards: 12.3M in English, 1234.6만 in Korean."""
    return babel_numbers.format_compact_decimal(value, locale=locale, fraction_digits=1)


def format_change(value: Number, locale: Locale, *, digits: int = 1) -> str:
    """A relative change as a signed percentage: "+4.2%", "-1.0%"."""
    pattern = "+#,##0" + ("." + "0" * digits if digits else "") + "%"
    negative = "-#,##0" + ("." + "0" * digits if digits else "") + "%"
    return babel_numbers.format_percent(value, format=f"{pattern};{negative}", locale=locale)


def format_date(value: date, locale: Locale, *, style: DateStyle = "medium") -> str:
    """A calendar date in the locale's style."""
    return babel_dates.format_date(value, format=style, locale=locale)


def format_datetime(
    value: datetime, locale: Locale, *, time_zone: str, style: DateStyle = "medium"
) -> str:
    """An instant shown in `time_zone` (naive datetimes are taken as UTC)."""
    zone = ZoneInfo(time_zone)
    return babel_dates.format_datetime(value, format=style, tzinfo=zone, locale=locale)


def format_duration(value: timedelta, locale: Locale) -> str:
    """An elapsed time in words, at the coarsest useful unit: "3 days", "3일"."""
    return babel_dates.format_timedelta(value, threshold=1.0, locale=locale)


def format_value(value: Number | None, unit: Unit, locale: Locale, *, currency: str) -> str:
    """A KPI value in its unit; a missing value is "no data", never zero."""
    if value is None:
        return t("format.no_data", locale)
    if unit == "percent":
        return format_percent(value, locale)
    if unit == "currency":
        return format_currency(value, currency, locale)
    if unit == "count":
        return format_number(value, locale)
    if unit == "seconds":
        return t("format.seconds", locale, value=format_number(value, locale, digits=1))
    if unit == "hours":
        return t("format.hours", locale, value=format_number(value, locale, digits=1))
    return format_number(value, locale, digits=2)
