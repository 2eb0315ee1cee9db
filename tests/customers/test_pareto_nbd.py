"""Pareto/NBD (Schmittlein et al. 1987; Fader & Hardie 2005 note): the likelihood against a
plain numerical integration at the published CDNOW parameters, the fit reaching them, the
log-space ₂F₁ where the plain one fails, P(alive) and expected purchases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from omnikpi.customers.clv import ParetoNbdParameters, fit_pareto_nbd
from omnikpi.customers.clv.pareto_nbd import (
    expected_purchases,
    log_hyp2f1_shifted,
    pareto_nbd_log_likelihood,
    probability_alive,
)
from tests.customers.cdnow import MASTER, SAMPLE, cdnow_summary

#: Fader & Hardie (2005), "A note on deriving the Pareto/NBD model…": CDNOW sample, weekly.
PUBLISHED = ParetoNbdParameters(r=0.55, alpha=10.58, s=0.61, beta=11.67)


def plain_terms(params: ParetoNbdParameters, x: float, t_x: float, age: float) -> tuple[float, ...]:
    """The likelihood's two parts for one customer, from its derivation: alive at T, and
    alive until some τ in (t_x, T] then gone, ∫ (α+τ)^−(r+x) s β^s (β+τ)^−(s+1) dτ — no ₂F₁."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    head = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    alive = head * (alpha + age) ** -(r + x) * beta**s * (beta + age) ** -s
    integral, _ = integrate.quad(
        lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1),
        t_x,
        age,
        epsabs=0,
        epsrel=1e-12,
    )
    return alive, head * s * beta**s * integral


def plain_log_likelihood(params: ParetoNbdParameters, summary: object) -> float:
    return sum(
        math.log(sum(plain_terms(params, x, t_x, age)))
        for x, t_x, age in zip(summary.frequency, summary.recency, summary.age, strict=True)  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(
    "params",
    [PUBLISHED, ParetoNbdParameters(r=0.55, alpha=14.0, s=0.61, beta=3.0)],
    ids=["alpha<beta", "alpha>beta"],
)
def test_log_likelihood_equals_numerical_integration(params: ParetoNbdParameters) -> None:
    summary = cdnow_summary(SAMPLE)
    ours = pareto_nbd_log_likelihood(params, summary.frequency, summary.recency, summary.age)
    assert ours == pytest.approx(plain_log_likelihood(params, summary), rel=1e-10)


def test_published_log_likelihood() -> None:
    summary = cdnow_summary(SAMPLE)
    ours = pareto_nbd_log_likelihood(PUBLISHED, summary.frequency, summary.recency, summary.age)
    assert round(ours, 1) == -9595.0  # the note reports LL = −9595.0


def test_fit_reaches_the_published_parameters() -> None:
    summary = cdnow_summary(SAMPLE)
    fit = fit_pareto_nbd(summary.frequency, summary.recency, summary.age)
    at_published = pareto_nbd_log_likelihood(
        PUBLISHED, summary.frequency, summary.recency, summary.age
    )
    assert fit.log_likelihood >= at_published
    got = fit.parameters
    assert (round(got.r, 2), round(got.alpha, 2), round(got.s, 2), round(got.beta, 2)) == (
        0.55,
        10.58,
        0.61,
        11.67,
    )
    assert all(fit.standard_errors[n] > 0 for n in ("r", "alpha", "s", "beta"))


def test_master_file_fit() -> None:
    summary = cdnow_summary(MASTER)
    fit = fit_pareto_nbd(summary.frequency, summary.recency, summary.age)
    at_published = pareto_nbd_log_likelihood(
        PUBLISHED, summary.frequency, summary.recency, summary.age
    )
    assert fit.customers == 23_570
    assert fit.log_likelihood >= at_published
    assert fit.parameters.r == pytest.approx(PUBLISHED.r, rel=0.25)


def log_hyp2f1_by_integration(a: float, b: float, z: float) -> float:
    """log ₂F₁(a, b; a+1; z) from Euler's integral a ∫₀¹ t^(a−1) (1 − zt)^(−b) dt, with
    (1 − z)^(−b) taken out so the integrand stays within [0, 1]."""
    integral, _ = integrate.quad(
        lambda t: t ** (a - 1) * ((1 - z) / (1 - z * t)) ** b,
        0,
        1,
        points=[1 - 1e-3, 1 - 1e-6],
        epsabs=0,
        epsrel=1e-12,
        limit=500,
    )
    return -b * math.log1p(-z) + math.log(a * integral)


def log_hyp2f1_by_series(a: float, b: float, z: float) -> float:
    """log ₂F₁(a, b; a+1; z) = (1−b) log(1−z) + log Σ_j Π_(i<j) (a+1−b+i)/(a+1+i) z^j
    (Euler's transformation; positive terms, summed until they no longer count)."""
    total, term, j = 1.0, 1.0, 0
    while term > 1e-18 * total:
        term *= (a + 1 - b + j) / (a + 1 + j) * z
        total += term
        j += 1
    return (1 - b) * math.log1p(-z) + math.log(total)


@pytest.mark.parametrize(
    ("a", "b", "z"),
    [
        (1.2, 1.6, 0.1),
        (30.0, 1.6, 0.9),
        (300.0, 280.0, 0.5),
        (500.0, 499.0, 0.999),  # SciPy's ₂F₁ gives NaN here, in either Euler form
        (40.0, 3.0, 0.9999),
    ],
)
def test_log_hyp2f1_is_stable(a: float, b: float, z: float) -> None:
    ours = float(log_hyp2f1_shifted(np.array([a]), b, np.array([z]))[0])
    assert ours == pytest.approx(log_hyp2f1_by_integration(a, b, z), rel=1e-9)
    assert ours == pytest.approx(log_hyp2f1_by_series(a, b, z), rel=1e-9)


def test_plain_hyp2f1_overflows_where_the_log_form_does_not() -> None:
    with np.errstate(all="ignore"):
        plain = special.hyp2f1(500.0, 499.0, 501.0, 0.999)
    assert not np.isfinite(plain) or plain > 1e300
    assert np.isfinite(log_hyp2f1_shifted(np.array([500.0]), 499.0, np.array([0.999])))


def test_probability_alive_is_the_alive_share_of_the_likelihood() -> None:
    x, t_x, age = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 20.0]), np.array([38.86] * 3)
    ours = probability_alive(PUBLISHED, x, t_x, age)
    for i in range(3):
        alive, gone = plain_terms(PUBLISHED, x[i], t_x[i], age[i])
        assert ours[i] == pytest.approx(alive / (alive + gone), rel=1e-10)


def test_expected_purchases_by_integration_over_the_posterior() -> None:
    """Alive at T, λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T): E[Y(t)] = P(alive) ·
    E[λ] · E[(1 − e^(−μt))/μ], the last by integrating over μ's density."""
    r, alpha, s, beta = PUBLISHED.r, PUBLISHED.alpha, PUBLISHED.s, PUBLISHED.beta
    x, t_x, age, horizon = 2.0, 30.43, 38.86, 39.0
    rate_mean = (r + x) / (alpha + age)
    spent_alive, _ = integrate.quad(
        lambda mu: (
            -math.expm1(-mu * horizon)
            / mu
            * math.exp(
                s * math.log(beta + age)
                + (s - 1) * math.log(mu)
                - (beta + age) * mu
                - math.lgamma(s)
            )
        ),
        0,
        np.inf,
        epsabs=0,
        epsrel=1e-10,
        limit=200,
    )
    alive = probability_alive(PUBLISHED, np.array([x]), np.array([t_x]), np.array([age]))[0]
    ours = expected_purchases(PUBLISHED, horizon, np.array([x]), np.array([t_x]), np.array([age]))
    assert float(ours[0]) == pytest.approx(alive * rate_mean * spent_alive, rel=1e-8)
