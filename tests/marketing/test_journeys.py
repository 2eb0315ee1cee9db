"""Journeys on the hand-made warehouse of `journey_data` (its table says who touched what
when); every expected value below is read off that table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.attribution import attribute
from omnikpi.marketing.journey_summary import (
    offline_matching,
    path_lengths,
    time_to_convert,
    top_paths,
)
from omnikpi.marketing.journeys import (
    JourneySettings,
    TouchSources,
    build_journeys,
    journey_touches,
    path_counts,
    paths_from_counts,
)
from tests.marketing.journey_data import END, START, sources

WEEK = JourneySettings(lookback_days=7)


def journeys_by_id(settings: JourneySettings = WEEK) -> dict[str, tuple[str, str, bool, float]]:
    frame = build_journeys(sources(), START, END, settings).execute()
    return {
        row.journey_id: (row.path, row.days, bool(row.converted), row.revenue)
        for row in frame.itertuples()
    }


def counts(settings: JourneySettings = WEEK) -> dict[str, tuple[int, int, float]]:
    frame = path_counts(build_journeys(sources(), START, END, settings)).execute()
    return {
        row.path: (int(row.conversions), int(row.non_conversions), float(row.value))
        for row in frame.itertuples()
    }


def test_journeys_follow_the_touches_of_each_person() -> None:
    found = journeys_by_id()
    # O1: display 4 days, search 2 days and the opened email 22 h (rounds to 1) before the
    # order; the visit 5 s after the search click and the email's touchpoint are not extra.
    assert found["O1"][:3] == ("display > search > email", "4 > 2 > 1", True)
    # O2 (store): only the direct visit after O1; O9: C4's display came before O8.
    assert found["O2"][:3] == ("direct", "2", True)
    assert found["O9"][:3] == ("search", "2", True)
    # O5: the visitor V5's impression belongs to C3, who signed in as V5.
    assert found["O5"][:3] == ("social > referral", "1 > 0", True)
    # The guest order O4 is its visitor's: only the visit the same day (03-02 is 23 days off).
    assert found["O4"][:3] == ("direct", "0", True)
    assert {key for key in found if key.startswith("open:")} == {
        "open:C1:2:1",  # display 03-20, after O2, no order after it
        "open:C2:0:1",  # e-mail delivered 14 days before O3: outside the week
        "open:visitor:V9:0:1",  # organic visit 03-02
    }
    assert sorted(v[0] for k, v in found.items() if k.startswith("open:")) == [
        "display",
        "email",
        "organic_search",
    ]


def test_path_counts_are_the_paths_file_form() -> None:
    assert counts() == {
        "display > search > email": (1, 0, 100.0),
        "direct": (2, 0, 80.0),  # O2 (store, 50) and O4 (web, 30)
        "search": (1, 0, 60.0),
        "social > referral": (1, 0, 40.0),
        "display": (0, 1, 0.0),
        "email": (0, 1, 0.0),
        "organic_search": (0, 1, 0.0),
    }


def test_online_only_drops_store_orders_and_their_journey_breaks() -> None:
    found = counts(JourneySettings(lookback_days=7, include_offline=False))
    # Without O2, C1's direct visit (03-10) and display (03-20) are 10 days apart: two
    # non-converting journeys; O3 was never matched, so C2's e-mail stays non-converting.
    assert found["direct"] == (1, 1, 30.0)
    assert found["display"] == (0, 1, 0.0)
    assert sum(c for c, _, _ in found.values()) == 4


def test_a_longer_lookback_reaches_older_touches() -> None:
    found = journeys_by_id(JourneySettings(lookback_days=30))
    # O3 now reaches C2's e-mail 14 days earlier (the display of 02-10 is 33 days off).
    assert found["O3"][:3] == ("email", "14", True)
    # O4 reaches the organic visit 23 days earlier.
    assert found["O4"][:2] == ("organic_search > direct", "23 > 0")


def test_without_views_impressions_and_unopened_messages_are_not_touches() -> None:
    found = counts(JourneySettings(lookback_days=7, views=False))
    assert found["search > email"] == (1, 0, 100.0)
    assert found["referral"] == (1, 0, 40.0)
    assert "display" not in found
    assert "email" not in found


def test_collapse_repeats_makes_a_run_of_one_channel_one_touch() -> None:
    data = sources()
    extra = data.touchpoints.filter(data.touchpoints.kind == "impression").limit(1)
    doubled = data.touchpoints.union(
        extra.mutate(occurred_at=extra.occurred_at + timedelta(hours=1))
    )
    repeated = TouchSources(data.orders, data.sessions, doubled, data.messages)
    kept = path_counts(build_journeys(repeated, START, END, WEEK)).execute()
    assert "display > display > search > email" in set(kept.path)
    settings = JourneySettings(lookback_days=7, collapse_repeats=True)
    collapsed = path_counts(build_journeys(repeated, START, END, settings)).execute()
    assert "display > search > email" in set(collapsed.path)


def test_explorer_aggregates() -> None:
    journeys = build_journeys(sources(), START, END, WEEK)
    top = top_paths(journeys, limit=2).execute()
    assert list(top.path) == ["direct", "display > search > email"]
    assert list(top.journeys) == [2, 1]
    assert list(top.revenue) == [80.0, 100.0]
    lengths = path_lengths(journeys).execute()
    assert list(zip(lengths.touches, lengths.journeys, lengths.conversions, strict=True)) == [
        (1, 6, 3),
        (2, 1, 1),
        (3, 1, 1),
    ]
    timing = time_to_convert(journeys).execute().iloc[0]
    # Days to convert: O4 0.0208 (30 min), O5 1, O2 2, O9 2, O1 4 -> median 2;
    # p90 at rank 0.9 × 4 = 3.6: 2 + 0.6 × (4 − 2) = 3.2.
    assert timing.journeys == 5
    assert timing.median_days == pytest.approx(2.0)
    assert timing.p90_days == pytest.approx(3.2)
    assert timing.mean_touches == pytest.approx(8 / 5)


def test_offline_matching() -> None:
    data = sources()
    touches = journey_touches(data, START, END, WEEK)
    summary, channels = offline_matching(data, touches, START, END, WEEK)
    row = summary.execute().iloc[0]
    # Store orders: O2 (C1, 50, after a direct visit), O3 (C2, 80, nothing within the week)
    # and O7 (guest, 20).
    assert (row.store_orders, row.identified_orders, row.matched_orders) == (3, 2, 1)
    assert (row.store_revenue, row.matched_revenue) == (150.0, 50.0)
    assert channels.execute().to_dict("records") == [
        {"channel": "direct", "orders": 1, "revenue_influenced": 50.0}
    ]


def test_paths_feed_the_models() -> None:
    journeys = build_journeys(sources(), START, END, WEEK)
    result = attribute(paths_from_counts(path_counts(journeys).execute()), "linear")
    credit = {c.channel: round(c.revenue or 0.0, 4) for c in result.channels}
    # Linear: O1's 100 split in thirds over display, search and email; direct 80;
    # search 60; social and referral 20 each.
    assert credit == {
        "direct": 80.0,
        "display": 33.3333,
        "email": 33.3333,
        "organic_search": 0.0,
        "referral": 20.0,
        "search": 93.3333,
        "social": 20.0,
    }
    assert (result.total_conversions, result.total_revenue) == (5.0, 280.0)
    timed = paths_from_counts(path_counts(journeys, with_days=True).execute())
    assert timed.days_before is not None


def test_bad_settings_and_empty_sources() -> None:
    with pytest.raises(ConfigError, match="lookback"):
        JourneySettings(lookback_days=0)
    with pytest.raises(ConfigError, match="before it starts"):
        journey_touches(sources(), END, START, WEEK)
    with pytest.raises(DataError, match="no touchpoints"):
        build_journeys(TouchSources(orders=sources().orders), START, END, WEEK)


def test_path_lengths_group_the_longest() -> None:
    journeys = build_journeys(sources(), START, END, WEEK)
    lengths = path_lengths(journeys, longest=2).execute()
    # Lengths 1 (6 journeys, 3 converting), 2 and 3 (one converting each) -> "2 or more".
    assert list(zip(lengths.touches, lengths.journeys, lengths.conversions, strict=True)) == [
        (1, 6, 3),
        (2, 2, 2),
    ]
