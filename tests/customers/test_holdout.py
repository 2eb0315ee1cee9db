"""The calibration/holdout report on hand-made customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omnikpi.customers.clv import holdout_report
from omnikpi.errors import ConfigError


def test_buckets_and_totals() -> None:
    summary = pd.DataFrame(
        {
            "frequency": [0.0, 0.0, 1.0, 7.0, 12.0],
            "holdout_frequency": [0.0, 1.0, 2.0, 4.0, 6.0],
        }
    )
    report = holdout_report(summary, np.array([0.2, 0.4, 1.5, 4.5, 6.5]))
    assert report.buckets.to_dict("list") == {
        "frequency": ["0", "1", "7+"],
        "customers": [2, 1, 2],
        "actual": [0.5, 2.0, 5.0],
        "predicted": pytest.approx([0.3, 1.5, 5.5]),
    }
    assert (report.actual_total, report.predicted_total) == (13.0, pytest.approx(13.1))
    assert report.error_share == pytest.approx(0.1 / 13)


def test_needs_a_holdout() -> None:
    with pytest.raises(ConfigError, match="no holdout"):
        holdout_report(pd.DataFrame({"frequency": [1.0]}), np.array([1.0]))
