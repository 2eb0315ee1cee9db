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

from dataclasses import dataclass

import numpy as np
from scipy import special

from omnikpi.customers.clv.fitting import (
    MIN_CUSTOMERS,
    LikelihoodFit,
    NotEnoughCustomers,
    distinct_rows,
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


def _terms(
    params: tuple[float, float, float, float], x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log of the eq. 6 pieces: A1 (shared factor), A2 (alive at T), A3 (dropped after the
    last purchase; −inf for x = 0), and the log-likelihood per customer."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    beta_ab = special.betaln(a, b)
    a2 = special.betaln(a, b + x) - beta_ab - (r + x) * np.log(alpha + age)
    repeat = x > 0
    a3 = np.full_like(a2, -np.inf)
    xr = x[repeat]
    a3[repeat] = (
        special.betaln(a + 1, b + xr - 1) - beta_ab - (r + xr) * np.log(alpha + t_x[repeat])
    )
    return a1, a2, a3, a1 + np.logaddexp(a2, a3)


def bgnbd_log_likelihood(
    params: BgNbdParameters,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    weights: np.ndarray | None = None,
) -> float:
    """Σ log L (eq. 6) over the customers (optionally weighted by a count per row)."""
    x, t_x, age_ = _arrays(frequency, recency, age)
    *_, per_customer = _terms((params.r, params.alpha, params.a, params.b), x, t_x, age_)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * per_customer))


def _negative_log_likelihood(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """−Σ w log L and its gradient in log-parameters (digamma derivatives of eq. 6)."""
    r, alpha, a, b = (float(v) for v in np.exp(log_params))
    a1, a2, _, ll = _terms((r, alpha, a, b), x, t_x, age)
    share2 = np.exp(a1 + a2 - ll)  # the weight of each branch in L
    share3 = 1.0 - share2
    psi = special.digamma
    log_at = np.log(alpha + age)
    log_atx = np.log(alpha + t_x)
    d_r = psi(r + x) - psi(r) + np.log(alpha) - share2 * log_at - share3 * log_atx
    d_alpha = r / alpha - share2 * (r + x) / (alpha + age) - share3 * (r + x) / (alpha + t_x)
    psi_ab, psi_abx = psi(a + b), psi(a + b + x)
    d_a = share2 * (psi_ab - psi_abx) + share3 * (psi(a + 1) - psi(a) + psi_ab - psi_abx)
    d_b2 = psi(b + x) - psi_abx - psi(b) + psi_ab
    d_b3 = np.where(x > 0, psi(np.maximum(b + x - 1, 1e-12)) - psi_abx - psi(b) + psi_ab, 0.0)
    d_b = share2 * d_b2 + share3 * d_b3
    gradient = np.array(
        [np.dot(w, d_r) * r, np.dot(w, d_alpha) * alpha, np.dot(w, d_a) * a, np.dot(w, d_b) * b]
    )
    return -float(np.dot(w, ll)), -gradient


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
    first = start or BgNbdParameters(r=1.0, alpha=float(np.mean(age_)) or 1.0, a=1.0, b=1.0)
    fit: LikelihoodFit = maximize_likelihood(
        lambda v: _negative_log_likelihood(v, x, t_x, age_, weights),
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
    x, t_x, age_ = _arrays(frequency, recency, age)
    alive = probability_alive(params, x, t_x, age_)
    return np.asarray(_purchases_if_alive(params, float(horizon), x, age_) * alive)


def _purchases_if_alive(
    params: BgNbdParameters, horizon: float, x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Eq. 10 without its denominator (which is 1 / P(alive)). It depends on (x, T) only,
    so it is computed once per distinct pair (whole days or weeks repeat a lot; ₂F₁ is
    the costly part)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    (xs, ages), _, inverse = distinct_rows(x, age)
    z = horizon / (alpha + ages + horizon)
    hyper = special.hyp2f1(r + xs, b + xs, a + b + xs - 1, z)
    bracket = 1.0 - np.exp((r + xs) * np.log1p(-z)) * hyper
    return np.asarray(((a + b + xs - 1) / (a - 1) * bracket)[inverse])


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
