"""Calibration/holdout check of a purchase model: the repeat purchases it predicts for the
holdout period against those the customers made, per calibration frequency (0, 1, …, 7+)
and in aggregate — Fader, Hardie & Lee 2005 ("Counting your customers the easy way",
§4, Figure 4: conditional expectations for the CDNOW holdout weeks 40–78).

>>> summary = pd.DataFrame({"frequency": [0.0, 0.0, 1.0, 9.0],
...     "holdout_frequency": [0.0, 1.0, 2.0, 5.0]})
>>> report = holdout_report(summary, np.array([0.2, 0.2, 1.5, 6.0]))
>>> print(report.buckets.to_string(index=False))
frequency  customers  actual  predicted
        0          2     0.5        0.2
        1          1     2.0        1.5
       7+          1     5.0        6.0
>>> report.actual_total, round(report.predicted_total, 1)
(8.0, 7.9)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from omnikpi.errors import ConfigError

__all__ = ["HoldoutReport", "holdout_report"]


@dataclass(frozen=True)
class HoldoutReport:
    """Per calibration frequency bucket: customers, mean actual and mean predicted holdout
    repeat purchases; and the totals over all customers."""

    buckets: pd.DataFrame
    actual_total: float
    predicted_total: float

    @property
    def error_share(self) -> float:
        """(predicted − actual) / actual over all customers; NaN without holdout purchases."""
        if self.actual_total == 0:
            return float("nan")
        return (self.predicted_total - self.actual_total) / self.actual_total


def holdout_report(
    summary: pd.DataFrame, predicted: np.ndarray, *, top_bucket: int = 7
) -> HoldoutReport:
    """Compare `predicted` (expected repeat purchases in the holdout, per customer of
    `summary`, in its order) with `summary.holdout_frequency`, bucketed by calibration
    frequency 0 … `top_bucket`−1 and `top_bucket`+."""
    if "holdout_frequency" not in summary.columns:
        raise ConfigError(
            "the purchase summary has no holdout period (summarize with a holdout end)"
        )
    expected = np.asarray(predicted, dtype=float)
    if len(expected) != len(summary):
        raise ValueError(f"{len(expected)} predictions for {len(summary)} customers")
    bucket = np.minimum(summary["frequency"].to_numpy(dtype=float), top_bucket).astype(int)
    actual = summary["holdout_frequency"].to_numpy(dtype=float)
    frame = pd.DataFrame({"bucket": bucket, "actual": actual, "predicted": expected})
    grouped = frame.groupby("bucket").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    grouped = grouped.reset_index()
    grouped.insert(
        0,
        "frequency",
        [f"{b}+" if b == top_bucket else str(b) for b in grouped.pop("bucket")],
    )
    return HoldoutReport(grouped, float(actual.sum()), float(expected.sum()))
