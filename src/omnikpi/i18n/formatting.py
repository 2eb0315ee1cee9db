"""Numbers, money, percentages, dates and times formatted by locale (Babel, CLDR data).

Never format a user-facing number with an f-string: `format_currency(12500, "KRW", "ko")`
gives "₩12,500" (KRW has no minor unit), `format_percent(0.1234, "en")` gives "12.3%".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import babel
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel import units as babel_units

from omnikpi.i18n.catalog import Locale, t

Number = int | float | Decimal
#: Units of KPI values (see the KPI catalog); `format_value` renders each.
Unit = Literal["count", "percent", "currency", "ratio", "number", "seconds", "hours", "score"]
DateStyle = Literal["short", "medium", "long"]


# Pages format hundreds of numbers each: locales and patterns are parsed once.
@cache
def _babel(locale: Locale) -> babel.Locale:
    return babel.Locale.parse(locale)


@cache
def _pattern(text: str) -> babel_numbers.NumberPattern:
    return babel_numbers.parse_pattern(text)


def _digits(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits else "")


def format_number(value: Number, locale: Locale, *, digits: int = 0) -> str:
    """A number with locale grouping and exactly `digits` fraction digits."""
    return babel_numbers.format_decimal(
        value, format=_pattern(_digits(digits)), locale=_babel(locale)
    )


def format_percent(value: Number, locale: Locale, *, digits: int = 1) -> str:
    """A share given as a fraction (0.123) as a percentage ("12.3%")."""
    return babel_numbers.format_percent(
        value, format=_pattern(_digits(digits) + "%"), locale=_babel(locale)
    )


def format_currency(value: Number, currency: str, locale: Locale) -> str:
    """Money with the currency's own minor units (none for KRW, two for USD)."""
    return babel_numbers.format_currency(value, currency, locale=_babel(locale))


def format_compact(value: Number, locale: Locale) -> str:
    """A short form for axes and cards: 12.3M in English, 1234.6만 in Korean."""
    return babel_numbers.format_compact_decimal(value, locale=locale, fraction_digits=1)


def shown_change(value: Number, change_type: str = "relative", unit: str = "percent") -> float:
    """A change as it is shown: to a tenth of a percent, or of a point. A change too small
    to show is 0 (no "-0.0 pp", no arrow, not counted as worse).

    >>> shown_change(-0.00004, "points", "percent"), shown_change(0.0123, "relative")
    (0.0, 0.012)
    """
    scale = 1 if change_type == "points" and unit != "percent" else 100
    return round(float(value) * scale, 1) / scale + 0.0  # + 0.0: no negative zero


def format_change(
    value: Number, locale: Locale, *, change_type: str = "relative", unit: str = "percent"
) -> str:
    """A change: relative as a signed percentage ("+4.2%"); in points, a percent KPI's as
    percentage points ("+1.3 pp", Korean "+1.3%p") and a score's as points ("+4.0 pt").
    One too small to show is unsigned ("0.0%")."""
    value = shown_change(value, change_type, unit)
    sign = "+" if value else ""
    if change_type != "points":
        pattern = _pattern(f"{sign}#,##0.0%;-#,##0.0%")
        return babel_numbers.format_percent(value, format=pattern, locale=_babel(locale))
    signed = _pattern(f"{sign}#,##0.0;-#,##0.0")
    scale = 100 if unit == "percent" else 1
    number = babel_numbers.format_decimal(value * scale, format=signed, locale=_babel(locale))
    key = "format.percentage_points" if unit == "percent" else "format.points"
    return t(key, locale, value=number)


def format_date(value: date, locale: Locale, *, style: DateStyle = "medium") -> str:
    """A calendar date in the locale's style."""
    return babel_dates.format_date(value, format=style, locale=locale)


#: Date skeletons (CLDR) that label a period by its first day, per grain.
_PERIOD_SKELETONS = {"day": "yMMMd", "month": "yMMM", "quarter": "yQQQ", "year": "y"}


def format_period(start: date, grain: str, locale: Locale) -> str:
    """A period named by its grain: "Dec 29, 2025", "Week of Dec 29, 2025", "Q4 2025".

    `start` is the period's first day (weeks start on Monday).
    """
    if grain == "week":
        return t(
            "format.week_of", locale, day=babel_dates.format_skeleton("yMMMd", start, locale=locale)
        )
    return babel_dates.format_skeleton(_PERIOD_SKELETONS[grain], start, locale=locale)


#: Times to the minute. CLDR's short Korean time abbreviates the day period to AM/PM;
#: Korean screens write 오전/오후, which is its wide form (aaaa).
_TIME_FORMATS: dict[Locale, str] = {"ko": "aaaa h:mm", "en": "h:mm a"}


def format_datetime(value: datetime, locale: Locale, *, time_zone: str) -> str:
    """An instant as a date and a time to the minute in `time_zone` ("Dec 31, 2025, 11:59 PM",
    "2025. 12. 31. 오후 11:59"); naive datetimes are taken as UTC."""
    zone = ZoneInfo(time_zone)
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    day = babel_dates.format_date(local.date(), format="medium", locale=locale)
    time = babel_dates.format_time(local, format=_TIME_FORMATS[locale], tzinfo=zone, locale=locale)
    pattern = str(babel_dates.get_datetime_format("medium", locale=locale))
    return pattern.replace("{1}", day).replace("{0}", time)


def format_duration(value: timedelta, locale: Locale) -> str:
    """An elapsed time in words, at the coarsest useful unit: "3 days", "3일"."""
    return babel_dates.format_timedelta(value, threshold=1.0, locale=locale)


def format_days(count: int, locale: Locale) -> str:
    """A whole number of days: "3 days", "3일"."""
    return babel_units.format_unit(count, "duration-day", length="short", locale=locale)


def format_value(value: Number | None, unit: Unit, locale: Locale, *, currency: str) -> str:
    """A KPI value in its unit; a missing value is "no data", never zero."""
    if value is None:
        return t("format.no_data", locale)
    if unit == "percent":
        return format_percent(value, locale)
    if unit == "currency":
        return format_currency(value, currency, locale)
    if unit == "count":  # a target or an average of counts may have a fraction: keep one digit
        return format_number(value, locale, digits=0 if float(value).is_integer() else 1)
    if unit == "seconds":
        return t("format.seconds", locale, value=format_number(value, locale, digits=1))
    if unit == "hours":
        return t("format.hours", locale, value=format_number(value, locale, digits=1))
    if unit == "ratio":
        return format_number(value, locale, digits=2)
    return format_number(value, locale, digits=1)


@dataclass(frozen=True)
class LocaleFormat:
    """The formatters above bound to one locale, currency and time zone (for templates).

    >>> LocaleFormat("en", "KRW", "Asia/Seoul").money(12500)
    '₩12,500'
    """

    locale: Locale
    currency: str
    time_zone: str

    def number(self, value: Number, digits: int = 0) -> str:
        return format_number(value, self.locale, digits=digits)

    def percent(self, value: Number, digits: int = 1) -> str:
        return format_percent(value, self.locale, digits=digits)

    def money(self, value: Number) -> str:
        return format_currency(value, self.currency, self.locale)

    def compact(self, value: Number) -> str:
        return format_compact(value, self.locale)

    def change(self, value: Number, change_type: str = "relative", unit: str = "percent") -> str:
        return format_change(value, self.locale, change_type=change_type, unit=unit)

    def shown_change(
        self, value: Number, change_type: str = "relative", unit: str = "percent"
    ) -> float:
        return shown_change(value, change_type, unit)

    def day(self, value: date, style: DateStyle = "medium") -> str:
        return format_date(value, self.locale, style=style)

    def period(self, start: date, grain: str) -> str:
        return format_period(start, grain, self.locale)

    def moment(self, value: datetime) -> str:
        return format_datetime(value, self.locale, time_zone=self.time_zone)

    def duration(self, value: timedelta) -> str:
        return format_duration(value, self.locale)

    def days(self, count: int) -> str:
        return format_days(count, self.locale)

    def value(self, value: Number | None, unit: Unit) -> str:
        return format_value(value, unit, self.locale, currency=self.currency)
