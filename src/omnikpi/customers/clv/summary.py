"""Per-customer purchase summary for the CLV models: frequency x, recency t_x and age T in a
calibration period, the mean value of the repeat purchases, and the repeat purchases of an
optional holdout period after it.

The conventions are Fader, Hardie & Lee's (2005, "Counting your customers the easy way",
§4 and the CDNOW data note): purchases on the same day count as one transaction (their
values add up); x counts the repeat transactions (days with a purchase after the first);
t_x is the time from the first to the last purchase day and T from the first purchase day
to the calibration end (inclusive day), both in days or weeks (days / 7). A customer whose
first purchase falls after the calibration end is not in the summary.

>>> purchases = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
...     "purchased_on": pd.to_datetime(["1997-01-01", "1997-01-01", "1997-01-15", "1997-01-08"]),
...     "amount": [10.0, 5.0, 20.0, 7.0]})
>>> summary = summarize_purchases(purchases, date(1997, 1, 29), time_unit="week")
>>> print(summary.reset_index().to_string(index=False))
customer_id  frequency  recency  age  monetary_value
          a        1.0      2.0  4.0            20.0
          b        0.0      0.0  3.0             0.0
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from omnikpi.errors import ConfigError, InvalidChoice

__all__ = ["DAYS_PER_UNIT", "TimeUnit", "day_numbers", "days_per_unit", "summarize_purchases"]

TimeUnit = Literal["day", "week"]
#: Days in one time unit of the models.
DAYS_PER_UNIT: dict[str, int] = {"day": 1, "week": 7}


def days_per_unit(time_unit: str) -> int:
    """Days in `time_unit` ("day" or "week"); InvalidChoice otherwise."""
    try:
        return DAYS_PER_UNIT[time_unit]
    except KeyError:
        raise InvalidChoice("time unit", time_unit, ", ".join(DAYS_PER_UNIT)) from None


def summarize_purchases(
    purchases: pd.DataFrame,
    calibration_end: date,
    *,
    holdout_end: date | None = None,
    time_unit: str = "week",
    customer: str = "customer_id",
    when: str = "purchased_on",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """One row per customer (index `customer_id`): frequency, recency, age, monetary_value
    (mean value of the repeat purchase days, 0 without any) and, with `holdout_end`,
    holdout_frequency (purchase days after the calibration end, through `holdout_end`) and
    holdout_duration. `when` holds local dates or timestamps (only the day counts)."""
    unit = days_per_unit(time_unit)
    if holdout_end is not None and holdout_end <= calibration_end:
        raise ConfigError(
            f"the holdout end {holdout_end} must come after the calibration end "
            f"{calibration_end} (give a later holdout end or an earlier calibration end)"
        )
    missing = [c for c in (customer, when, amount) if c and c not in purchases.columns]
    if missing:
        raise ConfigError(f"purchases lack the columns {missing} (have {list(purchases.columns)})")
    rows = purchases[purchases[customer].notna()]
    codes, ids = pd.factorize(rows[customer], sort=True)
    days = day_numbers(rows[when])
    values = rows[amount].astype(float).to_numpy() if amount else np.zeros(len(rows), dtype=float)
    # one transaction per customer and day; its value is the day's total
    order = np.lexsort((days, codes))
    codes, days, values = codes[order], days[order], values[order]
    new_day = np.ones(len(days), dtype=bool)
    new_day[1:] = (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new_day)
    day_codes, day_days = codes[starts], days[starts]
    day_values = np.add.reduceat(values, starts) if len(starts) else values[:0]

    end = _day_number(calibration_end)
    first_of = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_of, day_codes, day_days)
    in_calibration = day_days <= end
    is_repeat = day_days > first_of[day_codes]
    calibration_repeat = in_calibration & is_repeat
    frequency = np.bincount(day_codes[calibration_repeat], minlength=len(ids)).astype(float)
    last_of = first_of.copy()
    np.maximum.at(last_of, day_codes[in_calibration], day_days[in_calibration])
    spend = np.bincount(
        day_codes[calibration_repeat], weights=day_values[calibration_repeat], minlength=len(ids)
    )
    known = first_of <= end
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, spend / np.maximum(frequency, 1), 0.0)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_of - first_of) / unit,
            "age": (end - first_of) / unit,
            "monetary_value": monetary,
        },
        index=pd.Index(ids, name="customer_id"),
    )
    if holdout_end is not None:
        stop = _day_number(holdout_end)
        held = (day_days > end) & (day_days <= stop) & is_repeat
        summary["holdout_frequency"] = np.bincount(day_codes[held], minlength=len(ids)).astype(
            float
        )
        summary["holdout_duration"] = (stop - end) / unit
    return summary[known]


def day_numbers(column: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of each value (a date, a timestamp or an ISO string)."""
    stamps = pd.to_datetime(column)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return np.asarray(stamps.to_numpy().astype("datetime64[D]").astype(np.int64))


def _day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))
