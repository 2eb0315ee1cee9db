"""The purchase summary on hand-made purchases: same-day purchases as one, calibration and
holdout split, day and week units."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from omnikpi.customers.clv import summarize_purchases
from omnikpi.errors import ConfigError, InvalidChoice

PURCHASES = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "a", "b", "c", "c", None],
        "purchased_on": pd.to_datetime(
            [
                "2024-01-01",  # a: first purchase
                "2024-01-01",  # a: same day, one transaction worth 10 + 5
                "2024-01-15",  # a: repeat, 20
                "2024-02-05",  # a: after the calibration end (holdout), 40
                "2024-01-08",  # b: one purchase only
                "2024-02-01",  # c: first purchase after the calibration end: not summarised
                "2024-02-02",
                "2024-01-02",  # a guest purchase
            ]
        ),
        "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 4.0, 99.0],
    }
)


def test_weekly_calibration_and_holdout() -> None:
    summary = summarize_purchases(
        PURCHASES, date(2024, 1, 29), holdout_end=date(2024, 2, 26), time_unit="week"
    )
    assert list(summary.index) == ["a", "b"]
    a, b = summary.loc["a"], summary.loc["b"]
    # a: one repeat day (Jan 15), 14 days = 2 weeks after the first; Jan 1 → Jan 29 = 4 weeks
    assert (a.frequency, a.recency, a.age, a.monetary_value) == (1, 2, 4, 20)
    assert (a.holdout_frequency, a.holdout_duration) == (1, 4)
    assert (b.frequency, b.recency, b.age, b.monetary_value) == (0, 0, 3, 0)
    assert b.holdout_frequency == 0


def test_daily_unit_and_timestamps() -> None:
    stamped = PURCHASES.assign(
        purchased_on=PURCHASES.purchased_on.dt.tz_localize("UTC") + pd.Timedelta(hours=13)
    )
    summary = summarize_purchases(stamped, date(2024, 1, 29), time_unit="day")
    assert summary.loc["a"].tolist() == [1, 14, 28, 20]


def test_first_repeat_on_the_calibration_end_counts() -> None:
    summary = summarize_purchases(PURCHASES, date(2024, 1, 15), time_unit="day")
    assert summary.loc["a"].tolist() == [1, 14, 14, 20]


def test_bad_settings() -> None:
    with pytest.raises(InvalidChoice, match='time unit "month"'):
        summarize_purchases(PURCHASES, date(2024, 1, 29), time_unit="month")
    with pytest.raises(ConfigError, match="must come after the calibration end"):
        summarize_purchases(PURCHASES, date(2024, 1, 29), holdout_end=date(2024, 1, 1))
    with pytest.raises(ConfigError, match="lack the columns"):
        summarize_purchases(PURCHASES.drop(columns="amount"), date(2024, 1, 29))
