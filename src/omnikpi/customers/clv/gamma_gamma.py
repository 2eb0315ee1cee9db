"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
using iso-value curves for customer base analysis", Journal of Marketing Research
42(4):415–430, §"Adding monetary value"; Fader & Hardie 2013, "The Gamma-Gamma model of
monetary value").

A customer's transaction values are Gamma(p, ν) around their mean, with ν ~ Gamma(q, γ).
The mean m_x of x repeat transactions has density (FHL 2005, eq. 3; the note's eq. 4)

    f(m_x | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px−1) x^(px) / (γ + m_x x)^(px+q)

and the expected spend of a customer given (m_x, x) is (eq. 5)

    E[M | p, q, γ, m_x, x] = (p(γ + m_x x)) / (px + q − 1),

a weighted mean of the population mean pγ/(q−1) and the customer's own m_x. Only
customers with repeat purchases and positive spend enter the fit.

>>> params = GammaGammaParameters(p=6.25, q=3.74, gamma=15.44)
>>> expected_spend(params, np.array([2.0]), np.array([30.0])).round(2)  # 6.25 · 75.44 / 15.24
array([30.94])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from omnikpi.customers.clv.fitting import (
    MIN_CUSTOMERS,
    NotEnoughCustomers,
    dot,
    maximize_likelihood,
)
from omnikpi.errors import DataError

__all__ = [
    "GammaGammaFit",
    "GammaGammaParameters",
    "expected_spend",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
]

NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaParameters:
    """p: shape of a customer's transaction values; q, γ: Gamma heterogeneity of their
    scale across customers."""

    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """Mean spend per transaction in the population, pγ/(q−1) (infinite for q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model: parameters, standard errors, log-likelihood, and the
    customers that entered the fit (repeat buyers with positive spend)."""

    parameters: GammaGammaParameters
    standard_errors: dict[str, float]
    log_likelihood: float
    customers: int


def _per_customer(params: tuple[float, float, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, gamma = params
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def gamma_gamma_log_likelihood(
    params: GammaGammaParameters, frequency: np.ndarray, monetary_value: np.ndarray
) -> float:
    """Σ log f(m_x | p, q, γ, x) (eq. 3) over customers with x > 0 and m_x > 0."""
    x, m = _repeaters(frequency, monetary_value)
    return float(np.sum(_per_customer((params.p, params.q, params.gamma), x, m)))


def _negative(log_params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[float, np.ndarray]:
    """−Σ log f and its gradient in log-parameters (for tests; the fit uses `_Repeaters`)."""
    return _Repeaters.of(x, m).negative(log_params)


@dataclass(frozen=True)
class _Repeaters:
    """(x, m_x) of the repeat buyers, with what the likelihood needs that no parameter
    changes (log m_x, log x, Σ…) and the distinct frequencies: the Γ and ψ terms depend on
    x alone and are computed once per frequency."""

    x: np.ndarray
    m: np.ndarray
    mx: np.ndarray
    levels: np.ndarray
    inverse: np.ndarray
    level_counts: np.ndarray
    sum_x_log_mx: float
    sum_log_m: float

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray) -> _Repeaters:
        levels, inverse = np.unique(x, return_inverse=True)
        return cls(
            x,
            m,
            m * x,
            levels,
            inverse,
            np.bincount(inverse).astype(float),
            float(dot(x, np.log(m) + np.log(x))),
            float(np.log(m).sum()),
        )

    def negative(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = (float(v) for v in np.exp(log_params))
        levels, counts, psi = self.levels, self.level_counts, special.digamma
        pl = p * levels
        log_spend = np.log(gamma + self.mx)  # log(γ + m_x x)
        pxq = p * self.x + q
        # Σ log f = Σ[lnΓ(px+q) − lnΓ(px)] − n lnΓ(q) + n q ln γ + p Σ x(ln m + ln x)
        #           − Σ ln m − Σ (px+q) ln(γ + m x)
        total = (
            dot(counts, special.gammaln(pl + q) - special.gammaln(pl))
            + len(self.x) * (q * np.log(gamma) - special.gammaln(q))
            + p * self.sum_x_log_mx
            - self.sum_log_m
            - dot(pxq, log_spend)
        )
        psi_plq = psi(pl + q)
        d_p = dot(counts * levels, psi_plq - psi(pl)) + self.sum_x_log_mx - dot(self.x, log_spend)
        d_q = dot(counts, psi_plq) + len(self.x) * (np.log(gamma) - psi(q)) - log_spend.sum()
        d_gamma = len(self.x) * q / gamma - np.sum(pxq / (gamma + self.mx))
        gradient = -np.array([d_p * p, d_q * q, d_gamma * gamma])
        return -float(total), gradient


def fit_gamma_gamma(
    frequency: np.ndarray,
    monetary_value: np.ndarray,
    *,
    start: GammaGammaParameters | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters of the repeat buyers' (x, m_x); customers
    without repeat purchases or with zero spend are left out (they carry no information
    on spend per repeat transaction)."""
    x, m = _repeaters(frequency, monetary_value)
    if len(x) < MIN_CUSTOMERS:
        raise NotEnoughCustomers(
            "Gamma-Gamma", len(x), MIN_CUSTOMERS, "repeat buyers with a positive spend"
        )
    first = start or GammaGammaParameters(p=1.0, q=1.0, gamma=float(np.mean(m)) or 1.0)
    repeaters = _Repeaters.of(x, m)
    fit = maximize_likelihood(
        repeaters.negative,
        NAMES,
        [float(v) for v in np.log([first.p, first.q, first.gamma])],
        customers=len(x),
        gradient=True,
        model="Gamma-Gamma",
    )
    return GammaGammaFit(
        GammaGammaParameters(**fit.values), fit.standard_errors, fit.log_likelihood, len(x)
    )


def expected_spend(
    params: GammaGammaParameters, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[M | p, q, γ, m_x, x] = p(γ + m_x x)/(px + q − 1) (eq. 5); customers without
    repeat purchases get the population mean pγ/(q−1)."""
    if params.q <= 1.0:
        raise DataError(
            f"the Gamma-Gamma fit has q = {params.q:.3f} ≤ 1: the mean spend per transaction "
            "is infinite (a few very large orders dominate; remove outliers or returns, or "
            "fit on a longer calibration period)"
        )
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    p, q, gamma = params.p, params.q, params.gamma
    with np.errstate(invalid="ignore"):
        conditional = p * (gamma + m * x) / (p * x + q - 1.0)
    return np.asarray(np.where(x > 0, conditional, params.population_mean))


def _repeaters(frequency: np.ndarray, monetary_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    keep = (x > 0) & (m > 0)
    return x[keep], m[keep]
