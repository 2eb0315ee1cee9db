"""Arrow columns built in bulk: string ids, money, optional values (no Python loops)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def make_ids(prefix: str, numbers: np.ndarray, width: int = 8) -> pa.Array:
    """Ids like C00000042 for the given integers.

    >>> make_ids("C", np.array([42]), 4).to_pylist()
    ['C0042']
    """
    digits = pc.utf8_lpad(pa.array(numbers.astype(np.int64)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, pa.scalar(""))


def take_ids(ids: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """ids[index], with nulls where `valid` is False."""
    taken = ids.take(pa.array(np.where(index < 0, 0, index)))
    if valid is None:
        return taken
    return pc.if_else(pa.array(valid), taken, pa.nulls(len(taken), pa.string()))


def money(won: np.ndarray) -> pa.Array:
    """DECIMAL(18, 2) amounts from whole won (exact: no float on the way)."""
    as_int = pa.array(np.asarray(won).astype(np.int64))
    return as_int.cast(pa.decimal128(38, 2)).cast(pa.decimal128(18, 2))


def optional(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An Arrow array of `values` with nulls where `valid` is False."""
    return pa.array(values, mask=~np.asarray(valid, dtype=bool))


def rank_within(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal values of a sorted `group`.

    >>> rank_within(np.array([3, 3, 5, 7, 7, 7])).tolist()
    [0, 1, 0, 0, 1, 2]
    """
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.nonzero(np.diff(group))[0] + 1]
    counts = np.diff(np.r_[starts, len(group)])
    return np.asarray(np.arange(len(group)) - np.repeat(starts, counts), dtype=np.int64)
