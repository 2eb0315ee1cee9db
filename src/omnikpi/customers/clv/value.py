"""Discounted customer lifetime value on gross margin over a horizon (3 years by default).

The horizon is cut into periods (months by default); the purchases a customer is expected
to make in period k are E[Y(t_k)] − E[Y(t_(k−1))] from the purchase model (BG/NBD eq. 10 or
Pareto/NBD eq. 22), each worth the Gamma-Gamma expected spend (FHL 2005, eq. 5) times the
gross margin rate, discounted to today at the annual rate d by (1 + d)^(−t_k / 1 year):

    CLV = Σ_k [E[Y(t_k)] − E[Y(t_(k−1))]] · E[M] · margin · (1 + d)^(−k / periods per year)

This is the discrete form of Fader, Hardie & Lee's (2005, "RFM and CLV", eq. 2) discounted
expected residual transactions, with the period's purchases discounted at its end (as in
the `lifetimes` package's `customer_lifetime_value`).

>>> flat = lambda t: np.array([t * 7 / 365.25])  # one purchase a year (t in weeks)
>>> settings = ValueSettings(years=1, annual_discount_rate=0.0, periods_per_year=12)
>>> round(float(discounted_value(flat, np.array([100.0]), 0.4, settings, "week")[0]), 2)
40.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from omnikpi.customers.clv.summary import days_per_unit
from omnikpi.errors import ConfigError

__all__ = ["DAYS_PER_YEAR", "ValueSettings", "discounted_value"]

#: Days in a year (the mean calendar year).
DAYS_PER_YEAR = 365.25

CumulativePurchases = Callable[[float], np.ndarray]


@dataclass(frozen=True)
class ValueSettings:
    """How far ahead (years), the annual discount rate, and how finely the horizon is cut
    (periods per year, 12: monthly)."""

    years: float = 3.0
    annual_discount_rate: float = 0.10
    periods_per_year: int = 12

    def __post_init__(self) -> None:
        if self.years <= 0:
            raise ConfigError(f"the CLV horizon must be positive (got {self.years} years)")
        if not 0 <= self.annual_discount_rate < 1:
            raise ConfigError(
                f"the annual discount rate {self.annual_discount_rate} must be in [0, 1) "
                "(e.g. 0.10 for 10 %)"
            )
        if self.periods_per_year < 1:
            raise ConfigError(f"periods per year must be at least 1 ({self.periods_per_year})")


def discounted_value(
    cumulative_purchases: CumulativePurchases,
    expected_spend: np.ndarray,
    margin_rate: float | np.ndarray,
    settings: ValueSettings,
    time_unit: str,
) -> np.ndarray:
    """CLV per customer: `cumulative_purchases(t)` gives E[Y(t)] per customer for t in the
    model's time unit; `expected_spend` per customer; `margin_rate` the gross margin share
    of spend (one rate, or one per customer)."""
    unit_days = days_per_unit(time_unit)
    periods = round(settings.years * settings.periods_per_year)
    spend = np.asarray(expected_spend, dtype=float)
    discounted = np.zeros_like(spend)
    before = np.zeros_like(spend)
    for k in range(1, periods + 1):
        years = k / settings.periods_per_year
        until = cumulative_purchases(years * DAYS_PER_YEAR / unit_days)
        discounted += (until - before) * (1.0 + settings.annual_discount_rate) ** -years
        before = until
    return np.asarray(discounted * spend * np.asarray(margin_rate, dtype=float))
