"""The CDNOW purchase files as the CLV tests read them: Fader, Hardie & Lee's (2005) weekly
summary with the 39-week calibration (1997-01-01 … 1997-09-30) and the 39-week holdout
(… 1998-06-30)."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

from omnikpi.customers.clv import summarize_purchases
from tests.ingest.presets.test_cdnow import DATA, MASTER, SAMPLE
from tests.prerequisites import require_cdnow

__all__ = ["CALIBRATION_END", "HOLDOUT_END", "MASTER", "SAMPLE", "cdnow_summary"]

CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)


def read_purchases(path: Path) -> pd.DataFrame:
    """customer_id, purchased_on, amount of every row of a CDNOW file (either layout)."""
    require_cdnow(DATA)
    header = path == MASTER
    raw = pd.read_csv(path, sep=r"\s+", header=None, skiprows=1 if header else 0, dtype=str)
    raw = raw.iloc[:, [0, -3, -1]]
    raw.columns = ["customer_id", "date", "amount"]
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "purchased_on": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype(float),
        }
    )


@cache
def cdnow_summary(path: Path, time_unit: str = "week") -> pd.DataFrame:
    """The calibration/holdout summary of a CDNOW file."""
    return summarize_purchases(
        read_purchases(path), CALIBRATION_END, holdout_end=HOLDOUT_END, time_unit=time_unit
    )
