"""Credit per touch and per day by each attribution model on the hand-made journeys of
`journey_data` (March 2025, lookback 7 days)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from omnikpi.errors import ConfigError
from omnikpi.marketing.attributed import (
    attributed_per_day,
    data_driven_per_day,
    monthly_paths,
    monthly_shares,
    position_credit,
    touch_credit,
)
from omnikpi.marketing.attribution import AttributionSettings, attribute
from omnikpi.marketing.journeys import (
    JourneySettings,
    build_journeys,
    journey_touches,
    path_counts,
    paths_from_counts,
)
from tests.marketing.journey_data import END, START, sources

WEEK = JourneySettings(lookback_days=7)


def test_position_weights_per_touch() -> None:
    credit = position_credit(journey_touches(sources(), START, END, WEEK)).execute()
    weights = {(row.journey_id, row.channel): round(row.weight, 10) for row in credit.itertuples()}
    # O1: display > search > email: 0.4 / 0.2 / 0.4; O5: social > referral: 0.5 / 0.5
    # (40 : 40 in proportion); single touches take all.
    assert weights == {
        ("O1", "display"): 0.4,
        ("O1", "search"): 0.2,
        ("O1", "email"): 0.4,
        ("O5", "social"): 0.5,
        ("O5", "referral"): 0.5,
        ("O2", "direct"): 1.0,
        ("O4", "direct"): 1.0,
        ("O9", "search"): 1.0,
    }
    uneven = position_credit(journey_touches(sources(), START, END, WEEK), 0.3, 0.1).execute()
    two = {row.channel: row.weight for row in uneven.itertuples() if row.journey_id == "O5"}
    assert two == pytest.approx({"social": 0.75, "referral": 0.25})  # 0.3 : 0.1


def test_per_day_channel_and_campaign() -> None:
    frame = attributed_per_day(journey_touches(sources(), START, END, WEEK)).execute()
    rows = {
        (row.date.date() if hasattr(row.date, "date") else row.date, row.channel,
         None if row.campaign_id != row.campaign_id else row.campaign_id, bool(row.offline)):
        (round(row.conversions, 10), round(row.revenue, 10))
        for row in frame.itertuples()
    }  # fmt: skip
    assert rows == {
        (date(2025, 3, 4), "search", "K2", False): (1.0, 60.0),  # O9
        (date(2025, 3, 5), "display", "K1", False): (0.4, 40.0),  # O1, 100
        (date(2025, 3, 5), "search", "K2", False): (0.2, 20.0),
        (date(2025, 3, 5), "email", "K3", False): (0.4, 40.0),
        (date(2025, 3, 7), "social", "K4", False): (0.5, 20.0),  # O5, 40
        (date(2025, 3, 7), "referral", None, False): (0.5, 20.0),
        (date(2025, 3, 12), "direct", None, True): (1.0, 50.0),  # O2 in store
        (date(2025, 3, 25), "direct", None, False): (1.0, 30.0),  # O4
    }
    # Sums to the touched orders: 5 conversions, 280.
    assert frame.conversions.sum() == pytest.approx(5.0)
    assert frame.revenue.sum() == pytest.approx(280.0)


def test_bad_weights() -> None:
    with pytest.raises(ConfigError, match=r"position weights 0\.7/0\.4"):
        position_credit(journey_touches(sources(), START, END, WEEK), 0.7, 0.4)


def _weights(
    model: str, settings: AttributionSettings | None = None
) -> dict[tuple[str, str], float]:
    credit = touch_credit(journey_touches(sources(), START, END, WEEK), model, settings).execute()
    return {(row.journey_id, row.channel): round(row.weight, 10) for row in credit.itertuples()}


#: The one-touch journeys, whatever the model: O2 and O4 direct, O9 search.
SINGLE = {("O2", "direct"): 1.0, ("O4", "direct"): 1.0, ("O9", "search"): 1.0}


def test_rule_based_weights_per_touch() -> None:
    # O1: display 03-01 10:00 > search 03-03 10:00 > email 03-04 12:00, ordered 03-05 10:00;
    # O5: social 03-06 09:30 > referral 03-07 09:00, ordered 03-07 09:30.
    assert _weights("first") == {
        ("O1", "display"): 1.0, ("O1", "search"): 0.0, ("O1", "email"): 0.0,
        ("O5", "social"): 1.0, ("O5", "referral"): 0.0, **SINGLE,
    }  # fmt: skip
    last = {
        ("O1", "display"): 0.0, ("O1", "search"): 0.0, ("O1", "email"): 1.0,
        ("O5", "social"): 0.0, ("O5", "referral"): 1.0, **SINGLE,
    }  # fmt: skip
    assert _weights("last") == last
    assert _weights("last_non_direct") == last  # no journey ends in direct after another
    # With "email" as the direct channel, O1's last non-direct touch is its search.
    assert _weights("last_non_direct", AttributionSettings(direct="email"))[("O1", "search")] == 1
    assert _weights("linear") == {
        ("O1", "display"): round(1 / 3, 10), ("O1", "search"): round(1 / 3, 10),
        ("O1", "email"): round(1 / 3, 10), ("O5", "social"): 0.5, ("O5", "referral"): 0.5,
        **SINGLE,
    }  # fmt: skip
    # Time decay, half-life 7 days over whole days before the order: O1's touches are 4, 2
    # and 1 (22 hours) days before it; O5's 1 (24 h) and 0 (30 minutes).
    o1 = [2 ** (-4 / 7), 2 ** (-2 / 7), 2 ** (-1 / 7)]
    o5 = [2 ** (-1 / 7), 1.0]
    decay = _weights("time_decay")
    assert decay[("O1", "display")] == pytest.approx(o1[0] / sum(o1))
    assert decay[("O1", "search")] == pytest.approx(o1[1] / sum(o1))
    assert decay[("O1", "email")] == pytest.approx(o1[2] / sum(o1))
    assert decay[("O5", "social")] == pytest.approx(o5[0] / sum(o5))
    assert decay[("O9", "search")] == 1.0
    with pytest.raises(ConfigError, match="not a rule-based"):
        touch_credit(journey_touches(sources(), START, END, WEEK), "markov")
    with pytest.raises(ConfigError, match=r'"mystery" is not valid \(allowed: first'):
        touch_credit(journey_touches(sources(), START, END, WEEK), "mystery")


@pytest.mark.parametrize(
    "model", ["first", "last", "last_non_direct", "linear", "time_decay", "position"]
)
def test_per_day_credit_sums_to_the_models_channels(model: str) -> None:
    """Per channel, the day-by-day credit equals the model run on the same journeys' paths
    (the attribution page's numbers)."""
    touches = journey_touches(sources(), START, END, WEEK)
    frame = attributed_per_day(touches, model).execute()
    journeys = build_journeys(sources(), START, END, WEEK)
    paths = paths_from_counts(path_counts(journeys, with_days=True).execute())
    expected = {c.channel: (c.conversions, c.revenue) for c in attribute(paths, model).channels}
    got = frame.groupby("channel")[["conversions", "revenue"]].sum()
    for channel, (conversions, revenue) in expected.items():
        found = got.loc[channel] if channel in got.index else pd.Series([0.0, 0.0], got.columns)
        assert found["conversions"] == pytest.approx(conversions, abs=1e-9), channel
        assert found["revenue"] == pytest.approx(revenue, abs=1e-9), channel


def test_monthly_paths_and_shares() -> None:
    start = pd.Timestamp("2025-02-01", tz="UTC").to_pydatetime()
    touches = journey_touches(sources(), start, END, WEEK)
    paths = monthly_paths(touches).execute()
    feb = paths[paths["month"].astype(str).str.startswith("2025-02")]
    # February: C4's display two days before O8 (25); C2's display of 02-10 leads nowhere.
    assert sorted(zip(feb["path"], feb["conversions"], feb["non_conversions"], feb["value"],
                      strict=True)) == [("display", 1, 1, 25.0)]  # fmt: skip
    march = paths[paths["month"].astype(str).str.startswith("2025-03")]
    assert march["conversions"].sum() == 5  # O1, O2, O4, O5, O9
    assert march["value"].sum() == pytest.approx(280.0)
    shares = monthly_shares(touches).execute()
    o1 = shares[(shares["date"].astype(str) == "2025-03-05")]
    # O1 (100) touched display, search and email once each: each channel's share is 1 / 100.
    assert sorted(zip(o1["channel"], o1["conversion_share"], o1["revenue_share"], strict=True)) == [
        ("display", 1.0, 100.0),
        ("email", 1.0, 100.0),
        ("search", 1.0, 100.0),
    ]


def test_data_driven_credit_is_shared_by_revenue_within_each_channel() -> None:
    """Shapley by hand on one month: "a > b" converts once for 100 (day 1), "a" once for
    50 (day 2). Conversions game v(a) = 1, v(b) = 0, v(ab) = 2: a = (1 + 2) / 2 = 1.5,
    b = (0 + 1) / 2 = 0.5; revenue game v(a) = 50, v(ab) = 150: a = 100, b = 50. a's
    credit goes 1 : 1 (conversions) and 100 : 50 (revenue) to days 1 and 2."""
    month = date(2025, 3, 1)
    paths = pd.DataFrame(
        {"month": [month, month], "path": ["a > b", "a"], "conversions": [1, 1],
         "non_conversions": [0, 0], "value": [100.0, 50.0]}
    )  # fmt: skip
    day1, day2 = date(2025, 3, 3), date(2025, 3, 9)
    shares = pd.DataFrame(
        {"month": [month] * 3, "date": [day1, day2, day1], "channel": ["a", "a", "b"],
         "campaign_id": ["K1", "K1", None], "offline": [False, True, False],
         "conversion_share": [1.0, 1.0, 1.0], "revenue_share": [100.0, 50.0, 100.0]}
    )  # fmt: skip
    credit = data_driven_per_day(paths, shares, "shapley")
    rows = {
        (row.date, row.channel): (round(row.conversions, 10), round(row.revenue, 10))
        for row in credit.itertuples()
    }
    assert rows == {
        (day1, "a"): (0.75, round(100 * 100 / 150, 10)),
        (day2, "a"): (0.75, round(100 * 50 / 150, 10)),
        (day1, "b"): (0.5, 50.0),
    }
    # Markov: start -> a (1); a -> b 1/2, a -> conversion 1/2; b -> conversion. Without a
    # nothing converts, without b half does: removal effects 1 and 1/2, shares 2/3 and 1/3.
    markov = data_driven_per_day(paths, shares, "markov")
    by_channel = markov.groupby("channel")["conversions"].sum()
    assert by_channel["a"] == pytest.approx(2 * 2 / 3)
    assert by_channel["b"] == pytest.approx(2 / 3)
    assert markov["revenue"].sum() == pytest.approx(150.0)
    assert math.isclose(by_channel.sum(), 2.0)
    with pytest.raises(ConfigError, match="not a data-driven"):
        data_driven_per_day(paths, shares, "linear")
