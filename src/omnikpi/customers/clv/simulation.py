"""Customers drawn from a BG/NBD and a Gamma-Gamma model: the summary (x, t_x, T, m_x) a
real calibration period would give, to check that a fit recovers known parameters and to
benchmark the fits at any size.

The draw follows the models' stories (Fader, Hardie & Lee 2005, §3; "RFM and CLV", §4),
vectorised: λ ~ Gamma(r, α), p ~ Beta(a, b); the first purchase is at 0 and after each
repeat purchase the customer drops out with probability p (eq. 6's (1−p)^x and
p(1−p)^(x−1)), so the repeat purchases made while alive number K ~ Geometric(p) ≥ 1,
at the arrival times of a Poisson(λ) process.
Over (0, T] that process has N ~ Poisson(λT) arrivals; x = min(K, N), and the x-th of N
uniform arrival times on (0, T] is T · Beta(x, N − x + 1). A customer's spend per
transaction is Gamma(p, ν) with ν ~ Gamma(q, γ), so the mean of x values is
Gamma(px, xν).

>>> rng = np.random.default_rng(1)
>>> drawn = simulate_customers(BgNbdParameters(0.25, 4.0, 0.8, 2.5), np.full(5, 39.0), rng)
>>> list(drawn.columns)
['frequency', 'recency', 'age', 'monetary_value']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from omnikpi.customers.clv.bgnbd import BgNbdParameters
from omnikpi.customers.clv.gamma_gamma import GammaGammaParameters

__all__ = ["simulate_customers"]


def simulate_customers(
    purchases: BgNbdParameters,
    age: np.ndarray,
    rng: np.random.Generator,
    spend: GammaGammaParameters | None = None,
) -> pd.DataFrame:
    """One row per customer observed for `age` time units since their first purchase:
    frequency, recency, age and monetary_value (0 without repeat purchases or `spend`)."""
    observed = np.asarray(age, dtype=float)
    size = len(observed)
    rate = rng.gamma(purchases.r, 1.0 / purchases.alpha, size)
    dropout = np.clip(rng.beta(purchases.a, purchases.b, size), 1e-12, 1.0)
    while_alive = rng.geometric(dropout)
    arrivals = rng.poisson(rate * observed)
    x = np.minimum(while_alive, arrivals)
    repeat = x > 0
    recency = np.zeros(size)
    recency[repeat] = observed[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    monetary = np.zeros(size)
    if spend is not None:
        scale = rng.gamma(spend.q, 1.0 / spend.gamma, size)
        monetary[repeat] = rng.gamma(spend.p * x[repeat], 1.0 / (scale[repeat] * x[repeat]))
    return pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": recency,
            "age": observed,
            "monetary_value": monetary,
        }
    )
