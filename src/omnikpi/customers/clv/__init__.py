"""Customer lifetime value by maximum likelihood: BG/NBD and Pareto/NBD for purchases and
P(alive), Gamma-Gamma for spend per purchase, discounted CLV on gross margin, and the
calibration/holdout check.

>>> summary = summarize_purchases(purchases, date(1997, 9, 30), time_unit="week")  # doctest: +SKIP
>>> fit_bgnbd(summary.frequency, summary.recency, summary.age).parameters  # doctest: +SKIP
BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
"""

from omnikpi.customers.clv.bgnbd import BgNbdFit, BgNbdParameters, fit_bgnbd
from omnikpi.customers.clv.fitting import FitDidNotConverge, NotEnoughCustomers
from omnikpi.customers.clv.gamma_gamma import GammaGammaFit, GammaGammaParameters, fit_gamma_gamma
from omnikpi.customers.clv.holdout import HoldoutReport, holdout_report
from omnikpi.customers.clv.pareto_nbd import ParetoNbdFit, ParetoNbdParameters, fit_pareto_nbd
from omnikpi.customers.clv.scoring import (
    MODELS,
    PURCHASE_MODELS,
    ModelFit,
    PurchaseParameters,
    expected_purchases,
    fit_model,
    parameter_values,
    parameters_from,
    probability_alive,
    score_customers,
)
from omnikpi.customers.clv.summary import DAYS_PER_UNIT, TimeUnit, summarize_purchases
from omnikpi.customers.clv.value import ValueSettings, discounted_value

__all__ = [
    "DAYS_PER_UNIT",
    "MODELS",
    "PURCHASE_MODELS",
    "BgNbdFit",
    "BgNbdParameters",
    "FitDidNotConverge",
    "GammaGammaFit",
    "GammaGammaParameters",
    "HoldoutReport",
    "ModelFit",
    "NotEnoughCustomers",
    "ParetoNbdFit",
    "ParetoNbdParameters",
    "PurchaseParameters",
    "TimeUnit",
    "ValueSettings",
    "discounted_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_model",
    "fit_pareto_nbd",
    "holdout_report",
    "parameter_values",
    "parameters_from",
    "probability_alive",
    "score_customers",
    "summarize_purchases",
]
