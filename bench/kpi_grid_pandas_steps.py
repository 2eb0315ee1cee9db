"""Shared steps of the pandas baselines: local days, ratios, groups and the collected cells."""

from __future__ import annotations

from datetime import date

import pandas as pd

TIME_ZONE = "Asia/Seoul"
KEYS = ["day", "dim"]
Tables = dict[str, pd.DataFrame]


def local_day(moments: pd.Series) -> pd.Series:
    """The local calendar day of each moment, as a naive midnight timestamp."""
    return moments.dt.tz_convert(TIME_ZONE).dt.tz_localize(None).dt.floor("D")


def divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, no data where the denominator is 0."""
    return numerator.astype("float64") / denominator.astype("float64").where(denominator != 0)


def hours(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end - start).dt.total_seconds() / 3600.0


def per_day(frame: pd.DataFrame, day: pd.Series, dim: pd.Series | None) -> pd.DataFrame:
    """`frame` with `day` and `dim` columns (dim NULL for KPIs without a breakdown)."""
    frame = frame.assign(day=day.to_numpy())
    return frame.assign(dim=None if dim is None else dim.to_numpy())


def group(frame: pd.DataFrame, keys: list[str] | None = None) -> pd.core.groupby.DataFrameGroupBy:
    """Group by day and dim (or `keys`), keeping a missing channel as a group of its own."""
    return frame.groupby(keys or KEYS, dropna=False, observed=True, sort=False)


class GridFrames:
    """The loaded tables, the date range, and the KPI cells computed so far."""

    def __init__(self, tables: Tables, start: date, end: date) -> None:
        self.t = tables
        self.start = pd.Timestamp(start)
        self.end = pd.Timestamp(end)
        self.frames: list[pd.DataFrame] = []

    def within(self, day: pd.Series) -> pd.Series:
        return day.between(self.start, self.end)

    def emit(self, frame: pd.DataFrame, kpis: list[str]) -> None:
        """Keep KPI columns of a frame indexed (or columned) by day, dim [, payment_method]."""
        frame = frame.reset_index()
        if "payment_method" not in frame.columns:
            frame["payment_method"] = None
        long = frame.melt(id_vars=[*KEYS, "payment_method"], value_vars=kpis, var_name="kpi")
        self.frames.append(long)

    def result(self) -> pd.DataFrame:
        frame = pd.concat(self.frames, ignore_index=True)
        frame["dim"] = frame["dim"].astype(object)
        return frame[["kpi", *KEYS, "payment_method", "value"]]
