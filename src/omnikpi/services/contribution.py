"""Why a KPI moved: each segment's contribution to the change of the total.

For a KPI that adds up over segments (revenue, orders, visits) a segment contributes its own
change. For a ratio (conversion rate = orders / visits) the change of the total splits
exactly into, per segment, a *rate* effect (its own ratio moved) and a *mix* effect (its
weight in the denominator moved), with the midpoint (Shapley) weights of the two periods:

    rate_i = (r1_i − r0_i) · (w1_i + w0_i) / 2
    mix_i  = (w1_i − w0_i) · (r1_i + r0_i) / 2

where r is the segment's ratio and w = d_i / Σd its share of the denominator; Σ(rate + mix)
equals the change of the total ratio (a segment new in the period counts with r0 = r1, one
gone with r1 = r0). See e.g. Das Gupta (1993), *Standardization and Decomposition of Rates*.

Web converts 30 of 100 visits (20 of 100 before), app 10 of 100 (10 of 50): the total stays
at 20%, web's better rate (+5.8 pp) offset by app's worse one and by the mix moving to app:

    >>> rows = contributions([Segment("web", 30, 100, 20, 100), Segment("app", 10, 100, 10, 50)])
    >>> [(c.key, round(c.rate, 4), round(c.mix, 4), round(c.total, 4)) for c in rows]
    [('app', -0.0417, 0.025, -0.0167), ('web', 0.0583, -0.0417, 0.0167)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A segment's numerator and denominator now (1) and in the compared period (0). For
    a KPI that adds up, the value is the numerator and the denominators are None."""

    key: str | None
    numerator: float | None
    denominator: float | None
    numerator_before: float | None
    denominator_before: float | None


@dataclass(frozen=True)
class Contribution:
    """A segment's part of the change of the total (in the KPI's unit: points of a ratio,
    or the amount of an additive KPI), split into rate and mix effects for ratios."""

    key: str | None
    total: float
    rate: float
    mix: float


def contributions(segments: Sequence[Segment]) -> list[Contribution]:
    """Each segment's contribution to the change of the total, largest effect first."""
    found = _ratio(segments) if _is_ratio(segments) else _additive(segments)
    return sorted(found, key=lambda c: (-abs(c.total), c.key is None, c.key or ""))


def _is_ratio(segments: Sequence[Segment]) -> bool:
    return any(s.denominator is not None or s.denominator_before is not None for s in segments)


def _additive(segments: Sequence[Segment]) -> list[Contribution]:
    found = []
    for s in segments:
        change = (s.numerator or 0.0) - (s.numerator_before or 0.0)
        found.append(Contribution(s.key, change, change, 0.0))
    return found


def _ratio(segments: Sequence[Segment]) -> list[Contribution]:
    now = sum(s.denominator or 0.0 for s in segments)
    before = sum(s.denominator_before or 0.0 for s in segments)
    found = []
    for s in segments:
        w1 = (s.denominator or 0.0) / now if now else 0.0
        w0 = (s.denominator_before or 0.0) / before if before else 0.0
        r1 = _ratio_of(s.numerator, s.denominator)
        r0 = _ratio_of(s.numerator_before, s.denominator_before)
        r1 = r0 if r1 is None else r1
        r0 = r1 if r0 is None else r0
        if r1 is None or r0 is None:
            found.append(Contribution(s.key, 0.0, 0.0, 0.0))
            continue
        rate = (r1 - r0) * (w1 + w0) / 2
        mix = (w1 - w0) * (r1 + r0) / 2
        found.append(Contribution(s.key, rate + mix, rate, mix))
    return found


def _ratio_of(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
