"""Discounted CLV on hand-computable purchase curves."""

from __future__ import annotations

import numpy as np
import pytest

from omnikpi.customers.clv import ValueSettings, discounted_value
from omnikpi.errors import ConfigError


def one_a_year(t: float) -> np.ndarray:
    """A customer who buys once a year forever (t in weeks)."""
    return np.array([t * 7 / 365.25])


def test_undiscounted_is_purchases_times_spend_times_margin() -> None:
    settings = ValueSettings(years=3, annual_discount_rate=0.0)
    value = discounted_value(one_a_year, np.array([100.0]), 0.4, settings, "week")
    assert value[0] == pytest.approx(3 * 100 * 0.4)


def test_yearly_discounting() -> None:
    # one purchase of 100 at the end of each of two years, 10 %: 100/1.1 + 100/1.21
    settings = ValueSettings(years=2, annual_discount_rate=0.1, periods_per_year=1)
    value = discounted_value(one_a_year, np.array([100.0]), 1.0, settings, "week")
    assert value[0] == pytest.approx(100 / 1.1 + 100 / 1.21)


def test_monthly_discounting_and_margin_per_customer() -> None:
    settings = ValueSettings(years=1, annual_discount_rate=0.1, periods_per_year=12)
    two = lambda t: np.array([t / 365.25, 2 * t / 365.25])  # noqa: E731 (days)
    value = discounted_value(two, np.array([120.0, 120.0]), np.array([0.5, 0.25]), settings, "day")
    month = sum(1.1 ** -(k / 12) for k in range(1, 13)) / 12  # a twelfth of a purchase a month
    assert value.tolist() == pytest.approx([120 * 0.5 * month, 2 * 120 * 0.25 * month])


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="discount rate"):
        ValueSettings(annual_discount_rate=1.5)
    with pytest.raises(ConfigError, match="horizon"):
        ValueSettings(years=0)
