"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987, "Counting your customers:
who are they and what will they do next?", Management Science 33(1):1–24), in the form of
Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions".

While alive a customer buys at Poisson rate λ ~ Gamma(r, α) and dies at exponential rate
μ ~ Gamma(s, β). The likelihood of (x, t_x, T) is (note, eq. 22)

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ]

with, for α ≥ β (eq. 23),
    A₀ = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t_x)) / (α+t_x)^(r+s+x)
       − ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+T)) / (α+T)^(r+s+x)
and for α < β (eq. 24)
    A₀ = ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+t_x)) / (β+t_x)^(r+s+x)
       − ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+T)) / (β+T)^(r+s+x).

Everything is computed in logs: log ₂F₁(c−1, b; c; z) uses Euler's transformation
₂F₁(a, b; c; z) = (1−z)^(c−a−b) ₂F₁(c−a, c−b; c; z), whose remaining ₂F₁(1, c−b; c; z)
lies in [1, 1/(1−z)], so it does not overflow for many purchases or as z → 1 (see
`log_hyp2f1_shifted`); the difference in A₀ is taken as log u + log(1 − e^(log v − log u)).

>>> params = ParetoNbdParameters(r=0.55, alpha=10.58, s=0.61, beta=11.67)
>>> probability_alive(params, np.array([0.0]), np.array([0.0]), np.array([38.0])).round(3)
array([0.299])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special

from omnikpi.customers.clv.fitting import (
    MIN_CUSTOMERS,
    NotEnoughCustomers,
    distinct_rows,
    dot,
    maximize_likelihood,
)

__all__ = [
    "ParetoNbdFit",
    "ParetoNbdParameters",
    "expected_purchases",
    "fit_pareto_nbd",
    "log_hyp2f1_shifted",
    "pareto_nbd_log_likelihood",
    "probability_alive",
    "purchases_curve",
]

NAMES = ("r", "alpha", "s", "beta")


@dataclass(frozen=True)
class ParetoNbdParameters:
    """r, α: Gamma heterogeneity of the purchase rate; s, β: of the dropout rate."""

    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True)
class ParetoNbdFit:
    """A fitted Pareto/NBD: parameters, their standard errors and the log-likelihood."""

    parameters: ParetoNbdParameters
    standard_errors: dict[str, float]
    log_likelihood: float
    customers: int


def log_hyp2f1_shifted(a: np.ndarray, b: np.ndarray | float, z: np.ndarray) -> np.ndarray:
    """log ₂F₁(a, b; a+1; z) for 0 ≤ z < 1 and 0 < b < a+1, by Euler's transformation
    (1−z)^(1−b) ₂F₁(1, a+1−b; a+1; z), whose ₂F₁ has positive terms each ≤ z^j and so lies
    in [1, 1/(1−z)]; where SciPy cannot evaluate it (very large a and b with z near 1), by
    adaptive quadrature of Euler's integral a ∫₀¹ t^(a−1) ((1−z)/(1−zt))^b dt."""
    a_, z_ = np.asarray(a, dtype=float), np.asarray(z, dtype=float)
    b_ = np.broadcast_to(np.asarray(b, dtype=float), a_.shape)
    with np.errstate(all="ignore"):
        value = np.asarray(
            (1.0 - b_) * np.log1p(-z_) + np.log(special.hyp2f1(1.0, a_ + 1.0 - b_, a_ + 1.0, z_)),
            dtype=float,
        )
    bad = ~np.isfinite(value)
    if np.any(bad):
        value = value.copy()
        value[bad] = [
            _log_hyp2f1_by_quadrature(float(ai), float(bi), float(zi))
            for ai, bi, zi in zip(a_[bad], b_[bad], z_[bad], strict=True)
        ]
    return value


def _log_hyp2f1_by_quadrature(a: float, b: float, z: float) -> float:
    integral, _ = integrate.quad(
        lambda t: t ** (a - 1.0) * ((1.0 - z) / (1.0 - z * t)) ** b,
        0.0,
        1.0,
        points=[1.0 - 1e-3, 1.0 - 1e-6],
        epsabs=0.0,
        epsrel=1e-12,
        limit=500,
    )
    return float(-b * np.log1p(-z) + np.log(a * integral))


def _log_a0(
    params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """log A₀ (eqs. 23/24), −inf where t_x = T (the integral is empty)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        big, small, b = alpha, beta, np.full_like(x, s + 1.0)
    else:
        big, small, b = beta, alpha, r + x
    first = log_hyp2f1_shifted(rsx, b, (big - small) / (big + t_x)) - rsx * np.log(big + t_x)
    second = log_hyp2f1_shifted(rsx, b, (big - small) / (big + age)) - rsx * np.log(big + age)
    with np.errstate(divide="ignore"):
        return np.asarray(first + np.log(-np.expm1(np.minimum(second - first, 0.0))))


def _log_likelihoods(
    params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log L per customer and the log of the bracket's second term relative to its first
    (used by P(alive))."""
    r, alpha, s, beta = params
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    died = np.log(s) - np.log(r + s + x) + _log_a0(params, x, t_x, age)
    return head + np.logaddexp(alive, died), died - alive


def pareto_nbd_log_likelihood(
    params: ParetoNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Σ log L (eq. 22) over the customers (optionally weighted by a count per row)."""
    x, t_x, age_ = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
    per_customer, _ = _log_likelihoods(
        (params.r, params.alpha, params.s, params.beta), x, t_x, age_
    )
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * per_customer))


def fit_pareto_nbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    start: ParetoNbdParameters | None = None,
) -> ParetoNbdFit:
    """Maximum-likelihood Pareto/NBD parameters of the customers' (x, t_x, T); identical
    rows are fitted once, weighted by their count."""
    x, t_x, age_ = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
    if len(x) < MIN_CUSTOMERS:
        raise NotEnoughCustomers("Pareto/NBD", len(x), MIN_CUSTOMERS)
    if not np.any(x > 0):
        raise NotEnoughCustomers("Pareto/NBD", 0, 1, "repeat buyers")
    (x, t_x, age_), weights, _ = distinct_rows(x, t_x, age_)
    scale = float(np.mean(age_)) or 1.0
    first = start or ParetoNbdParameters(r=1.0, alpha=scale, s=1.0, beta=scale)

    def negative(log_params: np.ndarray) -> float:
        r, alpha, s, beta = (float(v) for v in np.exp(log_params))
        per_customer, _ = _log_likelihoods((r, alpha, s, beta), x, t_x, age_)
        value = -float(dot(weights, per_customer))
        return value if np.isfinite(value) else 1e300

    fit = maximize_likelihood(
        negative,
        NAMES,
        [float(v) for v in np.log([first.r, first.alpha, first.s, first.beta])],
        customers=int(weights.sum()),
        model="Pareto/NBD",
    )
    return ParetoNbdFit(
        ParetoNbdParameters(**fit.values), fit.standard_errors, fit.log_likelihood, fit.customers
    )


def probability_alive(
    params: ParetoNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀) (note, eq. 18
    with eq. 22): the share of the bracket's first term."""
    x, t_x, age_ = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
    _, log_ratio = _log_likelihoods((params.r, params.alpha, params.s, params.beta), x, t_x, age_)
    return np.asarray(1.0 / (1.0 + np.exp(log_ratio)))


def expected_purchases(
    params: ParetoNbdParameters,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T] (Schmittlein et al. 1987, eq. 22; Fader & Hardie note, eq. 27):
    P(alive) · (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)], and its limit
    (r+x)/(α+T) · (β+T) · log((β+T+t)/(β+T)) at s = 1."""
    return purchases_curve(params, frequency, recency, age)(horizon)


def purchases_curve(
    params: ParetoNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> Callable[[float], np.ndarray]:
    """t ↦ E[Y(t) | x, t_x, T] for many horizons of the same customers (P(alive) once)."""
    x, t_x, age_ = (np.asarray(v, dtype=float) for v in (frequency, recency, age))
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    alive_rate = (r + x) / (alpha + age_) * probability_alive(params, x, t_x, age_)

    def curve(horizon: float) -> np.ndarray:
        log_growth = np.log1p(horizon / (beta + age_))  # log((β+T+t)/(β+T))
        if abs(s - 1.0) < 1e-9:
            return np.asarray(alive_rate * (beta + age_) * log_growth)
        return np.asarray(
            alive_rate * (beta + age_) / (s - 1.0) * -np.expm1(-(s - 1.0) * log_growth)
        )

    return curve
