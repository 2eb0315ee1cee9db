"""The shared maximum-likelihood machinery: standard errors, refusals, distinct rows."""

from __future__ import annotations

import numpy as np
import pytest

from omnikpi.customers.clv import FitDidNotConverge, NotEnoughCustomers, fit_bgnbd
from omnikpi.customers.clv.fitting import distinct_rows, maximize_likelihood


def test_normal_mean_and_standard_error() -> None:
    """n draws of a normal with σ = 1, fitted on log μ: the MLE is the sample mean and its
    standard error 1/√n."""
    draws = np.random.default_rng(3).normal(5.0, 1.0, 400)

    def negative(v: np.ndarray) -> float:
        return float(0.5 * np.sum((draws - np.exp(v[0])) ** 2))

    fit = maximize_likelihood(negative, ("mu",), [0.0], customers=400)
    assert fit.values["mu"] == pytest.approx(draws.mean(), rel=1e-6)
    assert fit.standard_errors["mu"] == pytest.approx(1 / 20, rel=1e-3)


def test_unbounded_likelihood_does_not_converge() -> None:
    with pytest.raises(FitDidNotConverge, match=r"ran off to 0 or infinity.*--time-unit"):
        maximize_likelihood(lambda v: float(-v[0]), ("x",), [0.0], customers=100)


def test_too_few_customers() -> None:
    with pytest.raises(NotEnoughCustomers, match=r"needs at least 20 customers.*has 3"):
        fit_bgnbd(np.ones(3), np.ones(3), np.full(3, 2.0))
    with pytest.raises(NotEnoughCustomers, match="repeat buyers"):
        fit_bgnbd(np.zeros(30), np.zeros(30), np.full(30, 2.0))


def test_distinct_rows() -> None:
    (x, y), counts, inverse = distinct_rows(
        np.array([2.0, 1.0, 2.0, 1.0]), np.array([0.0, 5.0, 0.0, 4.0])
    )
    assert (x.tolist(), y.tolist(), counts.tolist()) == ([1, 1, 2], [4, 5, 0], [1, 1, 2])
    assert inverse.tolist() == [2, 1, 2, 0]
