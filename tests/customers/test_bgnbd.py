"""BG/NBD (Fader, Hardie & Lee 2005): the CDNOW reference fit, the likelihood against a
plain per-customer implementation, hand-computed values, and recovery of known parameters
from simulated customers."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import special

from omnikpi.customers.clv import BgNbdParameters, fit_bgnbd, holdout_report
from omnikpi.customers.clv.bgnbd import (
    _Customers,
    _negative_log_likelihood,
    bgnbd_log_likelihood,
    expected_purchases,
    expected_purchases_new_customer,
    probability_alive,
)
from omnikpi.customers.clv.simulation import simulate_customers
from tests.customers.cdnow import MASTER, SAMPLE, cdnow_summary

#: Fader, Hardie & Lee (2005), §4: CDNOW sample, weekly, 39-week calibration.
PUBLISHED = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)


def plain_log_likelihood(params: BgNbdParameters, x: float, t_x: float, age: float) -> float:
    """Eq. 6 for one customer, written as in the paper with math's Γ and B."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b

    def beta(u: float, v: float) -> float:
        return math.exp(math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v))

    shared = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    alive = beta(a, b + x) / beta(a, b) * shared / (alpha + age) ** (r + x)
    dropped = beta(a + 1, b + x - 1) / beta(a, b) * shared / (alpha + t_x) ** (r + x) if x else 0
    return math.log(alive + dropped)


def test_cdnow_reference_fit() -> None:
    summary = cdnow_summary(SAMPLE)
    assert (len(summary), int((summary.frequency > 0).sum())) == (2357, 946)
    fit = fit_bgnbd(summary.frequency, summary.recency, summary.age)
    got = fit.parameters
    assert (round(got.r, 3), round(got.alpha, 3), round(got.a, 3), round(got.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.customers == 2357
    # standard errors from the Hessian: positive and well below the estimates
    assert all(0 < fit.standard_errors[n] < getattr(got, n) for n in ("r", "alpha", "a", "b"))


def test_log_likelihood_equals_the_papers_formula_per_customer() -> None:
    summary = cdnow_summary(SAMPLE)
    plain = sum(
        plain_log_likelihood(PUBLISHED, x, t_x, age)
        for x, t_x, age in zip(summary.frequency, summary.recency, summary.age, strict=True)
    )
    ours = bgnbd_log_likelihood(PUBLISHED, summary.frequency, summary.recency, summary.age)
    assert ours == pytest.approx(plain, rel=1e-12)
    assert round(ours, 1) == -9582.4


def test_hand_computed_likelihood() -> None:
    ones = BgNbdParameters(r=1.0, alpha=1.0, a=1.0, b=1.0)
    # x = 0, T = 1: B(1,1)/B(1,1) · 1/(1+1) = 1/2
    assert bgnbd_log_likelihood(ones, np.array([0.0]), np.array([0.0]), np.array([1.0])) == (
        pytest.approx(math.log(1 / 2))
    )
    # x = 1, t_x = 1, T = 2: B(1,2)·1/3² + B(2,1)·1/2² = 1/18 + 1/8 = 13/72
    assert bgnbd_log_likelihood(ones, np.array([1.0]), np.array([1.0]), np.array([2.0])) == (
        pytest.approx(math.log(13 / 72))
    )


def test_gradient_matches_finite_differences() -> None:
    summary = cdnow_summary(SAMPLE)
    data = _Customers.of(*(summary[c].to_numpy() for c in ("frequency", "recency", "age")))
    point = np.log([0.3, 5.0, 0.7, 2.0])
    _, gradient = _negative_log_likelihood(point, data)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up, _ = _negative_log_likelihood(point + step, data)
        down, _ = _negative_log_likelihood(point - step, data)
        assert gradient[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-4)


def test_probability_alive_and_expected_purchases() -> None:
    x, t_x, age = np.array([0.0, 2.0]), np.array([0.0, 30.43]), np.array([38.86, 38.86])
    alive = probability_alive(PUBLISHED, x, t_x, age)
    # no repeat purchase: alive (the model lets customers drop out only after a repeat)
    assert alive[0] == 1.0
    odds = 0.793 / (2.426 + 2 - 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    assert alive[1] == pytest.approx(1 / (1 + odds))
    # FHL 2005 §5: this customer (x = 2, t_x = 30.43, T = 38.86) is expected to make 1.226
    # purchases in weeks 40–78
    expected = expected_purchases(PUBLISHED, 39.0, x, t_x, age)
    assert round(float(expected[1]), 3) == 1.226
    # eq. 10 for x = 0 by hand: (a+b−1)/(a−1)·[1 − (α+T)^r/(α+T+t)^r ₂F₁(r, b; a+b−1; z)]
    z = 39.0 / (4.414 + 38.86 + 39.0)
    by_hand = (
        (0.793 + 2.426 - 1)
        / (0.793 - 1)
        * (1 - (1 - z) ** 0.243 * special.hyp2f1(0.243, 2.426, 0.793 + 2.426 - 1, z))
    )
    assert expected[0] == pytest.approx(by_hand)
    # a customer just acquired (eq. 9) equals eq. 10 at x = t_x = T = 0
    new = expected_purchases(PUBLISHED, 39.0, np.array([0.0]), np.array([0.0]), np.array([0.0]))
    assert expected_purchases_new_customer(PUBLISHED, 39.0) == pytest.approx(float(new[0]))


def test_holdout_conditional_expectations() -> None:
    summary = cdnow_summary(SAMPLE)
    fit = fit_bgnbd(summary.frequency, summary.recency, summary.age)
    predicted = expected_purchases(
        fit.parameters, 39.0, summary.frequency, summary.recency, summary.age
    )
    report = holdout_report(summary, predicted)
    assert list(report.buckets.frequency) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert report.buckets.customers.sum() == 2357
    # the actual holdout purchases, counted again with plain Python per bucket
    actual: dict[int, list[float]] = {}
    for x, y in zip(summary.frequency, summary.holdout_frequency, strict=True):
        actual.setdefault(min(int(x), 7), []).append(y)
    assert list(report.buckets.actual) == pytest.approx([np.mean(actual[k]) for k in range(8)])
    assert report.actual_total == summary.holdout_frequency.sum()
    # the model tracks the holdout within 15 % in aggregate (it under-predicts, as in FHL)
    assert -0.15 < report.error_share < 0


def test_master_file_fit() -> None:
    """All 23,570 CDNOW customers: a fit in seconds, near the 1/10 sample's (a random
    sample of the same cohort), and at least as likely as the sample's parameters."""
    summary = cdnow_summary(MASTER)
    assert len(summary) == 23_570
    started = time.perf_counter()
    fit = fit_bgnbd(summary.frequency, summary.recency, summary.age)
    assert time.perf_counter() - started < 30  # generous: seconds on a busy 2-core machine
    sample = fit_bgnbd(*(cdnow_summary(SAMPLE)[c] for c in ("frequency", "recency", "age")))
    at_sample = bgnbd_log_likelihood(
        sample.parameters, summary.frequency, summary.recency, summary.age
    )
    assert fit.log_likelihood >= at_sample
    for name in ("r", "alpha", "a", "b"):
        gap = abs(getattr(fit.parameters, name) - getattr(sample.parameters, name))
        assert gap < 3 * sample.standard_errors[name]


def test_recovers_simulated_parameters() -> None:
    truth = BgNbdParameters(r=0.5, alpha=6.0, a=0.7, b=3.0)
    rng = np.random.default_rng(2005)
    age = rng.integers(1, 52 * 7 + 1, 30_000) / 7.0  # acquired over a year, weeks observed
    drawn = simulate_customers(truth, age, rng)
    fit = fit_bgnbd(drawn.frequency, drawn.recency, drawn.age)
    for name in ("r", "alpha", "a", "b"):
        error = fit.standard_errors[name]
        assert abs(getattr(fit.parameters, name) - getattr(truth, name)) < 3 * error, name
        assert error < 0.25 * getattr(truth, name)  # the interval says something
