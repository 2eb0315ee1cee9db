"""Shapley value attribution, exact over every coalition of channels.

The game: a coalition S of channels is worth the conversions (or revenue) of the paths
whose set of channels is a subset of S, v(S) = Σ_{T ⊆ S} w(T), w(T) the conversions of
the paths touching exactly the channels T (the "unordered" game of Zhao, Mahboobi &
Bagheri 2018, "Shapley value methods for attribution modeling in online advertising",
eq. 3; order and repetition of touches do not count). Each channel's value is

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)),

computed over all 2^n coalitions: v by a subset-sum (zeta) transform of w, then one
vectorised sum per channel. The values sum to v(N), all conversions (efficiency).
For this game φ_i also equals Σ_{T ∋ i} w(T) / |T| (v is a sum of unanimity games), the
independent check the tests use.

>>> from omnikpi.marketing.paths import PathRecord, paths_from_records
>>> paths = paths_from_records([PathRecord(("a", "b"), 2, 0), PathRecord(("a",), 1, 0)])
>>> shapley_values(paths, paths.conversions)
{'a': 2.0, 'b': 1.0}
"""

from __future__ import annotations

from math import factorial

import numpy as np

from omnikpi.errors import ConfigError
from omnikpi.marketing.paths import NO_TOUCH, FloatArray, IntArray, JourneyPaths, sum_by

#: 2^20 coalitions × 20 channels is about a second; beyond, the exact sum is impractical.
MAX_SHAPLEY_CHANNELS = 20


def coalition_masks(paths: JourneyPaths) -> IntArray:
    """Each path's set of channels as a bit mask (bit c set when channel c was touched)."""
    bits = np.where(paths.touches == NO_TOUCH, 0, np.left_shift(1, np.maximum(paths.touches, 0)))
    masks: IntArray = np.bitwise_or.reduce(bits, axis=1).astype(np.int64)
    return masks


def coalition_values(paths: JourneyPaths, worth: FloatArray) -> FloatArray:
    """v(S) for every coalition S (index = bit mask): `worth` of paths whose channels ⊆ S."""
    n = len(paths.channels)
    values = sum_by(coalition_masks(paths), worth, 2**n)
    for bit in range(n):
        view = values.reshape(-1, 2, 2**bit)
        view[:, 1, :] += view[:, 0, :]
    return values


def shapley_values(paths: JourneyPaths, worth: FloatArray) -> dict[str, float]:
    """The Shapley value of each channel in the game of `worth` (conversions or revenue)."""
    n = len(paths.channels)
    if n > MAX_SHAPLEY_CHANNELS:
        raise ConfigError(
            f"Shapley attribution over {n} channels is not computed exactly (allowed: at most "
            f"{MAX_SHAPLEY_CHANNELS} channels; group channels or use --model markov)"
        )
    values = coalition_values(paths, worth)
    masks = np.arange(2**n, dtype=np.int64)
    sizes = np.zeros(2**n, dtype=np.int64)
    for bit in range(n):
        sizes += (masks >> bit) & 1
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    result: dict[str, float] = {}
    for bit, channel in enumerate(paths.channels):
        without = masks[(masks >> bit) & 1 == 0]
        gains = values[without | (1 << bit)] - values[without]
        result[channel] = float(weights[sizes[without]] @ gains)
    return result
