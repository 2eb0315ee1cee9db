"""Maximum-likelihood fitting shared by the CLV models: optimise on log-parameters (so every
parameter stays positive), check convergence, and give standard errors from the Hessian.

Each model supplies its negative log-likelihood (and, where it has one, its analytic
gradient) as a function of the log-parameters; `maximize_likelihood` does the rest.

>>> fit = maximize_likelihood(lambda v: ((v - 1.0) ** 2).sum(), ("x",), [0.0], customers=30)
>>> round(fit.values["x"], 4)
2.7183
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from omnikpi.errors import DataError, OmnikpiError

__all__ = [
    "MIN_CUSTOMERS",
    "FitDidNotConverge",
    "LikelihoodFit",
    "NotEnoughCustomers",
    "distinct_rows",
    "dot",
    "maximize_likelihood",
]

#: Fewest customers a fit accepts: below this the parameters say nothing useful.
MIN_CUSTOMERS = 20

FloatArray = np.ndarray
#: Parameters stay within e^±20 (a fit reaching the bound did not identify the parameter).
_LOG_BOUND = 20.0
#: What the optimiser sees where the likelihood is not finite (far from any optimum).
_PENALTY = 1e12
#: Largest gradient (of the mean log-likelihood per customer) accepted at an optimum.
_FLAT = 1e-4
Objective = Callable[[FloatArray], float]
ObjectiveWithGradient = Callable[[FloatArray], tuple[float, FloatArray]]


class NotEnoughCustomers(DataError):
    """Too few customers (or too few repeat buyers) to fit a CLV model."""

    def __init__(self, model: str, found: int, needed: int, what: str = "customers") -> None:
        super().__init__(
            f"{model} needs at least {needed} {what} to fit, the data has {found} "
            "(move --calibration-end later, load more history, or check that orders carry "
            "customer ids)"
        )
        self.model = model
        self.found = found
        self.needed = needed


class FitDidNotConverge(OmnikpiError):
    """The optimiser stopped without finding a maximum of the likelihood."""

    exit_code = 3
    http_status = 422

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(
            f"the {model} fit did not converge ({reason}); try the other time unit "
            "(--time-unit week for long histories, day for short ones), a longer calibration "
            "period (--calibration-end), or another model (--model pareto / bgnbd)"
        )
        self.model = model
        self.reason = reason


@dataclass(frozen=True)
class LikelihoodFit:
    """Fitted values by name, their standard errors (inverse Hessian of the negative
    log-likelihood), the maximised log-likelihood and the optimiser's iterations."""

    values: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    customers: int
    iterations: int = 0
    notes: tuple[str, ...] = field(default=())


def maximize_likelihood(
    negative_log_likelihood: Objective | ObjectiveWithGradient,
    names: Sequence[str],
    start: Sequence[float],
    *,
    customers: int,
    gradient: bool = False,
    model: str = "model",
) -> LikelihoodFit:
    """Minimise `negative_log_likelihood` over log-parameters from `start` (log scale).

    With `gradient=True` the function returns (value, gradient in log-parameters). The
    standard errors are on the natural scale (delta method: SE(θ) = θ · SE(log θ)).
    """
    x0 = np.asarray(start, dtype=float)
    per_customer = _per_customer(negative_log_likelihood, customers, gradient)
    result = optimize.minimize(
        per_customer,
        x0,
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(x0),
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9, "maxls": 50},
    )
    if not result.success or not _flat(per_customer, result.x, gradient):
        # a line search that gave up near the optimum, or a stop on a plateau: polish
        # with the simplex method, which needs no gradient
        value_only = (lambda v: per_customer(v)[0]) if gradient else per_customer
        polished = optimize.minimize(
            value_only,
            result.x,
            method="Nelder-Mead",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(x0),
            options={"maxiter": 20_000, "xatol": 1e-10, "fatol": 1e-15, "adaptive": True},
        )
        if polished.fun <= result.fun:
            result = polished
    if not np.isfinite(result.fun) or result.fun >= _PENALTY:
        raise FitDidNotConverge(model, "the log-likelihood is not finite at the optimum")
    if np.any(np.abs(result.x) >= _LOG_BOUND - 0.1):
        raise FitDidNotConverge(
            model, "a parameter ran off to 0 or infinity: the data do not identify it"
        )
    if not _flat(per_customer, result.x, gradient):
        raise FitDidNotConverge(model, f"the optimiser stopped on a slope ({result.message})")
    values = np.exp(result.x)
    hessian = _hessian(negative_log_likelihood, result.x, gradient)
    errors = _standard_errors(hessian, values)
    return LikelihoodFit(
        values=dict(zip(names, (float(v) for v in values), strict=True)),
        standard_errors=dict(zip(names, errors, strict=True)),
        log_likelihood=-float(result.fun) * max(customers, 1),
        customers=customers,
        iterations=int(result.nit),
    )


def _per_customer(
    function: Objective | ObjectiveWithGradient, customers: int, has_gradient: bool
) -> Callable[[FloatArray], Any]:
    """The objective divided by the number of customers (gradients of order one whatever
    the data's size), with a large finite value where it is not finite."""
    size = max(customers, 1)

    def scaled(x: FloatArray) -> Any:
        if has_gradient:
            value, grad = function(x)  # type: ignore[misc]
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return _PENALTY, np.zeros_like(x)
            return value / size, np.asarray(grad) / size
        value = float(function(x))  # type: ignore[arg-type]
        return value / size if np.isfinite(value) else _PENALTY

    return scaled


def _flat(function: Callable[[FloatArray], Any], x: FloatArray, has_gradient: bool) -> bool:
    """Whether the (per-customer) objective's gradient at `x` is about zero."""
    if has_gradient:
        grad = np.asarray(function(x)[1])
    else:
        eye = np.eye(len(x)) * 1e-6
        grad = np.array([(function(x + e) - function(x - e)) / 2e-6 for e in eye])
    return bool(np.all(np.abs(grad) < _FLAT))


def _hessian(
    function: Objective | ObjectiveWithGradient, x: FloatArray, has_gradient: bool
) -> FloatArray:
    """The Hessian in log-parameters by central differences: of the analytic gradient when
    the model has one, else of the function itself (symmetrised)."""
    size, step = len(x), 1e-4
    eye = np.eye(size) * step
    hessian = np.empty((size, size))
    if has_gradient:
        for i in range(size):
            up = np.asarray(function(x + eye[i])[1])  # type: ignore[index]
            down = np.asarray(function(x - eye[i])[1])  # type: ignore[index]
            hessian[i] = (up - down) / (2 * step)
        return np.asarray((hessian + hessian.T) / 2)

    def value(point: FloatArray) -> float:
        return float(function(point))  # type: ignore[arg-type]

    for i in range(size):
        for j in range(i, size):
            hessian[i, j] = hessian[j, i] = (
                value(x + eye[i] + eye[j])
                - value(x + eye[i] - eye[j])
                - value(x - eye[i] + eye[j])
                + value(x - eye[i] - eye[j])
            ) / (4 * step * step)
    return hessian


def _standard_errors(hessian: FloatArray, values: FloatArray) -> list[float]:
    """SE on the natural scale from the Hessian in log-parameters; NaN where it is singular
    (a flat direction of the likelihood)."""
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return [float("nan")] * len(values)
    variances = np.diag(covariance)
    log_errors = np.sqrt(np.where(variances > 0, variances, np.nan))
    return [float(e) for e in values * log_errors]


def distinct_rows(
    *columns: np.ndarray,
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """The distinct rows of equally long columns, how often each occurs, and for each input
    row the index of its distinct row (a sort, faster than `np.unique(axis=0)`).

    >>> rows, counts, inverse = distinct_rows(np.array([1.0, 0.0, 1.0]), np.array([2.0, 0.0, 2.0]))
    >>> [r.tolist() for r in rows], counts.tolist(), inverse.tolist()
    ([[0.0, 1.0], [0.0, 2.0]], [1.0, 2.0], [1, 0, 1])
    """
    order = np.lexsort(columns[::-1])
    size = len(order)
    new = np.zeros(size, dtype=bool)
    if size:
        new[0] = True
    for column in columns:
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(size, dtype=np.int64)
    inverse[order] = group
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, size)).astype(float)
    return tuple(column[order][starts] for column in columns), counts, inverse


def dot(weights: np.ndarray, values: np.ndarray) -> float:
    """Σ weights · values without BLAS: NumPy's `dot` hands long vectors to a threaded BLAS,
    whose spinning threads make each call 10-100× slower on a busy machine.

    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.add.reduce(np.multiply(weights, values)))
