"""CLV through the service layer: fit a model to the warehouse's orders, score every
customer and write `customer_scores` (with the fitted models in `clv_models`), and re-score
after a load with the stored parameters.

Purchases are the paid and completed orders of known customers, on their local day in the
warehouse's time zone, worth their net amount; the gross margin rate is that of the costed
order lines (net − quantity × unit cost) / net, or given. Fitting and scoring read
customer-level rows, so they are for analysts and admins and each run is audited through
`services.audit.customer_level` (the CLI runs as the warehouse owner, `Actor.cli()`).

    >>> fit_clv(settings, store, Actor.cli(), model="bgnbd",
    ...         calibration_end=date(1997, 9, 30), time_unit="week")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from omnikpi.auth import Action, AppStateStore
from omnikpi.auth.audit import Actor
from omnikpi.customers.clv import (
    MODELS,
    PURCHASE_MODELS,
    ModelFit,
    ValueSettings,
    fit_model,
    parameter_values,
    parameters_from,
    score_customers,
    summarize_purchases,
)
from omnikpi.customers.clv.lost import lost_days
from omnikpi.customers.clv.summary import days_per_unit
from omnikpi.customers.clv.value import DAYS_PER_YEAR
from omnikpi.errors import ConfigError, DataError, InvalidChoice, OmnikpiError, RefreshFailed
from omnikpi.model.derived import CLV_MODELS, CUSTOMER_SCORES, PURCHASE_LOST_DATES
from omnikpi.services.audit import customer_level
from omnikpi.services.warehouse import read_warehouse, write_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

__all__ = [
    "PURCHASE_MODELS",
    "SCORE_INPUTS",
    "ClvFitResult",
    "ClvPrediction",
    "ScoreSettings",
    "fit_clv",
    "parse_horizon",
    "predict_clv",
    "read_purchases",
    "rescore_after_change",
]

#: Tables the scores are computed from: a load changing one of them re-scores customers.
SCORE_INPUTS = frozenset({"orders", "order_lines"})

_PURCHASES = """
SELECT o.order_id, o.customer_id, CAST(timezone(?, o.placed_at) AS DATE) AS purchased_on,
       CAST(o.net_amount AS DOUBLE) AS amount,
       CAST(l.gross_profit AS DOUBLE) AS gross_profit,
       CAST(l.costed_net AS DOUBLE) AS costed_net
FROM orders o
LEFT JOIN (
    SELECT order_id,
           sum(net_amount - quantity * unit_cost) AS gross_profit,
           sum(CASE WHEN unit_cost IS NOT NULL THEN net_amount END) AS costed_net
    FROM order_lines GROUP BY order_id
) l ON l.order_id = o.order_id
WHERE o.status IN ('paid', 'completed') AND o.customer_id IS NOT NULL
"""
_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwmy])\s*$")
_DAYS_PER = {"d": 1.0, "w": 7.0, "m": DAYS_PER_YEAR / 12, "y": DAYS_PER_YEAR}


@dataclass(frozen=True)
class ScoreSettings:
    """How customers are scored: purchase model, time unit, horizon (days), annual
    discount rate and gross margin rate (None: from the costed order lines)."""

    model: str = "bgnbd"
    time_unit: str = "week"
    horizon_days: int = 1096
    annual_discount_rate: float = 0.10
    margin_rate: float | None = None

    def __post_init__(self) -> None:
        if self.model not in PURCHASE_MODELS:
            raise InvalidChoice("model", self.model, ", ".join(PURCHASE_MODELS))
        days_per_unit(self.time_unit)
        if self.margin_rate is not None and not 0 < self.margin_rate <= 1:
            raise ConfigError(
                f"the margin rate {self.margin_rate} must be in (0, 1] (e.g. 0.35 for 35 %)"
            )
        ValueSettings(annual_discount_rate=self.annual_discount_rate)


@dataclass(frozen=True)
class ClvFitResult:
    """A fitted model as the CLI prints it."""

    model: str
    parameters: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    customers: int
    calibration_end: date
    time_unit: str

    def as_json(self) -> dict[str, object]:
        """Parameters by name and log_likelihood first, then the fit's context."""
        return {
            **self.parameters,
            "log_likelihood": self.log_likelihood,
            "model": self.model,
            "standard_errors": self.standard_errors,
            "customers": self.customers,
            "calibration_end": self.calibration_end.isoformat(),
            "time_unit": self.time_unit,
        }


@dataclass(frozen=True)
class ClvPrediction:
    """What `predict_clv` wrote: customers scored as of a day, the two fits, the margin
    rate used, and whether the KPI rollups could be refreshed afterwards."""

    customers: int
    as_of: date
    purchase_fit: ClvFitResult
    spend_fit: ClvFitResult
    margin_rate: float
    mean_clv: float
    refresh_error: str | None = None


def parse_horizon(text: str) -> int:
    """Days in a horizon written as a number and d, w, m or y ("3y" → 1096).

    >>> parse_horizon("3y"), parse_horizon("13w"), parse_horizon("6m")
    (1096, 91, 183)
    """
    match = _HORIZON.match(text.lower())
    if not match or float(match.group(1)) <= 0:
        raise InvalidChoice("horizon", text, "a number and d, w, m or y, e.g. 3y, 18m, 52w")
    return round(float(match.group(1)) * _DAYS_PER[match.group(2)])


def read_purchases(warehouse: Warehouse) -> pd.DataFrame:
    """Paid and completed orders of known customers: order_id, customer_id, purchased_on
    (local date), amount (net), gross_profit and costed_net (null without unit costs)."""
    if not warehouse.has_table("orders"):
        raise DataError("the warehouse has no orders yet (load some with omnikpi ingest)")
    return warehouse.fetch_frame(_PURCHASES, [warehouse.time_zone])


def fit_clv(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    model: str,
    calibration_end: date | None = None,
    time_unit: str = "week",
    now: datetime | None = None,
) -> ClvFitResult:
    """Fit `model` (bgnbd, pareto or gamma-gamma) to the purchases through
    `calibration_end` (default: the latest purchase day); audited, analysts and admins."""
    if model not in MODELS:
        raise InvalidChoice("model", model, ", ".join(MODELS))
    days_per_unit(time_unit)
    subject = f"clv fit {model}"
    with customer_level(
        store, actor, Action.VIEW_CUSTOMER_LEVEL, subject, detail="purchases fitted", now=now
    ) as access:
        with read_warehouse(settings) as warehouse:
            purchases = read_purchases(warehouse)
        end = calibration_end or _latest_day(purchases)
        summary = _summary(purchases, end, time_unit)
        access.rows(len(summary))
        return _result(model, fit_model(model, summary), end, time_unit)


def predict_clv(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    score: ScoreSettings | None = None,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
) -> ClvPrediction:
    """Fit the purchase model and Gamma-Gamma to the purchases through `as_of` (default:
    the latest purchase day), score every customer, write `customer_scores` and the fits
    to `clv_models`, then refresh the KPI rollups; audited, analysts and admins."""
    chosen = score or ScoreSettings()
    moment = now or datetime.now(UTC)
    with customer_level(
        store,
        actor,
        Action.VIEW_CUSTOMER_LEVEL,
        f"clv predict {chosen.model}+gamma-gamma",
        detail="customer_scores written",
        now=moment,
    ) as access:
        with write_warehouse(settings) as warehouse:
            purchases = read_purchases(warehouse)
            end = as_of or _latest_day(purchases)
            summary = _summary(purchases, end, chosen.time_unit)
            purchase_fit = _result(
                chosen.model, fit_model(chosen.model, summary), end, chosen.time_unit
            )
            spend_fit = _result(
                "gamma-gamma", fit_model("gamma-gamma", summary), end, chosen.time_unit
            )
            margin = _margin_rate(purchases, end, chosen.margin_rate)
            with warehouse.transaction():
                _write_models(warehouse, (purchase_fit, spend_fit), chosen, moment)
                scores = _write_scores(
                    warehouse, purchases, summary, end, purchase_fit, spend_fit, chosen, margin
                )
            refresh_error = _refresh_readers(warehouse, settings)
        access.rows(len(scores))
    mean_clv = float(scores["clv_3y"].mean())
    return ClvPrediction(len(scores), end, purchase_fit, spend_fit, margin, mean_clv, refresh_error)


def rescore_after_change(warehouse: Warehouse, changed: Iterable[str]) -> int | None:
    """After a load (or a forget) that changed `changed` tables: score the customers again
    through the new latest purchase day with the stored models and settings (no refit);
    None when no model was fitted or no input changed. Call before the rollup refresh."""
    if not warehouse.has_table(CLV_MODELS.name) or not SCORE_INPUTS & set(changed):
        return None
    stored = {
        str(row[0]): row[1:]
        for row in warehouse.fetch_rows(
            "SELECT model, calibration_end, time_unit, parameters, settings "
            f'FROM "{CLV_MODELS.name}"'
        )
    }
    spend_row = stored.get("gamma-gamma")
    purchase_name = next((name for name in PURCHASE_MODELS if name in stored), None)
    if spend_row is None or purchase_name is None:
        return None
    try:
        chosen = ScoreSettings(**json.loads(str(stored[purchase_name][3])))
        purchases = read_purchases(warehouse)
        end = _latest_day(purchases)
        summary = _summary(purchases, end, chosen.time_unit)
        purchase_fit = _stored_result(purchase_name, stored[purchase_name])
        spend_fit = _stored_result("gamma-gamma", spend_row)
        margin = _margin_rate(purchases, end, chosen.margin_rate)
        with warehouse.transaction():
            scores = _write_scores(
                warehouse, purchases, summary, end, purchase_fit, spend_fit, chosen, margin
            )
    except (OmnikpiError, ValueError) as exc:  # the data stays loaded; said, not swallowed
        raise RefreshFailed(
            f"the customer scores could not be refreshed ({exc}); the data is loaded and "
            "`omnikpi customers clv predict` scores the customers again"
        ) from exc
    return len(scores)


# -- steps ---------------------------------------------------------------------------------
def _latest_day(purchases: pd.DataFrame) -> date:
    if purchases.empty:
        raise DataError(
            "the warehouse has no paid or completed orders of known customers to model "
            "(load orders with customer ids first)"
        )
    return pd.Timestamp(purchases["purchased_on"].max()).date()


def _summary(purchases: pd.DataFrame, end: date, time_unit: str) -> pd.DataFrame:
    return summarize_purchases(purchases, end, time_unit=time_unit)


def _result(model: str, fit: ModelFit, end: date, time_unit: str) -> ClvFitResult:
    return ClvFitResult(
        model=model,
        parameters=parameter_values(fit.parameters),
        standard_errors=dict(fit.standard_errors),
        log_likelihood=fit.log_likelihood,
        customers=fit.customers,
        calibration_end=end,
        time_unit=time_unit,
    )


def _stored_result(model: str, row: tuple[object, ...]) -> ClvFitResult:
    calibration_end, time_unit, parameters, _ = row
    end = (
        calibration_end
        if isinstance(calibration_end, date)
        else date.fromisoformat(str(calibration_end))
    )
    return ClvFitResult(
        model, json.loads(str(parameters)), {}, float("nan"), 0, end, str(time_unit)
    )


def _margin_rate(purchases: pd.DataFrame, end: date, given: float | None) -> float:
    """The given rate, else gross profit / net revenue of the costed lines through `end`."""
    if given is not None:
        return given
    through = purchases[pd.to_datetime(purchases["purchased_on"]).dt.date <= end]
    costed = float(through["costed_net"].sum(skipna=True))
    if costed <= 0:
        raise ConfigError(
            "the order lines carry no unit costs, so the gross margin is unknown: give the "
            "margin rate (--margin-rate 0.35 for 35 %)"
        )
    return float(through["gross_profit"].sum(skipna=True)) / costed


def _write_models(
    warehouse: Warehouse,
    fits: Iterable[ClvFitResult],
    chosen: ScoreSettings,
    moment: datetime,
) -> None:
    rows = [
        {
            "model": fit.model,
            "fitted_at": moment,
            "calibration_end": fit.calibration_end,
            "time_unit": fit.time_unit,
            "customers": fit.customers,
            "log_likelihood": fit.log_likelihood,
            "parameters": json.dumps(fit.parameters),
            "standard_errors": json.dumps(fit.standard_errors),
            "settings": json.dumps(asdict(chosen)),
        }
        for fit in fits
    ]
    warehouse.run_sql(f'DROP TABLE IF EXISTS "{CLV_MODELS.name}"')
    warehouse.create_tables([CLV_MODELS])
    warehouse.append(CLV_MODELS.name, pa.Table.from_pylist(rows), CLV_MODELS)


def _write_scores(
    warehouse: Warehouse,
    purchases: pd.DataFrame,
    summary: pd.DataFrame,
    as_of: date,
    purchase_fit: ClvFitResult,
    spend_fit: ClvFitResult,
    chosen: ScoreSettings,
    margin: float,
) -> pd.DataFrame:
    """Score the customers of `summary` (purchases through `as_of`) and replace
    `customer_scores` with them and `purchase_lost_dates` with the day each of those
    purchases' customer counts as soon to be lost (inside the caller's transaction), both
    marked changed for the rollups."""
    unit = days_per_unit(chosen.time_unit)
    purchase_model = parameters_from(purchase_fit.model, purchase_fit.parameters)
    spend = parameters_from("gamma-gamma", spend_fit.parameters)
    scored = score_customers(
        purchase_model,
        spend,
        summary,
        horizon=chosen.horizon_days / unit,
        time_unit=chosen.time_unit,
        margin_rate=margin,
        value=ValueSettings(
            years=chosen.horizon_days / DAYS_PER_YEAR,
            annual_discount_rate=chosen.annual_discount_rate,
        ),
    )
    reference = score_customers(
        purchase_model,
        spend,
        summary,
        horizon=DAYS_PER_YEAR / unit,
        time_unit=chosen.time_unit,
        margin_rate=margin,
        value=ValueSettings(years=3.0, annual_discount_rate=chosen.annual_discount_rate),
    )
    zone = ZoneInfo(warehouse.time_zone)
    scored_at = datetime.combine(as_of + timedelta(days=1), time(), zone).astimezone(UTC)
    scored_at -= timedelta(microseconds=1)
    table = pd.DataFrame(
        {
            "customer_id": summary.index.astype(str),
            "scored_at": scored_at,
            "as_of": as_of,
            "model": f"{purchase_fit.model}+{spend_fit.model}",
            "frequency": summary["frequency"].to_numpy(dtype=np.int64),
            "recency_days": np.rint(summary["recency"].to_numpy() * unit).astype(np.int64),
            "age_days": np.rint(summary["age"].to_numpy() * unit).astype(np.int64),
            "horizon_days": chosen.horizon_days,
            "expected_purchases": scored["expected_purchases"].to_numpy(),
            "expected_purchases_1y": reference["expected_purchases"].to_numpy(),
            "p_alive": scored["p_alive"].to_numpy(),
            "expected_spend": scored["expected_spend"].to_numpy(),
            "margin_rate": margin,
            "clv": scored["clv"].to_numpy(),
            "clv_3y": reference["clv"].to_numpy(),
        }
    )
    through = purchases[pd.to_datetime(purchases["purchased_on"]).dt.date <= as_of]
    lost = pd.DataFrame(
        {
            "order_id": through["order_id"].astype(str),
            "customer_id": through["customer_id"].astype(str),
            "purchased_on": pd.to_datetime(through["purchased_on"]).dt.date,
            "lost_on": lost_days(purchase_model, through, time_unit=chosen.time_unit)[
                "lost_on"
            ].dt.date,
            "model": purchase_fit.model,
        }
    )
    for declared, frame in ((CUSTOMER_SCORES, table), (PURCHASE_LOST_DATES, lost)):
        warehouse.run_sql(f'DROP TABLE IF EXISTS "{declared.name}"')
        warehouse.create_tables([declared])
        warehouse.append(declared.name, pa.Table.from_pandas(frame, preserve_index=False), declared)
    warehouse.mark_changed(
        {CUSTOMER_SCORES.name: None, PURCHASE_LOST_DATES.name: None},
        f"clv-{uuid.uuid4().hex[:12]}",
    )
    return table


def _refresh_readers(warehouse: Warehouse, settings: Settings) -> str | None:
    """Refresh what reads customer_scores (KPI rollups, stored profiles) in the same write
    session, as `services.ingest.refresh_changed` does after a load (which calls
    `rescore_after_change`, hence not called from here); the error, if any."""
    from omnikpi.kpi import load_catalog
    from omnikpi.kpi.rollups import refresh_changes
    from omnikpi.services.customers import refresh_profiles_after_change

    try:
        refresh_changes(warehouse, load_catalog(settings.catalog_dirs))
        refresh_profiles_after_change(warehouse, settings, {CUSTOMER_SCORES.name})
    except RefreshFailed as exc:  # recorded: data status and the next load show it
        return str(exc)
    return None
