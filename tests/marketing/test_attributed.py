"""Position-based credit per touch and per day on the hand-made journeys of
`journey_data` (March 2025, lookback 7 days)."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.errors import ConfigError
from omnikpi.marketing.attributed import attributed_per_day, position_credit
from omnikpi.marketing.journeys import JourneySettings, journey_touches
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
