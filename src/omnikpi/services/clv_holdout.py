"""The calibration/holdout check of a CLV purchase model on the warehouse's orders: fit on
the purchases through the calibration end, predict the repeat purchases of the holdout
period, and compare with what the customers did, per calibration frequency and in total
(what the analysts' CLV page charts). Audited, analysts and admins only.

    >>> check_clv_holdout(settings, store, Actor.cli(), model="bgnbd",
    ...                   calibration_end=date(1997, 9, 30))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from omnikpi.auth import Action, AppStateStore
from omnikpi.auth.audit import Actor
from omnikpi.customers.clv import (
    PURCHASE_MODELS,
    GammaGammaParameters,
    HoldoutReport,
    expected_purchases,
    fit_model,
    holdout_report,
    parameter_values,
    summarize_purchases,
)
from omnikpi.errors import ConfigError, InvalidChoice
from omnikpi.services.audit import customer_level
from omnikpi.services.clv import read_purchases
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings

__all__ = ["ClvHoldout", "check_clv_holdout"]


@dataclass(frozen=True)
class ClvHoldout:
    """The fitted parameters, the two periods, and the report (buckets and totals)."""

    model: str
    parameters: dict[str, float]
    calibration_end: date
    holdout_end: date
    time_unit: str
    report: HoldoutReport

    def as_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "parameters": self.parameters,
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "time_unit": self.time_unit,
            "buckets": self.report.buckets.to_dict("records"),
            "actual_total": self.report.actual_total,
            "predicted_total": self.report.predicted_total,
        }


def check_clv_holdout(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    model: str,
    calibration_end: date,
    holdout_end: date | None = None,
    time_unit: str = "week",
    now: datetime | None = None,
) -> ClvHoldout:
    """Fit `model` through `calibration_end` and compare its predicted repeat purchases
    with the actual ones through `holdout_end` (default: the latest purchase day)."""
    if model not in PURCHASE_MODELS:
        raise InvalidChoice("model", model, ", ".join(PURCHASE_MODELS))
    with customer_level(
        store,
        actor,
        Action.VIEW_CUSTOMER_LEVEL,
        f"clv holdout {model}",
        detail="purchases fitted and compared",
        now=now,
    ) as access:
        with read_warehouse(settings) as warehouse:
            purchases = read_purchases(warehouse)
        latest = purchases["purchased_on"].max()
        end = holdout_end or (calibration_end if pd.isna(latest) else pd.Timestamp(latest).date())
        if end <= calibration_end:
            raise ConfigError(
                f"no holdout period: the purchases end on {end}, not after the calibration "
                f"end {calibration_end} (give an earlier --calibration-end)"
            )
        summary = summarize_purchases(
            purchases, calibration_end, holdout_end=end, time_unit=time_unit
        )
        access.rows(len(summary))
        fit = fit_model(model, summary)
        assert not isinstance(fit.parameters, GammaGammaParameters)  # a purchase model
        predicted = expected_purchases(
            fit.parameters, float(summary["holdout_duration"].iloc[0]), summary
        )
    return ClvHoldout(
        model,
        parameter_values(fit.parameters),
        calibration_end,
        end,
        time_unit,
        holdout_report(summary, predicted),
    )
