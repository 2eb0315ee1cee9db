"""What a query asks for (grain, range, dimensions, filters) and shared naming helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import pandas as pd

from omnikpi.kpi.atoms import Atom
from omnikpi.kpi.local_time import local_date

__all__ = ["Scope", "column_name", "join_atom_frames", "local_date"]
from omnikpi.kpi.periods import Grain, Period, periods


@dataclass(frozen=True)
class Scope:
    """What a query asks for: grain, inclusive local date range, dimensions and filters."""

    grain: Grain
    start: date
    end: date
    by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @cached_property
    def periods(self) -> list[Period]:
        """The periods of the scope's grain overlapping its range (computed once)."""
        return periods(self.start, self.end, self.grain)

    def with_by(self, by: Sequence[str]) -> Scope:
        return Scope(self.grain, self.start, self.end, tuple(by), self.filters)

    def without_filter(self, dimension: str) -> Scope:
        kept = tuple((d, v) for d, v in self.filters if d != dimension)
        return Scope(self.grain, self.start, self.end, self.by, kept)

    def share_scopes(self, dimension: str) -> tuple[Scope, Scope]:
        """The scopes of a share of `dimension`: its parts (by the dimension as well) and
        their total (over every value of the dimension: neither split nor filtered by it).
        A share broken down by its own dimension is the share itself, so the dimension is
        never added twice."""
        by = tuple(d for d in self.by if d != dimension)
        parts = self.with_by([*by, dimension])
        return parts, self.with_by(by).without_filter(dimension)


def column_name(atom: Atom, part: str) -> str:
    """The frame column holding one part of an atom."""
    return f"{atom.key}.{part}"


def join_atom_frames(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Frames of atom columns joined on `keys`; a frame without rows only adds its columns
    (its key columns may have no usable type to join on)."""
    result = frames[0]
    for frame in frames[1:]:
        if frame.empty or result.empty:
            rows, other = (result, frame) if frame.empty else (frame, result)
            extra = [c for c in other.columns if c not in rows.columns]
            result = rows.reindex(columns=[*rows.columns, *extra])
        else:
            result = result.merge(frame, on=keys, how="outer")
    return result
