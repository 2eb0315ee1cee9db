"""Atoms — the base measures a query computes — and the expression trees KPIs are made of.

An atom is one aggregate of one source (a sum, a distinct count, a funnel, a level at period
end ...); what each kind of atom does is declared once, in `omnikpi.kpi.kinds`. Ratios and
formulas are arithmetic over atoms evaluated per period after the atoms are summed, so a
ratio is always the ratio of summed parts, never a mean of daily ratios. Atoms are keyed by
their definition, so KPIs that share a part compute it once and rollups store it once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

#: How an atom's daily values roll up to longer periods.
#: "sum": add the days; "last": take the period's last day; "period": compute per period.
Rollup = Literal["sum", "last", "period"]


@dataclass(frozen=True)
class Atom:
    """One base measure: kind, source and its defining fields (sorted, hashable)."""

    kind: str
    source: str
    fields: tuple[tuple[str, object], ...]

    @cached_property
    def key(self) -> str:
        """A short hash of the atom's definition (computed once)."""
        payload = json.dumps([self.kind, self.source, self.fields], default=str)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def get(self, name: str, default: object = None) -> object:
        return dict(self.fields).get(name, default)

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else str(value)

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        return float(value) if isinstance(value, int | float | str) else default

    def integer(self, name: str, default: int) -> int:
        value = self.get(name)
        return int(value) if isinstance(value, int | float | str) else default


def make_atom(kind: str, source: str, **fields: object) -> Atom:
    return Atom(kind, source, tuple(sorted((k, v) for k, v in fields.items() if v is not None)))


# -- expression trees ------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    atom: Atom
    part: str = "value"


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Op:
    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Share:
    """`node` per value of dimension `of`, over `node` for all values of `of`."""

    node: Node
    of: str


@dataclass(frozen=True)
class Retained:
    """Retained entities over those active in the previous period (a shifted part)."""

    atom: Atom


Node = Part | Const | Op | Negate | Share | Retained


def atoms_of(node: Node) -> list[Atom]:
    """Atoms a tree reads, in order of first appearance."""
    found: dict[str, Atom] = {}
    _collect(node, found)
    return list(found.values())


def _collect(node: Node, found: dict[str, Atom]) -> None:
    if isinstance(node, Part | Retained):
        found.setdefault(node.atom.key, node.atom)
    elif isinstance(node, Op):
        _collect(node.left, found)
        _collect(node.right, found)
    elif isinstance(node, Negate):
        _collect(node.operand, found)
    elif isinstance(node, Share):
        _collect(node.node, found)


def shares_of(node: Node) -> list[str]:
    """Dimensions a tree is a share of (they become output columns)."""
    if isinstance(node, Share):
        return [node.of, *shares_of(node.node)]
    if isinstance(node, Op):
        return shares_of(node.left) + shares_of(node.right)
    if isinstance(node, Negate):
        return shares_of(node.operand)
    return []


#: Atom kinds whose value counts units (orders, visits, answers, customers).
COUNTING_KINDS = frozenset({"count", "count_distinct", "trailing_count"})
#: Parts of multi-part atoms that count the units a rate is taken over.
COUNTING_PARTS = frozenset({"started", "active", "denominator"})


def base_of(node: Node) -> Node | None:
    """The count a ratio KPI's value is taken over — its sample size (visits for a
    conversion rate, answers for a mean score, last period's customers for retention) —
    or None when the KPI is not a rate over counted units (sums, shares, money ratios).

    >>> orders, visits = Part(make_atom("count", "orders")), Part(make_atom("count", "sessions"))
    >>> base_of(Op("*", Op("/", orders, visits), Const(100.0))) == visits
    True
    """
    if isinstance(node, Op) and node.op == "*" and isinstance(node.right, Const):
        return base_of(node.left)
    if isinstance(node, Retained):
        return Part(node.atom, "active")
    if isinstance(node, Op) and node.op == "/" and isinstance(node.right, Part):
        part = node.right
        counting = part.part in COUNTING_PARTS or (
            part.part == "value" and part.atom.kind in COUNTING_KINDS
        )
        return part if counting else None
    return None
