"""Numbers, money, percentages and dates per locale (values checked against CLDR by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from omnikpi.i18n import (
    LocaleFormat,
    format_change,
    format_currency,
    format_date,
    format_datetime,
    format_days,
    format_number,
    format_percent,
    format_period,
    format_value,
    shown_change,
)


def test_krw_has_no_minor_unit_and_usd_has_two() -> None:
    assert format_currency(12500.4, "KRW", "ko") == "₩12,500"
    assert format_currency(Decimal("1234567.5"), "KRW", "en") == "₩1,234,568"
    assert format_currency(1234.5, "USD", "en") == "$1,234.50"


def test_numbers_percentages_and_changes() -> None:
    assert format_number(1234567, "ko") == "1,234,567"
    assert format_number(0.456, "en", digits=2) == "0.46"
    assert format_percent(0.1234, "en") == "12.3%"
    assert format_percent(0.5, "ko", digits=0) == "50%"
    assert format_change(0.042, "en") == "+4.2%"
    assert format_change(-0.01, "ko") == "-1.0%"


def test_a_change_too_small_to_show_is_no_change() -> None:
    """-0.00004 is -0.004 pp: shown as 0.0 pp, without a sign, and not as a loss."""
    assert format_change(-0.00004, "en", change_type="points", unit="percent") == "0.0 pp"
    assert format_change(-0.0004, "en") == "0.0%"
    assert shown_change(-0.00004, "points", "percent") == 0.0
    assert shown_change(-0.04, "points", "score") == 0.0  # -0.04 pt
    assert shown_change(-0.06, "points", "score") == -0.1
    assert format_change(-0.06, "en", change_type="points", unit="score") == "-0.1 pt"


def test_dates_and_instants_in_the_retailers_time_zone() -> None:
    assert format_date(date(2025, 12, 31), "en") == "Dec 31, 2025"
    assert format_date(date(2025, 12, 31), "ko", style="long") == "2025년 12월 31일"
    # 15:30 UTC on Dec 31 is 00:30 on Jan 1 in Seoul (UTC+9).
    moment = datetime(2025, 12, 31, 15, 30, tzinfo=UTC)
    assert format_datetime(moment, "en", time_zone="Asia/Seoul") == "Jan 1, 2026, 12:30 AM"
    assert format_datetime(moment, "ko", time_zone="Asia/Seoul") == "2026. 1. 1. 오전 12:30"


@pytest.mark.parametrize(
    ("grain", "english", "korean"),
    [
        ("day", "Dec 29, 2025", "2025년 12월 29일"),
        ("week", "Week of Dec 29, 2025", "2025년 12월 29일 시작 주"),
        ("month", "Dec 2025", "2025년 12월"),
        ("quarter", "Q4 2025", "2025년 4분기"),
        ("year", "2025", "2025년"),
    ],
)
def test_periods_are_named_by_grain(grain: str, english: str, korean: str) -> None:
    assert format_period(date(2025, 12, 29), grain, "en") == english
    assert format_period(date(2025, 12, 29), grain, "ko") == korean


def test_days_and_missing_values() -> None:
    assert format_days(1, "en") == "1 day"
    assert format_days(3, "ko") == "3일"
    assert format_value(None, "currency", "ko", currency="KRW") == "데이터 없음"
    assert format_value(None, "count", "en", currency="KRW") == "No data"
    assert format_value(0, "count", "en", currency="KRW") == "0"  # zero is a value, not no data
    assert format_value(1204.0, "count", "en", currency="KRW") == "1,204"
    assert format_value(5.1, "count", "en", currency="KRW") == "5.1"  # e.g. a target
    assert format_value(0.25, "percent", "en", currency="KRW") == "25.0%"
    assert format_value(39000, "currency", "en", currency="KRW") == "₩39,000"
    assert format_value(3.456, "ratio", "en", currency="KRW") == "3.46"
    assert format_value(90.5, "seconds", "ko", currency="KRW") == "90.5초"


def test_locale_format_binds_locale_currency_and_zone() -> None:
    fmt = LocaleFormat("ko", "KRW", "Asia/Seoul")
    assert fmt.money(39000) == "₩39,000"
    assert fmt.compact(2_584_537) == "258.5만"
    assert fmt.period(date(2025, 10, 1), "quarter") == "2025년 4분기"
