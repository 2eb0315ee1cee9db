"""When a customer becomes "soon to be lost": the first day after a purchase on which the
purchase model's P(alive) falls below a threshold, had she bought nothing since.

After each purchase day, with x repeat days so far, t_x from the first purchase day to this
one and T from the first purchase day to day d (in the model's time unit), P(alive | x, t_x,
T) only falls as d moves on, so the day it crosses the threshold is found by bisection over
whole days, with the same `probability_alive` that scores the customers (any purchase
model). Before the first repeat purchase BG/NBD's P(alive) is 1: a one-time buyer is never
"lost" by that model within the activity window.

>>> from omnikpi.customers.clv.bgnbd import BgNbdParameters
>>> purchases = pd.DataFrame({"customer_id": ["a", "a"],
...     "purchased_on": pd.to_datetime(["2024-01-01", "2024-01-15"])})
>>> params = BgNbdParameters(r=0.25, alpha=4.0, a=0.8, b=2.5)
>>> lost_days(params, purchases, time_unit="week")["lost_on"].dt.date.tolist()
[datetime.date(2024, 12, 31), datetime.date(2024, 3, 18)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from omnikpi.customers.clv.scoring import PurchaseParameters, probability_alive
from omnikpi.customers.clv.summary import day_numbers, days_per_unit
from omnikpi.errors import ConfigError

__all__ = ["LOST_BELOW", "lost_days"]

#: P(alive) below which a customer counts as soon to be lost.
LOST_BELOW = 0.5


def lost_days(
    parameters: PurchaseParameters,
    purchases: pd.DataFrame,
    *,
    time_unit: str,
    threshold: float = LOST_BELOW,
    window_days: int = 365,
    customer: str = "customer_id",
    when: str = "purchased_on",
) -> pd.DataFrame:
    """One row per purchase row of `purchases` (same index), column `lost_on`: the first
    day d from the purchase day on with P(alive) < `threshold` were d the customer's latest
    day without a purchase since; the purchase day + `window_days` (the end of the
    activity window) when P(alive) stays at or above it until then."""
    if not 0 < threshold < 1:
        raise ConfigError(f"the P(alive) threshold must lie between 0 and 1 (got {threshold})")
    if window_days < 1:
        raise ConfigError(f"the activity window must be at least one day (got {window_days})")
    unit = days_per_unit(time_unit)
    days = day_numbers(purchases[when])
    codes, _ = pd.factorize(purchases[customer])
    # the customer's purchase days in order: x = days before this one, t_x from the first
    frame = (
        pd.DataFrame({"code": codes, "day": days}).drop_duplicates().sort_values(["code", "day"])
    )
    first = frame.groupby("code")["day"].transform("min").to_numpy()
    x = frame.groupby("code").cumcount().to_numpy(dtype=float)
    day = frame["day"].to_numpy()
    t_x = (day - first) / unit

    def below(offset: np.ndarray) -> np.ndarray:
        summary = pd.DataFrame(
            {"frequency": x, "recency": t_x, "age": (day + offset - first) / unit}
        )
        return np.asarray(probability_alive(parameters, summary) < threshold)

    # smallest offset in [0, window) with P(alive) below the threshold, else the window
    low = np.zeros(len(day), dtype=np.int64)
    high = np.full(len(day), window_days, dtype=np.int64)
    while np.any(low < high):
        middle = (low + high) // 2
        crossed = below(middle)
        open_ = low < high
        high = np.where(open_ & crossed, middle, high)
        low = np.where(open_ & ~crossed, middle + 1, low)
    lost = pd.Series(day + low, index=pd.MultiIndex.from_arrays([frame["code"], frame["day"]]))
    keys = pd.MultiIndex.from_arrays([codes, days])
    lost_on = lost.reindex(keys).to_numpy().astype("datetime64[D]")
    return pd.DataFrame({"lost_on": pd.to_datetime(lost_on)}, index=purchases.index)
