"""Each segment's contribution to a KPI's change, checked by hand."""

from __future__ import annotations

import pytest

from omnikpi.services.contribution import Segment, contributions


def test_a_ratios_change_splits_into_rate_and_mix_per_segment() -> None:
    # conversion: web 30/100 (before 20/100), app 10/100 (before 10/50)
    # total 40/200 = 20% (before 30/150 = 20%): no change, two opposite stories.
    # weights now web .5 app .5, before web 2/3 app 1/3
    # web rate (0.3-0.2)(0.5+2/3)/2 = 0.058333; mix (0.5-2/3)(0.3+0.2)/2 = -0.041667
    # app rate (0.1-0.2)(0.5+1/3)/2 = -0.041667; mix (0.5-1/3)(0.1+0.2)/2 = 0.025
    found = {c.key: c for c in contributions([
        Segment("web", 30, 100, 20, 100), Segment("app", 10, 100, 10, 50),
    ])}  # fmt: skip
    assert found["web"].rate == pytest.approx(0.058333, abs=1e-6)
    assert found["web"].mix == pytest.approx(-0.041667, abs=1e-6)
    assert found["app"].rate == pytest.approx(-0.041667, abs=1e-6)
    assert found["app"].mix == pytest.approx(0.025, abs=1e-6)
    assert sum(c.total for c in found.values()) == pytest.approx(0.0)


def test_contributions_add_up_to_the_change_with_new_and_gone_segments() -> None:
    segments = [
        Segment("web", 50, 400, 30, 300),
        Segment("app", 40, 200, 10, 100),
        Segment("store", 20, 50, None, None),  # new this period
        Segment("call", None, None, 5, 20),  # gone
    ]
    now = (50 + 40 + 20) / (400 + 200 + 50)
    before = (30 + 10 + 5) / (300 + 100 + 20)
    found = contributions(segments)
    assert sum(c.total for c in found) == pytest.approx(now - before)
    # the largest effect first: app's rate doubled on a growing share of visits
    assert found[0].key == "app"
    totals = [abs(c.total) for c in found]
    assert totals == sorted(totals, reverse=True)


def test_an_additive_kpi_contributes_its_own_change() -> None:
    found = contributions(
        [Segment("web", 120.0, None, 100.0, None), Segment("app", 30.0, None, 60.0, None)]
    )
    assert [(c.key, c.total, c.mix) for c in found] == [("app", -30.0, 0.0), ("web", 20.0, 0.0)]
