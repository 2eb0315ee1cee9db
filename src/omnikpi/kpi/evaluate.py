"""Evaluate KPI trees on atom frames: align periods and dimensions, apply no-data rules.

A period outside the data's coverage of a source is "no data" (NaN); inside it, a count with
no rows is 0. Division by zero is no data too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from omnikpi.kpi.atoms import Atom, Const, Negate, Node, Op, Part, Retained, Share, atoms_of
from omnikpi.kpi.kinds import kind_of
from omnikpi.kpi.periods import Period
from omnikpi.kpi.scope import Scope, column_name

Frames = Callable[[Scope], pd.DataFrame]
#: The dtype of values (a dtype object: pandas looks a string up in its registry each time).
FLOAT = np.dtype("float64")
Coverage = Callable[[Atom], tuple[date, date] | None]


class Evaluator:
    """Evaluates trees for one scope; `frames(scope)` returns every atom's columns."""

    def __init__(self, frames: Frames, coverage: Coverage) -> None:
        self.frames = frames
        self.coverage = coverage
        self._indexed: dict[Scope, pd.DataFrame] = {}
        self._columns: dict[Scope, tuple[dict[str, int], np.ndarray]] = {}
        self._covered_periods: dict[tuple[str, Scope], dict[date, bool]] = {}
        self._indexes: dict[tuple[object, ...], pd.Index] = {}
        # (scope, id(index)) -> (the index, kept alive so its id stays its own; positions)
        self._positions: dict[tuple[Scope, int], tuple[pd.Index, np.ndarray]] = {}
        self._combos: dict[Scope, tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]] = {}

    def evaluate(self, node: Node, scope: Scope) -> pd.Series:
        """Values indexed by (period_start, *scope.by [, share dimensions])."""
        return self._eval(node, scope, self._index(scope, atoms_of(node)))

    def parts(self, node: Node, scope: Scope) -> tuple[pd.Series, pd.Series] | None:
        """The numerator and denominator of a ratio KPI (a share's part and total, retained
        and previously active entities) indexed like `evaluate`; None for other KPIs."""
        index = self._index(scope, atoms_of(node))
        if isinstance(node, Op) and node.op == "*" and isinstance(node.right, Const):
            inner = self.parts(node.left, scope)
            return None if inner is None else (inner[0] * node.right.value, inner[1])
        if isinstance(node, Op) and node.op == "/":
            return _align(self._eval(node.left, scope, index), self._eval(node.right, scope, index))
        if isinstance(node, Retained):
            retained = self._part(node.atom, "retained", scope, index)
            return retained, self._part(node.atom, "active", scope, index)
        if isinstance(node, Share):
            detailed, whole = scope.share_scopes(node.of)
            part = self.evaluate(node.node, detailed)
            total = self.evaluate(node.node, whole)
            return part, _broadcast(total, part)
        return None

    def _array(self, node: Node, scope: Scope, index: pd.Index) -> np.ndarray | None:
        """A tree's values over `index` as an array — one array operation per node —, or
        None when it holds a share (whose parts have other indexes to align)."""
        if isinstance(node, Const):
            return np.full(len(index), node.value, dtype=FLOAT)
        if isinstance(node, Part):
            return self._values(node.atom, node.part, scope, index)
        if isinstance(node, Retained):
            retained = self._values(node.atom, "retained", scope, index)
            return _divide_arrays(retained, self._values(node.atom, "active", scope, index))
        if isinstance(node, Negate):
            inner = self._array(node.operand, scope, index)
            return None if inner is None else -inner
        if isinstance(node, Share):
            return None
        left = self._array(node.left, scope, index)
        right = None if left is None else self._array(node.right, scope, index)
        if left is None or right is None:
            return None
        result: np.ndarray
        if node.op == "+":
            result = left + right
        elif node.op == "-":
            result = left - right
        elif node.op == "*":
            result = left * right
        else:
            result = _divide_arrays(left, right)
        return result

    def _eval(self, node: Node, scope: Scope, index: pd.Index) -> pd.Series:
        """A tree's values as a series; subtrees with shares align their indexes."""
        values = self._array(node, scope, index)
        if values is not None:
            return pd.Series(values, index=index, dtype=FLOAT)
        if isinstance(node, Negate):
            return -self._eval(node.operand, scope, index)
        if isinstance(node, Share):
            return self._share(node, scope)
        assert isinstance(node, Op)
        left = self._eval(node.left, scope, index)
        right = self._eval(node.right, scope, index)
        left, right = _align(left, right)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return _divide(left, right)

    # -- steps -----------------------------------------------------------------------------
    def _index(self, scope: Scope, atoms: list[Atom]) -> pd.Index:
        """Every period of the scope times every dimension combination the atoms have data
        for."""
        starts = [p.start for p in scope.periods]
        if not scope.by:
            key: tuple[object, ...] = (scope,)
            if key not in self._indexes:
                self._indexes[key] = pd.Index(starts, name="period_start")
            return self._indexes[key]
        frame = self.frames(scope)
        columns = tuple(
            column_name(a, p)
            for a in atoms
            for p in kind_of(a).parts
            if column_name(a, p) in frame.columns
        )
        key = (scope, columns)
        if key not in self._indexes:
            combos, codes, present = self._combinations(scope)
            found = np.zeros(len(codes), dtype=bool)
            for column in columns:
                found |= present[column]
            used = combos.iloc[np.unique(codes[found])]
            # Every period times every combination with data, period first; built from
            # codes over each level's distinct values (no row is hashed).
            levels: list[pd.Index] = [pd.Index(starts, dtype=object)]
            level_codes = [np.repeat(np.arange(len(starts)), len(used))]
            for d in scope.by:
                own, distinct = pd.factorize(used[d].to_numpy(dtype=object))
                levels.append(pd.Index(distinct, dtype=object))
                level_codes.append(np.tile(own, len(starts)))
            self._indexes[key] = pd.MultiIndex(
                levels=levels,  # type: ignore[arg-type]
                codes=level_codes,  # type: ignore[arg-type]
                names=["period_start", *scope.by],
                verify_integrity=False,
            )
        return self._indexes[key]

    def _combinations(self, scope: Scope) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
        """The scope's distinct dimension combinations (in order of appearance), each row's
        combination, and per atom column which rows have a value (found once per scope)."""
        if scope not in self._combos:
            frame = self.frames(scope)
            by = list(scope.by)
            codes = frame.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
            first = np.unique(codes, return_index=True)[1] if len(codes) else np.array([], int)
            combos = frame[by].iloc[first].reset_index(drop=True)
            present = {
                c: frame[c].notna().to_numpy()
                for c in frame.columns
                if c not in ("period_start", *by)
            }
            self._combos[scope] = (combos, codes, present)
        return self._combos[scope]

    def _part(self, atom: Atom, part: str, scope: Scope, index: pd.Index) -> pd.Series:
        return pd.Series(self._values(atom, part, scope, index), index=index, dtype=FLOAT)

    def _values(self, atom: Atom, part: str, scope: Scope, index: pd.Index) -> np.ndarray:
        """One part of an atom over `index`: no data outside the source's coverage, 0
        inside it where a count has no rows."""
        frame = self._indexed_frame(scope)
        column = column_name(atom, part)
        if column in frame.columns:
            # Where each row of `index` is in the frame (found once per scope and index).
            key = (scope, id(index))
            if key not in self._positions:
                self._positions[key] = (index, frame.index.get_indexer(index))
            positions = self._positions[key][1]
            stored = self._columns[scope][1][:, self._columns[scope][0][column]]
            values = np.where(positions >= 0, stored[positions], np.nan)
        else:
            values = np.full(len(index), np.nan)
        in_coverage = self._coverage_mask(atom, scope, index)
        if kind_of(atom).zero_when_empty:
            values[np.isnan(values) & in_coverage] = 0.0
        values[~in_coverage] = np.nan
        return values

    def _indexed_frame(self, scope: Scope) -> pd.DataFrame:
        """The scope's atom frame indexed by period and dimensions, as floats (once per
        scope: every part of every KPI reads it)."""
        if scope not in self._indexed:
            frame = self.frames(scope)
            keys = ["period_start", *scope.by]
            if len(frame):
                indexed = frame.set_index(keys).astype(FLOAT)
                indexed = indexed[~indexed.index.duplicated()]
            else:
                indexed = pd.DataFrame(index=pd.MultiIndex.from_arrays([[]] * len(keys)))
                indexed.index.names = keys
            self._indexed[scope] = indexed
            # Every column as one float array (a column looked up by its position).
            self._columns[scope] = (
                {c: n for n, c in enumerate(indexed.columns)},
                indexed.to_numpy(dtype=FLOAT),
            )
        return self._indexed[scope]

    def _coverage_mask(self, atom: Atom, scope: Scope, index: pd.Index) -> np.ndarray:
        """Whether each row of `index` lies in a period the atom's source covers."""
        key = (atom.key, scope)
        if key not in self._covered_periods:
            coverage = self.coverage(atom)
            self._covered_periods[key] = {
                p.start: coverage is not None and _overlaps(p, coverage) for p in scope.periods
            }
        covered = self._covered_periods[key]
        if isinstance(index, pd.MultiIndex):
            # Look up each distinct period once, then spread by the level's codes.
            level = index.names.index("period_start")
            found = np.array([covered.get(s, False) for s in index.levels[level]] + [False])
            return found[index.codes[level]]  # code -1 (no period) reads the last: False
        return np.array([covered.get(s, False) for s in index], dtype=bool)

    def _share(self, node: Share, scope: Scope) -> pd.Series:
        detailed, whole = scope.share_scopes(node.of)
        part = self.evaluate(node.node, detailed)
        total = self.evaluate(node.node, whole)
        return _divide(part, _broadcast(total, part))


def _overlaps(period: Period, coverage: tuple[date, date]) -> bool:
    return period.first <= coverage[1] and period.last >= coverage[0]


def _align(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Align a series with extra share levels to one without (broadcast over the extra)."""
    if left.index.nlevels == right.index.nlevels:
        return left, right
    if left.index.nlevels > right.index.nlevels:
        return left, _broadcast(right, left)
    return _broadcast(left, right), right


def _broadcast(small: pd.Series, big: pd.Series) -> pd.Series:
    """`small` repeated over the extra index levels of `big`."""
    extra = [n for n in big.index.names if n not in small.index.names]
    keys = big.index.droplevel(extra)  # type: ignore[arg-type]
    result = small.reindex(keys)
    result.index = big.index
    return result


def _divide_arrays(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator; no data where the denominator is 0."""
    safe = np.where(denominator != 0, denominator, np.nan)
    result: np.ndarray = numerator / safe
    return result


def _divide(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    numerator, denominator = _align(numerator, denominator)
    safe = denominator.where(denominator != 0)
    return numerator / safe
