"""Aggregated conversion paths, the input of every attribution model.

A path is the ordered channels a journey touched (first touch first), with how many
journeys took it and converted, how many took it and did not, optionally the revenue of
its conversions and, for time decay, each touch's days before the conversion (or before
the journey's end when it did not convert). Paths are held encoded as one padded matrix
of channel codes so the models run as array operations on millions of journeys.

>>> paths = paths_from_records([PathRecord(("search", "email"), 3, 7, value=120.0)])
>>> paths.channels, paths.total_conversions
(('email', 'search'), 3.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from omnikpi.errors import DataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Padding of the touch matrix after a path's last touch.
NO_TOUCH = -1


@dataclass(frozen=True)
class PathRecord:
    """One distinct path: its channels in order, conversions and non-conversions, the
    revenue of its conversions (total, not per conversion) and optionally each touch's
    days before the conversion."""

    channels: tuple[str, ...]
    conversions: float
    non_conversions: float
    value: float | None = None
    days_before: tuple[float, ...] | None = None


@dataclass(frozen=True, eq=False)
class JourneyPaths:
    """Distinct paths, encoded: `touches[p, i]` is the code (index into `channels`) of
    path p's touch i, `NO_TOUCH` after its last; `days_before` matches `touches` (NaN
    padding) or is None when the paths carry no touch times; `value` is None without
    revenue."""

    channels: tuple[str, ...]
    touches: IntArray
    lengths: IntArray
    conversions: FloatArray
    non_conversions: FloatArray
    value: FloatArray | None = None
    days_before: FloatArray | None = None

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float | None:
        return None if self.value is None else float(self.value.sum())

    def __len__(self) -> int:
        return len(self.lengths)


def sum_by(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Σ of `weights` per value of `index` (0 … size − 1), as floats."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def paths_from_records(records: Iterable[PathRecord]) -> JourneyPaths:
    """Encode `records`; without touch times the same path given twice is counted once,
    with summed counts (with them, each record stays a path of its own).

    Raises DataError for an empty path, negative counts, revenue or touch times on some
    records but not others, or touch times that do not match the path's length.
    """
    rows = list(records)
    if not rows:
        raise DataError("no paths to attribute (give at least one path with a channel)")
    with_value = [row.value is not None for row in rows]
    with_days = [row.days_before is not None for row in rows]
    if any(with_value) and not all(with_value):
        raise DataError("some paths have a value and others not (give a value for every path)")
    if any(with_days) and not all(with_days):
        raise DataError("some paths have touch times and others not (give them for every path)")
    for row in rows:
        _check_record(row)
    channels = tuple(sorted({channel for row in rows for channel in row.channels}))
    code = {channel: index for index, channel in enumerate(channels)}
    width = max(len(row.channels) for row in rows)
    touches = np.full((len(rows), width), NO_TOUCH, dtype=np.int64)
    days = np.full((len(rows), width), np.nan) if all(with_days) else None
    for index, row in enumerate(rows):
        touches[index, : len(row.channels)] = [code[channel] for channel in row.channels]
        if days is not None and row.days_before is not None:
            days[index, : len(row.days_before)] = row.days_before
    paths = JourneyPaths(
        channels=channels,
        touches=touches,
        lengths=np.array([len(row.channels) for row in rows], dtype=np.int64),
        conversions=np.array([row.conversions for row in rows], dtype=np.float64),
        non_conversions=np.array([row.non_conversions for row in rows], dtype=np.float64),
        value=np.array([row.value for row in rows], dtype=np.float64) if all(with_value) else None,
        days_before=days,
    )
    return paths if days is not None else _merge_duplicates(paths)


def _check_record(row: PathRecord) -> None:
    if not row.channels or any(not channel for channel in row.channels):
        raise DataError(f"path {row.channels!r} has an empty channel (every touch needs one)")
    numbers = [row.conversions, row.non_conversions] + (
        [row.value] if row.value is not None else []
    )
    if any(not math.isfinite(x) or x < 0 for x in numbers):
        raise DataError(f"path {' > '.join(row.channels)}: counts and value must be finite and ≥ 0")
    if row.days_before is not None and len(row.days_before) != len(row.channels):
        raise DataError(
            f"path {' > '.join(row.channels)} has {len(row.channels)} touches but "
            f"{len(row.days_before)} touch times (give one per touch)"
        )


def aggregate_journeys(
    channels: Sequence[str],
    touches: IntArray,
    converted: npt.NDArray[np.bool_],
    value: FloatArray | None = None,
) -> JourneyPaths:
    """Aggregate one row per journey (`touches` padded with `NO_TOUCH`, first touch in
    column 0) to distinct paths with their conversions, non-conversions and revenue.

    >>> aggregate_journeys(["a", "b"], np.array([[0, 1], [0, 1], [1, -1]]),
    ...                    np.array([True, False, True])).conversions
    array([1., 1.])
    """
    touches = np.asarray(touches, dtype=np.int64)
    lengths = (touches != NO_TOUCH).sum(axis=1)
    if (lengths == 0).any():
        raise DataError("a journey has no touch (drop journeys without channels)")
    keys, inverse = _path_keys(touches, len(channels))
    conversions = sum_by(inverse, converted.astype(np.float64), len(keys))
    journeys = sum_by(inverse, np.ones(len(inverse)), len(keys))
    first = np.zeros(len(keys), dtype=np.int64)
    first[inverse] = np.arange(len(inverse))  # any row of a group: they are equal
    revenue = None
    if value is not None:
        revenue = sum_by(inverse, np.where(converted, value, 0.0), len(keys))
    return JourneyPaths(
        channels=tuple(channels),
        touches=touches[first],
        lengths=lengths[first].astype(np.int64),
        conversions=conversions,
        non_conversions=journeys - conversions,
        value=revenue,
    )


def distinct_codes(codes: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct values of `codes` (in order of first appearance) and each element's
    index into them: np.unique's result, by hashing (pandas) rather than sorting."""
    inverse, unique = pd.factorize(codes)
    return np.asarray(unique, dtype=np.int64), inverse.astype(np.int64)


def _path_keys(touches: IntArray, channel_count: int) -> tuple[IntArray, IntArray]:
    """One integer key per distinct row and each row's index into the keys:
    rows as base-(channels + 1) numbers when they fit in 63 bits, else the rows."""
    width = touches.shape[1]
    base = channel_count + 1
    if width * math.log2(base) < 63:
        key = np.zeros(len(touches), dtype=np.int64)
        for column in range(width):
            key = key * base + (touches[:, column] + 1)
        return distinct_codes(key)
    unique_rows, inverse = np.unique(touches, axis=0, return_inverse=True)
    return np.arange(len(unique_rows), dtype=np.int64), inverse.reshape(-1).astype(np.int64)


def _merge_duplicates(paths: JourneyPaths) -> JourneyPaths:
    keys, inverse = _path_keys(paths.touches, len(paths.channels))
    if len(keys) == len(paths):
        return paths
    first = np.zeros(len(keys), dtype=np.int64)
    first[inverse] = np.arange(len(inverse))  # any row of a group: they are equal

    def total(column: FloatArray) -> FloatArray:
        return sum_by(inverse, column, len(keys))

    return JourneyPaths(
        channels=paths.channels,
        touches=paths.touches[first],
        lengths=paths.lengths[first],
        conversions=total(paths.conversions),
        non_conversions=total(paths.non_conversions),
        value=None if paths.value is None else total(paths.value),
    )
