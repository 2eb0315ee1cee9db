"""Markov chain attribution by removal effect, solved exactly as an absorbing chain.

The chain has a start state, one transient state per channel (order 1) or per observed
run of up to k consecutive channels (order k), and two absorbing states, conversion and
null (the journey ended without one). Transition probabilities are the observed
transition counts, each path weighted by its journeys. The probability of conversion
from start solves (I - Q) x = r (Q: transient → transient, r: transient → conversion),
the fundamental-matrix form of Kemeny & Snell (1960) §3.3; channel c's removal effect is
1 − P(conversion | c removed) / P(conversion), where removing c sends every transition
into a state holding c to null (Anderl, Becker, von Wangenheim & Schumann 2016,
"Mapping the customer journey", IJRM 33(3), §3.2). Channels' shares are their removal
effects over the sum of removal effects.

Self-transitions (a channel touched twice in a row) are kept: they change neither the
absorption probabilities of order 1 nor the removal effects.

>>> from omnikpi.marketing.paths import PathRecord, paths_from_records
>>> paths = paths_from_records([PathRecord(("a", "b"), 1, 1), PathRecord(("a",), 0, 2)])
>>> markov_removal_effects(paths).removal_effects
{'a': 1.0, 'b': 1.0}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import spsolve

from omnikpi.errors import ConfigError
from omnikpi.marketing.paths import (
    NO_TOUCH,
    FloatArray,
    IntArray,
    JourneyPaths,
    distinct_codes,
    sum_by,
)

#: Above this many transient states the chain is solved with sparse LU, below densely.
DENSE_STATES = 1_500
MAX_ORDER = 6


@dataclass(frozen=True)
class MarkovRemoval:
    """P(conversion) of the whole chain and, per channel, its removal effect and share."""

    order: int
    conversion_probability: float
    removal_effects: dict[str, float]
    shares: dict[str, float]
    states: int


@dataclass(frozen=True)
class _Chain:
    state_channels: list[frozenset[int]]
    transient: sparse.csr_matrix  # Q, row-stochastic with r and the null column
    to_conversion: FloatArray  # r
    from_start: FloatArray  # start → transient probabilities


def markov_removal_effects(paths: JourneyPaths, order: int = 1) -> MarkovRemoval:
    """Removal effect and share of each channel in the order-`order` chain of `paths`."""
    if not 1 <= order <= MAX_ORDER:
        raise ConfigError(f"Markov order {order} is not valid (allowed: 1 to {MAX_ORDER})")
    chain = _build_chain(paths, order)
    base = _conversion_probability(chain, np.ones(len(chain.state_channels), dtype=bool))
    effects: dict[str, float] = {}
    for code, channel in enumerate(paths.channels):
        kept = np.array([code not in held for held in chain.state_channels], dtype=bool)
        without = _conversion_probability(chain, kept)
        effects[channel] = 0.0 if base <= 0 else max(0.0, 1.0 - without / base)
    total = sum(effects.values())
    shares = {c: (e / total if total > 0 else 0.0) for c, e in effects.items()}
    return MarkovRemoval(order, base, effects, shares, len(chain.state_channels))


def _state_codes(paths: JourneyPaths, order: int) -> IntArray:
    """The state of each touch: the code of the channels of the last `order` touches
    (fewer at a path's start), as a base-(channels + 1) number; -1 after the last touch."""
    base = len(paths.channels) + 1
    touches = paths.touches
    codes = np.zeros(touches.shape, dtype=np.int64)
    for lag in range(order):
        shifted = np.full(touches.shape, NO_TOUCH, dtype=np.int64)
        shifted[:, lag:] = touches[:, : touches.shape[1] - lag]
        codes += (shifted + 1) * base**lag
    codes[touches == NO_TOUCH] = -1
    return codes


def _build_chain(paths: JourneyPaths, order: int) -> _Chain:
    base = len(paths.channels) + 1
    if order * np.log2(base) >= 62:
        raise ConfigError(
            f"Markov order {order} over {len(paths.channels)} channels is too large (lower --order)"
        )
    codes = _state_codes(paths, order)
    unique, dense = distinct_codes(codes[codes >= 0])
    states = np.full(codes.shape, -1, dtype=np.int64)
    states[codes >= 0] = dense.reshape(-1)
    count = len(unique)
    journeys = paths.conversions + paths.non_conversions
    rows = np.arange(len(paths))
    weight = np.broadcast_to(journeys[:, None], states.shape)
    moves = (states[:, :-1] >= 0) & (states[:, 1:] >= 0)
    counts = sparse.coo_matrix(
        (weight[:, 1:][moves], (states[:, :-1][moves], states[:, 1:][moves])), shape=(count, count)
    ).tocsr()
    last = states[rows, paths.lengths - 1]
    to_conversion = sum_by(last, paths.conversions, count)
    to_null = sum_by(last, paths.non_conversions, count)
    out = np.asarray(counts.sum(axis=1)).reshape(-1) + to_conversion + to_null
    scale = np.divide(1.0, out, out=np.zeros(count), where=out > 0)
    from_start = sum_by(states[:, 0], journeys, count)
    started = from_start.sum()
    digits = [_digits(int(code), base, order) for code in unique]
    return _Chain(
        state_channels=digits,
        transient=sparse.diags(scale) @ counts,
        to_conversion=to_conversion * scale,
        from_start=from_start / started if started > 0 else from_start,
    )


def _digits(code: int, base: int, order: int) -> frozenset[int]:
    held = set()
    for _ in range(order):
        code, digit = divmod(code, base)
        if digit:
            held.add(digit - 1)
    return frozenset(held)


def _conversion_probability(chain: _Chain, kept: np.ndarray) -> float:
    """P(absorbed in conversion | start) when transitions into removed states go to null."""
    if not kept.any():
        return 0.0
    index = np.flatnonzero(kept)
    q = chain.transient[index][:, index]
    r = chain.to_conversion[index]
    if len(index) <= DENSE_STATES:
        x = np.linalg.solve(np.eye(len(index)) - q.toarray(), r)
    else:
        x = spsolve((sparse.identity(len(index), format="csc") - q).tocsc(), r)
    return float(chain.from_start[index] @ x)
