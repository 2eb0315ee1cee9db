"""Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): the likelihood against a plain
per-customer implementation at the published CDNOW parameters, the fit reaching them, the
conditional expected spend, and recovery of simulated parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from omnikpi.customers.clv import BgNbdParameters, GammaGammaParameters, fit_gamma_gamma
from omnikpi.customers.clv.gamma_gamma import (
    _negative,
    expected_spend,
    gamma_gamma_log_likelihood,
)
from omnikpi.customers.clv.simulation import simulate_customers
from omnikpi.errors import DataError
from tests.customers.cdnow import MASTER, SAMPLE, cdnow_summary

#: Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013), on the CDNOW sample's
#: 946 customers with repeat purchases in the 39-week calibration (the FHL 2005 RFM/CLV
#: paper's data set).
PUBLISHED = GammaGammaParameters(p=6.25, q=3.74, gamma=15.44)


def plain_log_likelihood(params: GammaGammaParameters, x: float, m: float) -> float:
    """log f(m_x | p, q, γ, x) for one customer, as printed (eq. 3)."""
    p, q, gamma = params.p, params.q, params.gamma
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(gamma)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(gamma + m * x)
    )


def test_log_likelihood_equals_the_formula_per_customer() -> None:
    summary = cdnow_summary(SAMPLE)
    repeaters = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
    plain = sum(
        plain_log_likelihood(PUBLISHED, x, m)
        for x, m in zip(repeaters.frequency, repeaters.monetary_value, strict=True)
    )
    ours = gamma_gamma_log_likelihood(PUBLISHED, summary.frequency, summary.monetary_value)
    assert ours == pytest.approx(plain, rel=1e-12)


def test_hand_computed_density() -> None:
    # p = q = γ = 1, x = 1, m = 2: Γ(2)/(Γ(1)Γ(1)) · 1 · 2⁰ · 1¹ / (1 + 2)² = 1/9
    ones = GammaGammaParameters(p=1.0, q=1.0, gamma=1.0)
    assert gamma_gamma_log_likelihood(ones, np.array([1.0]), np.array([2.0])) == pytest.approx(
        math.log(1 / 9)
    )


def test_fit_reaches_the_published_parameters() -> None:
    summary = cdnow_summary(SAMPLE)
    fit = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    assert fit.customers == 946
    at_published = gamma_gamma_log_likelihood(PUBLISHED, summary.frequency, summary.monetary_value)
    assert fit.log_likelihood >= at_published
    got = fit.parameters
    assert (round(got.p, 2), round(got.q, 2), round(got.gamma, 2)) == (6.25, 3.74, 15.44)


def test_master_file_fit() -> None:
    summary = cdnow_summary(MASTER)
    fit = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    sample = fit_gamma_gamma(cdnow_summary(SAMPLE).frequency, cdnow_summary(SAMPLE).monetary_value)
    at_sample = gamma_gamma_log_likelihood(
        sample.parameters, summary.frequency, summary.monetary_value
    )
    assert fit.log_likelihood >= at_sample
    # the population mean spend per transaction pγ/(q−1) agrees within 10 %
    assert fit.parameters.population_mean == pytest.approx(
        sample.parameters.population_mean, rel=0.1
    )


def test_gradient_matches_finite_differences() -> None:
    summary = cdnow_summary(SAMPLE)
    keep = summary.frequency > 0
    x, m = summary.frequency[keep].to_numpy(), summary.monetary_value[keep].to_numpy()
    point = np.log([5.0, 3.0, 12.0])
    _, gradient = _negative(point, x, m)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6
        numeric = (_negative(point + step, x, m)[0] - _negative(point - step, x, m)[0]) / 2e-6
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_expected_spend() -> None:
    spend = expected_spend(PUBLISHED, np.array([2.0, 0.0]), np.array([30.0, 0.0]))
    # p(γ + m x)/(p x + q − 1) = 6.25 · (15.44 + 60) / (12.5 + 2.74)
    assert spend[0] == pytest.approx(6.25 * 75.44 / 15.24)
    # no repeat purchase: the population mean pγ/(q−1)
    assert spend[1] == pytest.approx(6.25 * 15.44 / 2.74)
    with pytest.raises(DataError, match=r"q = 0\.900"):
        expected_spend(GammaGammaParameters(p=1.0, q=0.9, gamma=1.0), np.ones(1), np.ones(1))


def test_recovers_simulated_parameters() -> None:
    truth = GammaGammaParameters(p=4.0, q=5.0, gamma=30.0)
    rng = np.random.default_rng(42)
    drawn = simulate_customers(
        BgNbdParameters(r=1.0, alpha=5.0, a=0.5, b=4.0), np.full(40_000, 52.0), rng, truth
    )
    fit = fit_gamma_gamma(drawn.frequency, drawn.monetary_value)
    for name in ("p", "q", "gamma"):
        error = fit.standard_errors[name]
        assert abs(getattr(fit.parameters, name) - getattr(truth, name)) < 3 * error, name
