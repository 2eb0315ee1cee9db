"""What the stored CLV scores say in aggregate, for the analysts' CLV page: the
distribution of CLV and of P(alive) over the scored customers (`customer_scores`) and the
fitted models behind them (`clv_models`).

The scores are customer-level rows, so reading them is for analysts and admins and is
audited through `services.audit.customer_level` (the page then shows only aggregates).
Without scores (no `omnikpi customers clv predict` yet) the answer is None.

    >>> clv_distribution(settings, store, Actor.cli())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.auth import Action, AppStateStore
from omnikpi.auth.audit import Actor
from omnikpi.model.derived import CLV_MODELS, CUSTOMER_SCORES
from omnikpi.services.audit import customer_level
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings

__all__ = ["ClvDistribution", "ClvModel", "HistogramBin", "clv_distribution", "histogram"]

#: Bins of the CLV histogram below its 99th percentile (the rest is one open bin).
DEFAULT_BINS = 20


@dataclass(frozen=True)
class HistogramBin:
    """Customers with a value in [lower, upper); `upper` None: the open top bin."""

    lower: float
    upper: float | None
    customers: int


@dataclass(frozen=True)
class ClvModel:
    """A stored fit: model, when, on purchases through which day, its parameters."""

    model: str
    fitted_at: datetime
    calibration_end: date
    time_unit: str
    customers: int
    log_likelihood: float
    parameters: dict[str, float]


@dataclass(frozen=True)
class ClvDistribution:
    """The scored customers' CLV and P(alive) in bins, with headline figures."""

    as_of: date
    model: str
    horizon_days: int
    customers: int
    total_clv: float
    mean_clv: float
    median_clv: float
    p90_clv: float
    mean_p_alive: float
    clv_bins: list[HistogramBin]
    p_alive_bins: list[HistogramBin]
    models: list[ClvModel]


def nice_width(span: float, bins: int) -> float:
    """A round bin width (1, 2 or 5 × a power of ten) giving about `bins` bins over `span`.

    >>> nice_width(1234.0, 20)
    100.0
    >>> nice_width(0.9, 10)
    0.1
    """
    if span <= 0 or bins < 1:
        return 1.0
    raw = span / bins
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def histogram(
    values: np.ndarray, *, bins: int = DEFAULT_BINS, cap_quantile: float | None = 0.99
) -> list[HistogramBin]:
    """Equal round-width bins from 0 (or the minimum, if below) to the `cap_quantile` of
    `values`, and the values above it in one open bin (CLV is long-tailed: a few large
    values would otherwise squeeze everyone into the first bar).

    >>> [(b.lower, b.upper, b.customers) for b in histogram(np.array([0.5, 1.5, 1.7, 9.0]),
    ...  bins=2, cap_quantile=None)]
    [(0.0, 5.0, 3), (5.0, 10.0, 1)]
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    low = min(0.0, float(finite.min()))
    top = float(np.quantile(finite, cap_quantile)) if cap_quantile else float(finite.max())
    width = nice_width(top - low, bins)
    start = math.floor(low / width) * width
    count = max(1, math.ceil((top - start) / width))
    if start + count * width <= top:
        count += 1
    edges = start + width * np.arange(count + 1)
    inside = finite[finite < edges[-1]]
    counts, _ = np.histogram(inside, bins=edges)
    result = [
        HistogramBin(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(count)
    ]
    above = int((finite >= edges[-1]).sum())
    if above:
        result.append(HistogramBin(float(edges[-1]), None, above))
    return result


def clv_distribution(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    bins: int = DEFAULT_BINS,
    now: datetime | None = None,
) -> ClvDistribution | None:
    """The CLV and P(alive) distribution of the scored customers and the stored fits;
    None when no model has been fitted (`omnikpi customers clv predict` writes them).
    Analysts and admins; audited with the number of scores read."""
    with customer_level(
        store,
        actor,
        Action.VIEW_CUSTOMER_LEVEL,
        "clv distribution",
        detail="customer_scores summarised",
        now=now,
    ) as access:
        with read_warehouse(settings) as warehouse:
            if not warehouse.has_table(CUSTOMER_SCORES.name):
                access.rows(0)
                return None
            scores = warehouse.fetch_frame(
                f'SELECT as_of, model, horizon_days, clv, p_alive FROM "{CUSTOMER_SCORES.name}"'
            )
            fits = (
                warehouse.fetch_frame(f'SELECT * FROM "{CLV_MODELS.name}" ORDER BY model')
                if warehouse.has_table(CLV_MODELS.name)
                else pd.DataFrame()
            )
        access.rows(len(scores))
    if scores.empty:
        return None
    clv = scores["clv"].to_numpy(dtype=float)
    alive = scores["p_alive"].to_numpy(dtype=float)
    return ClvDistribution(
        as_of=pd.Timestamp(scores["as_of"].max()).date(),
        model=str(scores["model"].iloc[0]),
        horizon_days=int(scores["horizon_days"].iloc[0]),
        customers=len(scores),
        total_clv=float(np.nansum(clv)),
        mean_clv=float(np.nanmean(clv)),
        median_clv=float(np.nanmedian(clv)),
        p90_clv=float(np.nanquantile(clv, 0.9)),
        mean_p_alive=float(np.nanmean(alive)),
        clv_bins=histogram(clv, bins=bins),
        p_alive_bins=_p_alive_bins(alive),
        models=[_model(row) for row in fits.to_dict(orient="records")],
    )


def _p_alive_bins(alive: np.ndarray) -> list[HistogramBin]:
    """Ten bins of 0.1 over [0, 1] (1.0 itself counts in the last)."""
    finite = alive[np.isfinite(alive)]
    counts, edges = np.histogram(np.clip(finite, 0.0, 1.0), bins=10, range=(0.0, 1.0))
    return [
        HistogramBin(round(float(edges[i]), 1), round(float(edges[i + 1]), 1), int(counts[i]))
        for i in range(10)
    ]


def _model(row: Mapping[Any, Any]) -> ClvModel:
    return ClvModel(
        model=str(row["model"]),
        fitted_at=pd.Timestamp(row["fitted_at"]).to_pydatetime(),
        calibration_end=pd.Timestamp(row["calibration_end"]).date(),
        time_unit=str(row["time_unit"]),
        customers=int(row["customers"]),
        log_likelihood=float(row["log_likelihood"]),
        parameters={k: float(v) for k, v in json.loads(str(row["parameters"])).items()},
    )
