"""The simulated retailer's calendar: seasonality, sale events, and local-time conversions.

Times inside the simulator are seconds since local midnight of the first day; `to_utc`
turns them into UTC instants for the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

DAY = 86_400
HOUR = 3_600

#: Relative demand by month (Korean beauty retail: gifting peaks in Nov-Dec, summer lull).
MONTH_WEIGHT = np.array([0.95, 0.92, 1.0, 1.02, 1.05, 0.96, 0.9, 0.9, 1.0, 1.02, 1.22, 1.3])
#: Relative online demand by weekday, Monday first.
ONLINE_WEEKDAY_WEIGHT = np.array([1.06, 1.04, 1.02, 1.0, 0.98, 0.92, 0.98])
#: Relative store traffic by weekday, Monday first.
STORE_WEEKDAY_WEIGHT = np.array([0.82, 0.82, 0.85, 0.88, 1.05, 1.45, 1.3])
#: Share of online sessions starting in each local hour (evening peak).
ONLINE_HOUR_WEIGHT = np.array(
    [
        2.2,
        1.3,
        0.8,
        0.5,
        0.4,
        0.5,
        0.9,
        1.8,
        2.8,
        3.4,
        3.9,
        4.3,
        4.8,
        4.6,
        4.3,
        4.2,
        4.3,
        4.6,
        5.0,
        5.6,
        6.6,
        7.3,
        7.0,
        4.7,
    ]
)
#: Share of store purchases in each local hour (opening hours 10-22).
STORE_HOUR_WEIGHT = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        3.5,
        6.0,
        8.0,
        8.5,
        8.2,
        8.4,
        9.0,
        9.6,
        10.5,
        11.0,
        9.3,
        7.0,
        0,
        0,
    ]
)


@dataclass(frozen=True)
class SaleEvent:
    name: str
    month: int
    day: int
    length: int
    lift: float
    discount: float


#: Yearly promotions: traffic lift and the markdown they bring.
SALE_EVENTS = (
    SaleEvent("New Year Sale", 1, 2, 5, 1.35, 0.15),
    SaleEvent("Spring Beauty Week", 3, 14, 7, 1.5, 0.2),
    SaleEvent("Family Month", 5, 1, 8, 1.3, 0.1),
    SaleEvent("Summer Sale", 6, 20, 7, 1.45, 0.25),
    SaleEvent("Chuseok Gift Week", 9, 8, 7, 1.4, 0.1),
    SaleEvent("11.11 Day", 11, 11, 1, 2.2, 0.3),
    SaleEvent("Black Friday", 11, 25, 5, 1.8, 0.3),
    SaleEvent("Holiday Gifting", 12, 15, 10, 1.5, 0.15),
)


class Calendar:
    """Day-level demand curves over the simulated period."""

    def __init__(self, start: date, days: int, time_zone: str) -> None:
        self.start = start
        self.days = days
        zone = ZoneInfo(time_zone)
        midnight = datetime(start.year, start.month, start.day, tzinfo=zone)
        self.epoch0 = int(midnight.timestamp())
        dates = [start + timedelta(days=i) for i in range(days)]
        self.dates = np.array(dates, dtype="datetime64[D]")
        self.weekday = np.array([d.weekday() for d in dates])
        self.month = np.array([d.month for d in dates])
        self.sale_index = np.full(days, -1)
        for k, event in enumerate(SALE_EVENTS):
            for year in range(start.year, dates[-1].year + 1):
                first = date(year, event.month, event.day)
                for offset in range(event.length):
                    i = (first - start).days + offset
                    if 0 <= i < days:
                        self.sale_index[i] = k
        lift = np.array([e.lift for e in SALE_EVENTS] + [1.0])
        self.sale_lift = lift[self.sale_index]
        discount = np.array([e.discount for e in SALE_EVENTS] + [0.0])
        self.sale_discount = discount[self.sale_index]
        self.is_sale = self.sale_index >= 0
        season = MONTH_WEIGHT[self.month - 1]
        # Slow growth of the business over the period (about 12% a year).
        trend = 1.0 + 0.12 * np.arange(days) / 365.0
        self.online_weight = season * ONLINE_WEEKDAY_WEIGHT[self.weekday] * self.sale_lift * trend
        self.store_weight = season * STORE_WEEKDAY_WEIGHT[self.weekday] * np.sqrt(self.sale_lift)
        self.acquisition_weight = season * self.sale_lift**1.5 * trend
        self.peak = (self.month >= 11) | self.is_sale
        new_month = np.r_[True, self.month[1:] != self.month[:-1]]
        #: Ordinal of the calendar month each day falls in (0 = the first month).
        self.month_index = np.cumsum(new_month) - 1
        self.month_first_day = np.nonzero(new_month)[0]

    # -- conversions ---------------------------------------------------------------------
    def to_utc(self, seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """UTC timestamps (whole seconds) for simulator seconds; null where not `valid`."""
        epoch = (np.asarray(seconds, dtype=np.float64) // 1).astype(np.int64) + self.epoch0
        mask = None if valid is None else ~np.asarray(valid, dtype=bool)
        arr = pa.array(epoch, type=pa.int64(), mask=mask)
        return arr.cast(pa.timestamp("s", tz="UTC")).cast(pa.timestamp("us", tz="UTC"))

    def to_date(self, day_index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """Local dates for day indexes (0 = first day)."""
        base = (self.dates[0] - np.datetime64("1970-01-01", "D")).astype(np.int64)
        values = (np.asarray(day_index, dtype=np.int64) + base).astype(np.int32)
        mask = None if valid is None else ~np.asarray(valid, dtype=bool)
        return pa.array(values, type=pa.int32(), mask=mask).cast(pa.date32())

    def day_of(self, seconds: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(seconds) // DAY).astype(np.int64), 0, self.days - 1)

    @property
    def end_seconds(self) -> int:
        return self.days * DAY

    # -- sampling ------------------------------------------------------------------------
    def sample_days(
        self,
        rng: np.random.Generator,
        weight: np.ndarray,
        first: np.ndarray,
        last: np.ndarray,
    ) -> np.ndarray:
        """One day per row in [first, last] (inclusive), drawn in proportion to `weight`."""
        cumulative = np.concatenate([[0.0], np.cumsum(weight)])
        low = cumulative[np.clip(first, 0, self.days)]
        high = cumulative[np.clip(last + 1, 0, self.days)]
        u = low + rng.random(len(first)) * (high - low)
        chosen = np.searchsorted(cumulative, u, side="right") - 1
        return np.asarray(np.clip(chosen, 0, self.days - 1), dtype=np.int64)

    def sample_seconds_in_day(
        self, rng: np.random.Generator, day: np.ndarray, hour_weight: np.ndarray
    ) -> np.ndarray:
        """A local time of day on each given day, hours drawn from `hour_weight`."""
        p = hour_weight / hour_weight.sum()
        hours = rng.choice(24, size=len(day), p=p)
        return day * DAY + hours * HOUR + rng.integers(0, HOUR, size=len(day))
