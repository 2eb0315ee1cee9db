"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2):275–284).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase they drop
out with probability p ~ Beta(a, b). For a customer with x repeat purchases, the last at
t_x, observed for T (eq. 6):

    L(r, α, a, b | x, t_x, T) = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
                             + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

The fit maximises Σ log L by L-BFGS on log-parameters with the analytic gradient.

>>> params = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
>>> x, t_x, age = np.array([2.0]), np.array([30.0]), np.array([38.0])
>>> probability_alive(params, x, t_x, age).round(3)  # 1 / (1 + 0.793/3.426 · (42.414/34.414)^2.243)
array([0.73])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from omnikpi.customers.clv.fitting import (
    MIN_CUSTOMERS,
    LikelihoodFit,
    NotEnoughCustomers,
    distinct_rows,
    dot,
    maximize_likelihood,
)

__all__ = [
    "BgNbdFit",
    "BgNbdParameters",
    "bgnbd_log_likelihood",
    "expected_purchases",
    "expected_purchases_new_customer",
    "fit_bgnbd",
    "probability_alive",
    "purchases_curve",
]

NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdParameters:
    """r, α: the Gamma heterogeneity of the purchase rate; a, b: the Beta heterogeneity of
    the dropout probability."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted BG/NBD: parameters, their standard errors and the log-likelihood."""

    parameters: BgNbdParameters
    standard_errors: dict[str, float]
    log_likelihood: float
    customers: int


@dataclass(frozen=True)
class _Customers:
    """(x, t_x, T) with a weight per row, and the distinct frequencies: every term of eq. 6
    that depends on x alone (Γ, B and their digammas) is computed once per frequency."""

    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    weights: np.ndarray
    levels: np.ndarray
    inverse: np.ndarray
    level_weights: np.ndarray

    @classmethod
    def of(
        cls, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weights: np.ndarray | None = None
    ) -> _Customers:
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        levels, inverse = np.unique(x, return_inverse=True)
        return cls(x, t_x, age, w, levels, inverse, np.bincount(inverse, weights=w))


def _terms(
    params: tuple[float, float, float, float], data: _Customers
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log L per customer (eq. 6) as A1 + A2 + log(1 + e^gap), gap = A3 − A2 the log-ratio
    of the "dropped after the last purchase" branch to the "alive at T" one (−inf for
    x = 0); also log(α+T) and log(α+t_x)."""
    r, alpha, a, b = params
    levels, inverse = data.levels, data.inverse
    beta_ab = special.betaln(a, b)
    head = special.gammaln(r + levels) - special.gammaln(r) + r * np.log(alpha)
    alive = special.betaln(a, b + levels) - beta_ab
    with np.errstate(invalid="ignore", divide="ignore"):
        dropped = np.where(
            levels > 0, special.betaln(a + 1, np.maximum(b + levels - 1, 1e-300)) - beta_ab, -np.inf
        )
    log_at = np.log(alpha + data.age)
    log_atx = np.log(alpha + data.t_x)
    rx = r + data.x
    gap = (dropped - alive)[inverse] - rx * (log_atx - log_at)
    per_customer = (head + alive)[inverse] - rx * log_at + np.logaddexp(0.0, gap)
    return per_customer, gap, log_at, log_atx


def bgnbd_log_likelihood(
    params: BgNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Σ log L (eq. 6) over the customers (optionally weighted by a count per row)."""
    data = _Customers.of(*_arrays(frequency, recency, age), weights)
    per_customer, *_ = _terms((params.r, params.alpha, params.a, params.b), data)
    return float(dot(data.weights, per_customer))


def _negative_log_likelihood(log_params: np.ndarray, data: _Customers) -> tuple[float, np.ndarray]:
    """−Σ w log L and its gradient in log-parameters (digamma derivatives of eq. 6).

    With s the share of the dropped branch in L: ∂/∂a adds s/a to the alive branch's
    ψ(a+b) − ψ(a+b+x), ∂/∂b subtracts s/(b+x−1) from ψ(b+x) − ψ(a+b+x) − ψ(b) + ψ(a+b).
    """
    r, alpha, a, b = (float(v) for v in np.exp(log_params))
    per_customer, gap, log_at, log_atx = _terms((r, alpha, a, b), data)
    w, levels, level_w = data.weights, data.levels, data.level_weights
    dropped_share = special.expit(gap)
    weighted_share = w * dropped_share
    psi = special.digamma
    rx = r + data.x
    d_r = (
        dot(level_w, psi(r + levels) - psi(r) + np.log(alpha))
        - dot(w, log_at)
        - dot(weighted_share, log_atx - log_at)
    )
    d_alpha = level_w.sum() * r / alpha - dot(
        w * rx, (1.0 - dropped_share) / (alpha + data.age) + dropped_share / (alpha + data.t_x)
    )
    psi_ab, psi_abx = psi(a + b), psi(a + b + levels)
    d_a = dot(level_w, psi_ab - psi_abx) + weighted_share.sum() / a
    repeat = data.x > 0
    d_b = dot(level_w, psi(b + levels) - psi_abx - psi(b) + psi_ab) - np.sum(
        weighted_share[repeat] / (b + data.x[repeat] - 1)
    )
    gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return -float(dot(w, per_customer)), -gradient


def fit_bgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    start: BgNbdParameters | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters of the customers' (x, t_x, T).

    Identical (x, t_x, T) rows are fitted once with their count as weight, which makes a
    fit on whole-day data of millions of customers as fast as on its distinct rows.
    """
    x, t_x, age_ = _arrays(frequency, recency, age)
    if len(x) < MIN_CUSTOMERS:
        raise NotEnoughCustomers("BG/NBD", len(x), MIN_CUSTOMERS)
    if not np.any(x > 0):
        raise NotEnoughCustomers("BG/NBD", 0, 1, "repeat buyers")
    (x, t_x, age_), weights, _ = distinct_rows(x, t_x, age_)
    data = _Customers.of(x, t_x, age_, weights)
    first = start or BgNbdParameters(r=1.0, alpha=float(np.mean(age_)) or 1.0, a=1.0, b=1.0)
    fit: LikelihoodFit = maximize_likelihood(
        lambda v: _negative_log_likelihood(v, data),
        NAMES,
        [float(v) for v in np.log([first.r, first.alpha, first.a, first.b])],
        customers=int(weights.sum()),
        gradient=True,
        model="BG/NBD",
    )
    return BgNbdFit(
        BgNbdParameters(**fit.values), fit.standard_errors, fit.log_likelihood, fit.customers
    )


def probability_alive(
    params: BgNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model", eq. 3)."""
    x, t_x, age_ = _arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds = (
        np.log(a)
        - np.log(np.maximum(b + x - 1, 1e-300))
        + (r + x) * (np.log(alpha + age_) - np.log(alpha + t_x))
    )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def expected_purchases(
    params: BgNbdParameters,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next `horizon` time units (eq. 10)

    (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    / [1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)]
    """
    return purchases_curve(params, frequency, recency, age)(horizon)


def purchases_curve(
    params: BgNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> Callable[[float], np.ndarray]:
    """t ↦ E[Y(t) | x, t_x, T] (eq. 10) for many horizons of the same customers: P(alive)
    (the reciprocal of eq. 10's denominator) once, and the numerator once per distinct
    (x, T) pair (whole days or weeks repeat a lot; ₂F₁ is the costly part)."""
    x, t_x, age_ = _arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    alive = probability_alive(params, x, t_x, age_)
    (xs, ages), _, inverse = distinct_rows(x, age_)

    def curve(horizon: float) -> np.ndarray:
        z = horizon / (alpha + ages + horizon)
        hyper = special.hyp2f1(r + xs, b + xs, a + b + xs - 1, z)
        bracket = 1.0 - np.exp((r + xs) * np.log1p(-z)) * hyper
        return np.asarray(((a + b + xs - 1) / (a - 1) * bracket)[inverse] * alive)

    return curve


def expected_purchases_new_customer(params: BgNbdParameters, horizon: float) -> float:
    """E[X(t)] of a customer just acquired (eq. 9):
    (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = horizon / (alpha + horizon)
    bracket = 1.0 - (alpha / (alpha + horizon)) ** r * special.hyp2f1(r, b, a + b - 1, z)
    return float((a + b - 1) / (a - 1) * bracket)


def _arrays(
    frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(frequency, dtype=float),
        np.asarray(recency, dtype=float),
        np.asarray(age, dtype=float),
    )
