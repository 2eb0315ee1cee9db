"""Fit a CLV model by name and score customers with fitted parameters: expected purchases
over a horizon, P(alive), expected spend and discounted CLV on gross margin.

A purchase model (BG/NBD or Pareto/NBD) gives the purchases and P(alive); Gamma-Gamma the
spend per purchase; `value.discounted_value` puts them together.

>>> PURCHASE_MODELS, MODELS
(('bgnbd', 'pareto'), ('bgnbd', 'pareto', 'gamma-gamma'))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.customers.clv import bgnbd, gamma_gamma, pareto_nbd
from omnikpi.customers.clv.bgnbd import BgNbdFit, BgNbdParameters
from omnikpi.customers.clv.gamma_gamma import GammaGammaFit, GammaGammaParameters
from omnikpi.customers.clv.pareto_nbd import ParetoNbdFit, ParetoNbdParameters
from omnikpi.customers.clv.value import ValueSettings, discounted_value
from omnikpi.errors import InvalidChoice

__all__ = [
    "MODELS",
    "PURCHASE_MODELS",
    "ModelFit",
    "PurchaseParameters",
    "expected_purchases",
    "fit_model",
    "parameter_values",
    "parameters_from",
    "probability_alive",
    "score_customers",
]

#: The purchase models (they predict purchases and P(alive)).
PURCHASE_MODELS = ("bgnbd", "pareto")
#: Every model `omnikpi customers clv fit --model` takes.
MODELS = (*PURCHASE_MODELS, "gamma-gamma")

PurchaseParameters = BgNbdParameters | ParetoNbdParameters
ModelFit = BgNbdFit | ParetoNbdFit | GammaGammaFit
_PARAMETER_TYPES: dict[str, Any] = {
    "bgnbd": BgNbdParameters,
    "pareto": ParetoNbdParameters,
    "gamma-gamma": GammaGammaParameters,
}


def _check(model: str, allowed: tuple[str, ...] = MODELS) -> None:
    if model not in allowed:
        raise InvalidChoice("model", model, ", ".join(allowed))


def fit_model(model: str, summary: pd.DataFrame) -> ModelFit:
    """Fit `model` ("bgnbd", "pareto" or "gamma-gamma") to a purchase summary
    (`summary.summarize_purchases`)."""
    _check(model)
    x = summary["frequency"].to_numpy(dtype=float)
    if model == "gamma-gamma":
        return gamma_gamma.fit_gamma_gamma(x, summary["monetary_value"].to_numpy(dtype=float))
    t_x = summary["recency"].to_numpy(dtype=float)
    age = summary["age"].to_numpy(dtype=float)
    if model == "bgnbd":
        return bgnbd.fit_bgnbd(x, t_x, age)
    return pareto_nbd.fit_pareto_nbd(x, t_x, age)


def parameters_from(model: str, values: dict[str, float]) -> Any:
    """The frozen parameters of `model` from their stored names and values."""
    _check(model)
    kind = _PARAMETER_TYPES[model]
    return kind(**{name: float(values[name]) for name in kind.__dataclass_fields__})


def parameter_values(parameters: Any) -> dict[str, float]:
    """Names and values of frozen parameters (the JSON the CLI prints)."""
    return {name: float(value) for name, value in asdict(parameters).items()}


def expected_purchases(
    parameters: PurchaseParameters, horizon: float, summary: pd.DataFrame
) -> np.ndarray:
    """E[Y(horizon) | x, t_x, T] per customer of `summary` under the purchase model."""
    return purchases_curve(parameters, summary)(horizon)


def purchases_curve(
    parameters: PurchaseParameters, summary: pd.DataFrame
) -> Callable[[float], np.ndarray]:
    """t ↦ E[Y(t) | x, t_x, T] per customer of `summary` (for many horizons)."""
    columns = [summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age")]
    if isinstance(parameters, BgNbdParameters):
        return bgnbd.purchases_curve(parameters, *columns)
    return pareto_nbd.purchases_curve(parameters, *columns)


def probability_alive(parameters: PurchaseParameters, summary: pd.DataFrame) -> np.ndarray:
    """P(alive | x, t_x, T) per customer of `summary` under the purchase model."""
    columns = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "age"))
    if isinstance(parameters, BgNbdParameters):
        return bgnbd.probability_alive(parameters, *columns)
    return pareto_nbd.probability_alive(parameters, *columns)


def score_customers(
    purchases: PurchaseParameters,
    spend: GammaGammaParameters,
    summary: pd.DataFrame,
    *,
    horizon: float,
    time_unit: str,
    margin_rate: float | np.ndarray,
    value: ValueSettings | None = None,
) -> pd.DataFrame:
    """Per customer of `summary` (same index): expected_purchases over `horizon` time
    units, p_alive, expected_spend per purchase and clv (discounted gross margin over
    `value.years`)."""
    settings = value or ValueSettings()
    spend_each = gamma_gamma.expected_spend(
        spend,
        summary["frequency"].to_numpy(dtype=float),
        summary["monetary_value"].to_numpy(dtype=float),
    )
    alive = probability_alive(purchases, summary)
    curve = purchases_curve(purchases, summary)
    clv = discounted_value(
        curve,
        spend_each,
        margin_rate,
        settings,
        time_unit,
    )
    return pd.DataFrame(
        {
            "expected_purchases": curve(horizon),
            "p_alive": alive,
            "expected_spend": spend_each,
            "clv": clv,
        },
        index=summary.index,
    )
