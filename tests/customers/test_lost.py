"""The day a customer counts as soon to be lost: hand-computed from BG/NBD's closed form,
and for Pareto/NBD the day P(alive) crosses 0.5 (checked on both sides of it)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from omnikpi.customers.clv import BgNbdParameters, probability_alive
from omnikpi.customers.clv.lost import lost_days
from omnikpi.customers.clv.pareto_nbd import ParetoNbdParameters
from omnikpi.errors import ConfigError

BGNBD = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
DAYS = ["1997-01-01", "1997-01-01", "1997-02-12", "1997-03-05", "1997-01-20"]
PURCHASES = pd.DataFrame(
    {"customer_id": ["a", "a", "a", "a", "b"], "purchased_on": pd.to_datetime(DAYS)}
)


def bgnbd_lost_on(first: date, x: int, t_x_days: int, unit: int) -> date:
    """P(alive) < 1/2 ⟺ a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) > 1 ⟺ T > T*, with
    T* = (alpha + t_x) ((b+x-1)/a)^(1/(r+x)) - alpha; the first whole day past T*."""
    p = BGNBD
    t_x = t_x_days / unit
    threshold = (p.alpha + t_x) * ((p.b + x - 1) / p.a) ** (1 / (p.r + x)) - p.alpha
    return first + timedelta(days=max(math.floor(threshold * unit) + 1, t_x_days))


def test_bgnbd_lost_days_by_hand() -> None:
    lost = lost_days(BGNBD, PURCHASES, time_unit="week")["lost_on"].dt.date.tolist()
    first = date(1997, 1, 1)
    year = timedelta(days=365)
    assert lost == [
        first + year,  # the first purchase: P(alive) is 1 before a repeat purchase
        first + year,  # the same day counts once
        bgnbd_lost_on(first, 1, 42, 7),
        bgnbd_lost_on(first, 2, 63, 7),
        date(1997, 1, 20) + year,
    ]
    # in days the same customer crosses on the same day or the next (rounding of T*)
    daily = BgNbdParameters(r=BGNBD.r, alpha=BGNBD.alpha * 7, a=BGNBD.a, b=BGNBD.b)
    by_day = lost_days(daily, PURCHASES, time_unit="day")["lost_on"].dt.date.tolist()
    assert by_day[2] == bgnbd_lost_on(first, 1, 42, 7)


def test_the_window_caps_a_customer_who_stays_likely_alive() -> None:
    steady = BgNbdParameters(r=2.0, alpha=1.0, a=0.1, b=50.0)  # hardly anyone drops out
    lost = lost_days(steady, PURCHASES, time_unit="week", window_days=30)["lost_on"]
    assert lost.dt.date.tolist()[2] == date(1997, 2, 12) + timedelta(days=30)


def test_pareto_nbd_crosses_on_the_day_found() -> None:
    params = ParetoNbdParameters(r=0.55, alpha=10.6, s=0.61, beta=11.7)
    lost = lost_days(params, PURCHASES, time_unit="week")["lost_on"].dt.date.tolist()
    first = date(1997, 1, 1)
    for row, (x, t_x) in ((2, (1, 6.0)), (3, (2, 9.0))):
        offset = (lost[row] - first).days
        assert offset < 365 + (9 if row == 3 else 6) * 7
        before, after = (
            probability_alive(
                params,
                pd.DataFrame({"frequency": [x], "recency": [t_x], "age": [days / 7]}),
            )[0]
            for days in (offset - 1, offset)
        )
        assert before >= 0.5 > after, (row, before, after)
    assert np.all(pd.to_datetime(lost) >= pd.to_datetime(DAYS))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        lost_days(BGNBD, PURCHASES, time_unit="week", threshold=1.5)
    with pytest.raises(ConfigError, match="at least one day"):
        lost_days(BGNBD, PURCHASES, time_unit="week", window_days=0)
