"""Attribution models on a hand-sized example: every model's credit computed by hand (in
the comments), Markov cross-checked by value iteration, Shapley by the coalition sum
written out and by its closed form, and every model summing to the totals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from fractions import Fraction as F
from itertools import combinations, pairwise
from math import factorial

import numpy as np
import pytest

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.attribution import MODELS, AttributionSettings, attribute
from omnikpi.marketing.markov import markov_removal_effects
from omnikpi.marketing.paths import PathRecord, aggregate_journeys, paths_from_records
from omnikpi.marketing.shapley import MAX_SHAPLEY_CHANNELS, shapley_values

# S = search, E = email, D = direct. 11 journeys, 5 conversions, revenue 350.
RECORDS = [
    PathRecord(("search", "email", "direct"), 2, 1, value=200.0),  # p1
    PathRecord(("search", "direct"), 1, 2, value=60.0),  # p2
    PathRecord(("email",), 1, 1, value=40.0),  # p3
    PathRecord(("direct", "search"), 0, 2, value=0.0),  # p4
    PathRecord(("search", "email"), 1, 0, value=50.0),  # p5
]
PATHS = paths_from_records(RECORDS)


def credit(model: str, settings: AttributionSettings | None = None) -> dict[str, float]:
    return {c.channel: c.conversions for c in attribute(PATHS, model, settings).channels}


def revenue(model: str, settings: AttributionSettings | None = None) -> dict[str, float | None]:
    return {c.channel: c.revenue for c in attribute(PATHS, model, settings).channels}


def approx(expected: Mapping[str, F | float]) -> dict[str, object]:
    return {k: pytest.approx(float(v), abs=1e-12) for k, v in expected.items()}


def test_first_and_last_touch() -> None:
    # first: p1, p2, p5 start with search (2 + 1 + 1), p3 with email (1)
    assert credit("first") == {"direct": 0.0, "email": 1.0, "search": 4.0}
    assert revenue("first") == {"direct": 0.0, "email": 40.0, "search": 310.0}
    # last: p1, p2 end on direct (2 + 1), p3, p5 on email (1 + 1)
    assert credit("last") == {"direct": 3.0, "email": 2.0, "search": 0.0}
    assert revenue("last") == {"direct": 260.0, "email": 90.0, "search": 0.0}


def test_last_non_direct_skips_direct_unless_only_direct() -> None:
    # p1 → email (2), p2 → search (1), p3, p5 → email
    assert credit("last_non_direct") == {"direct": 0.0, "email": 4.0, "search": 1.0}
    assert revenue("last_non_direct") == {"direct": 0.0, "email": 290.0, "search": 60.0}
    only_direct = paths_from_records([PathRecord(("direct", "direct"), 3, 0)])
    assert [c.conversions for c in attribute(only_direct, "last_non_direct").channels] == [3.0]
    # the direct channel's name is a setting: with "email" as direct, p1 → direct... no,
    # p1's last non-"email" touch is direct (2), p3 is only email (1), p5 → search (1)
    assert credit("last_non_direct", AttributionSettings(direct="email")) == {
        "direct": 3.0, "email": 1.0, "search": 1.0,
    }  # fmt: skip


def test_linear() -> None:
    # p1: 2/3 each; p2: 1/2 search, 1/2 direct; p3: email 1; p5: 1/2 search, 1/2 email
    assert credit("linear") == approx({"search": F(5, 3), "email": F(13, 6), "direct": F(7, 6)})
    # revenue: p1 200/3 each, p2 30 each, p3 40, p5 25 each
    assert revenue("linear") == approx(
        {"search": 200 / 3 + 55, "email": 200 / 3 + 65, "direct": 200 / 3 + 30}
    )


def test_linear_counts_a_repeated_channel_twice() -> None:
    paths = paths_from_records([PathRecord(("email", "search", "email"), 3, 0)])
    result = {c.channel: c.conversions for c in attribute(paths, "linear").channels}
    assert result == approx({"email": 2.0, "search": 1.0})


def test_position_based_40_20_40() -> None:
    # p1 ×2: search .4, email .2, direct .4; p2 and p5 (two touches): 1/2 each; p3: email 1
    assert credit("position") == approx({"search": 1.8, "email": 1.9, "direct": 1.3})
    # 30/40/30 over four touches: middle two get .2 each; two touches split 30:30 → 1/2
    paths = paths_from_records(
        [PathRecord(("a", "b", "c", "d"), 10, 0), PathRecord(("a", "d"), 2, 0)]
    )
    settings = AttributionSettings(first_weight=0.3, last_weight=0.3)
    result = {c.channel: c.conversions for c in attribute(paths, "position", settings).channels}
    assert result == approx({"a": 3 + 1, "b": 2, "c": 2, "d": 3 + 1})
    # 60/0/40 over two touches: first : last = 60 : 40
    settings = AttributionSettings(first_weight=0.6, last_weight=0.0)
    two = paths_from_records([PathRecord(("a", "b"), 5, 0)])
    result = {c.channel: c.conversions for c in attribute(two, "position", settings).channels}
    assert result == approx({"a": 5.0, "b": 0.0})


def test_time_decay_with_days_and_positional() -> None:
    # half-life 7 days: a touch 14 days out weighs 1/4 of one on the day → 1/5 and 4/5
    timed = paths_from_records([PathRecord(("a", "b"), 10, 0, days_before=(14.0, 0.0))])
    result = {c.channel: c.conversions for c in attribute(timed, "time_decay").channels}
    assert result == approx({"a": 2.0, "b": 8.0})
    with pytest.raises(DataError, match="days before the conversion"):
        attribute(PATHS, "time_decay")
    # positional, half-life 1 touch: p1 weighs 1/4, 1/2, 1 (/ 7/4) → 1/7, 2/7, 4/7 (×2);
    # p2 and p5: 1/3, 2/3; p3: email 1
    settings = AttributionSettings(half_life=1.0, positional=True)
    assert credit("time_decay", settings) == approx(
        {"search": F(20, 21), "email": F(47, 21), "direct": F(38, 21)}
    )


# Markov, order 1, by hand. Journeys: p1 3, p2 3, p3 2, p4 2, p5 1 (11).
#   start → S 7, E 2, D 2;  S → E 4, D 3, null 2;  E → D 3, conv 2, null 1;
#   D → S 2, conv 3, null 3.
# x_S = 4/9 x_E + 3/9 x_D, x_E = 1/2 x_D + 1/3, x_D = 1/4 x_S + 3/8
#   → x_D = 89/186, x_S = 77/186, x_E = 71/124; P = (7 x_S + 2 x_E + 2 x_D) / 11 = 5/11.
# Without S: x_D = 3/8, x_E = 25/48 → P = 43/264, RE = 1 − 43/120 = 77/120.
# Without E: x_D = 9/22, x_S = 3/22 → P = 39/242, RE = 1 − 39/110 = 71/110.
# Without D: x_E = 1/3, x_S = 4/27 → P = 46/297, RE = 1 − 46/135 = 89/135.
MARKOV_EFFECTS = {"search": F(77, 120), "email": F(71, 110), "direct": F(89, 135)}


def test_markov_removal_effects_by_hand() -> None:
    removal = markov_removal_effects(PATHS)
    assert removal.conversion_probability == pytest.approx(5 / 11, abs=1e-14)
    assert removal.removal_effects == approx(MARKOV_EFFECTS)
    total = sum(MARKOV_EFFECTS.values())
    result = attribute(PATHS, "markov")
    assert result.removal_effects == approx(MARKOV_EFFECTS)
    expected = {k: 5 * v / total for k, v in MARKOV_EFFECTS.items()}
    assert credit("markov") == approx(expected)  # search 5·7623/23123, ...
    assert revenue("markov") == approx({k: 70 * v for k, v in expected.items()})


def value_iteration(records: list[PathRecord], order: int, removed: str | None) -> float:
    """P(conversion) by iterating x ← Q x + r on dicts of tuple states to 1e-12: an
    independent implementation of the chain (strings, no matrices, no linear solve)."""
    counts: dict[object, dict[object, float]] = defaultdict(lambda: defaultdict(float))
    for record in records:
        journeys = record.conversions + record.non_conversions
        states: list[object] = ["start"]
        states += [
            record.channels[max(0, i - order + 1) : i + 1] for i in range(len(record.channels))
        ]
        for a, b in pairwise(states):
            counts[a][b] += journeys
        counts[states[-1]]["conv"] += record.conversions
        counts[states[-1]]["null"] += record.non_conversions
    x: defaultdict[object, float] = defaultdict(float)
    x["conv"] = 1.0
    for _ in range(100_000):
        delta = 0.0
        for state, row in counts.items():
            if removed is not None and isinstance(state, tuple) and removed in state:
                continue
            total = sum(row.values())
            new = (
                sum(
                    n * x[target]
                    for target, n in row.items()
                    if not (removed is not None and isinstance(target, tuple) and removed in target)
                )
                / total
            )
            delta = max(delta, abs(new - x[state]))
            x[state] = new
        if delta < 1e-13:
            return x["start"]
    raise AssertionError("value iteration did not converge")


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_matches_value_iteration(order: int) -> None:
    records = [
        *RECORDS,
        PathRecord(("email", "email", "search", "direct"), 3, 4, value=90.0),
        PathRecord(("direct", "email", "search"), 2, 5, value=20.0),
        PathRecord(("search", "search"), 0, 3, value=0.0),
    ]
    removal = markov_removal_effects(paths_from_records(records), order=order)
    base = value_iteration(records, order, None)
    assert removal.conversion_probability == pytest.approx(base, abs=1e-10)
    for channel, effect in removal.removal_effects.items():
        expected = 1 - value_iteration(records, order, channel) / base
        assert effect == pytest.approx(expected, abs=1e-10), channel


def test_shapley_by_the_coalition_sum() -> None:
    # channel sets: {S,E,D} 2, {S,D} 1, {E} 1, {S,D} 0, {S,E} 1 → v(E) = 1, v(SE) = 2,
    # v(SD) = 1, v(ED) = 1, v(SED) = 5, others 0.
    # φ_S = 1/3·v(S) + 1/6·(v(SE) − v(E)) + 1/6·(v(SD) − v(D)) + 1/3·(v(SED) − v(ED))
    #     = 0 + 1/6 + 1/6 + 4/3 = 5/3; likewise φ_E = 13/6, φ_D = 7/6 (sum 5)
    assert credit("shapley") == approx({"search": F(5, 3), "email": F(13, 6), "direct": F(7, 6)})
    # revenue game: each set's revenue split equally among its channels
    assert revenue("shapley") == approx(
        {"search": 200 / 3 + 30 + 25, "email": 200 / 3 + 40 + 25, "direct": 200 / 3 + 30}
    )


def test_shapley_against_written_out_formula_on_random_paths() -> None:
    rng = np.random.default_rng(3)
    names = [f"c{i}" for i in range(6)]
    records = [
        PathRecord(
            tuple(rng.choice(names, size=rng.integers(1, 5))), float(rng.integers(0, 9)), 1.0
        )
        for _ in range(40)
    ]
    paths = paths_from_records(records)
    fast = shapley_values(paths, paths.conversions)
    channels = paths.channels
    n = len(channels)

    def v(coalition: set[str]) -> float:
        return sum(r.conversions for r in records if set(r.channels) <= coalition)

    for channel in channels:
        others = [c for c in channels if c != channel]
        slow = sum(
            factorial(k) * factorial(n - k - 1) / factorial(n)
            * (v({*subset, channel}) - v(set(subset)))
            for k in range(n)
            for subset in combinations(others, k)
        )  # fmt: skip
        closed = sum(r.conversions / len(set(r.channels)) for r in records if channel in r.channels)
        assert fast[channel] == pytest.approx(slow, abs=1e-9)
        assert fast[channel] == pytest.approx(closed, abs=1e-9)


def test_shapley_refuses_too_many_channels() -> None:
    many = [PathRecord((f"c{i}",), 1, 0) for i in range(MAX_SHAPLEY_CHANNELS + 1)]
    with pytest.raises(ConfigError, match="at most 20 channels"):
        attribute(paths_from_records(many), "shapley")


@pytest.mark.parametrize("model", MODELS)
def test_every_model_sums_to_the_totals(model: str) -> None:
    settings = AttributionSettings(positional=True, order=2)
    result = attribute(PATHS, model, settings)
    assert sum(c.conversions for c in result.channels) == pytest.approx(5.0, abs=1e-12)
    assert sum(c.revenue or 0.0 for c in result.channels) == pytest.approx(350.0, abs=1e-9)
    assert sum(c.share for c in result.channels) == pytest.approx(1.0, abs=1e-12)
    assert (result.total_conversions, result.total_revenue) == (5.0, 350.0)


def test_without_value_revenue_is_none() -> None:
    paths = paths_from_records([PathRecord(("a", "b"), 1, 1)])
    result = attribute(paths, "linear")
    assert result.total_revenue is None
    assert [c.revenue for c in result.channels] == [None, None]


def test_aggregate_journeys_counts_distinct_paths() -> None:
    touches = np.array([[0, 1, -1], [0, 1, -1], [2, -1, -1], [0, 1, -1]])
    paths = aggregate_journeys(
        ["a", "b", "c"], touches, np.array([True, False, True, True]), np.array([10.0, 99, 5, 7])
    )
    assert paths.value is not None
    rows = {
        tuple(paths.channels[c] for c in row if c >= 0): (conv, non, value)
        for row, conv, non, value in zip(
            paths.touches, paths.conversions, paths.non_conversions, paths.value, strict=True
        )
    }
    assert rows == {("a", "b"): (2.0, 1.0, 17.0), ("c",): (1.0, 0.0, 5.0)}


def test_duplicate_records_are_merged_and_bad_records_refused() -> None:
    paths = paths_from_records([PathRecord(("a",), 1, 2), PathRecord(("a",), 3, 4)])
    assert (paths.conversions.tolist(), paths.non_conversions.tolist()) == ([4.0], [6.0])
    with pytest.raises(DataError, match="empty channel"):
        paths_from_records([PathRecord((), 1, 0)])
    with pytest.raises(DataError, match="≥ 0"):
        paths_from_records([PathRecord(("a",), -1, 0)])
    with pytest.raises(DataError, match="some paths have a value"):
        paths_from_records([PathRecord(("a",), 1, 0, value=3.0), PathRecord(("b",), 1, 0)])
    with pytest.raises(DataError, match="2 touches but 1 touch times"):
        paths_from_records([PathRecord(("a", "b"), 1, 0, days_before=(1.0,))])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="not valid"):
        attribute(PATHS, "u_shaped")
    with pytest.raises(ConfigError, match="position weights"):
        AttributionSettings(first_weight=0.7, last_weight=0.7)
    with pytest.raises(ConfigError, match="Markov order 0"):
        attribute(PATHS, "markov", AttributionSettings(order=0))
