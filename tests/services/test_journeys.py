"""The journey services on the hand-made warehouse of tests/marketing/journey_data.py
(period March 2025, lookback 7 days): attribution, the explorer and offline matching."""

from __future__ import annotations

from datetime import date

import pytest

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.journeys import JourneySettings
from omnikpi.services.attribution import attribute_warehouse, journeys_from_warehouse
from omnikpi.services.journeys import JourneyRequest, explore_journeys, match_offline
from omnikpi.settings import Settings, load_settings
from tests.marketing.journey_data import write_warehouse

MARCH = JourneyRequest(date(2025, 3, 1), date(2025, 3, 31), JourneySettings(lookback_days=7))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = write_warehouse(tmp_path_factory.mktemp("journeys") / "journeys.duckdb")
    return load_settings(warehouse=path)


def test_first_touch_on_the_warehouse(settings: Settings) -> None:
    result = attribute_warehouse(settings, "first", request=MARCH)
    credit = {c.channel: (c.conversions, c.revenue) for c in result.channels}
    # First touches of O1 display (100), O2 direct (50), O4 direct (30), O5 social (40),
    # O9 search (60).
    assert credit["display"] == (1.0, 100.0)
    assert credit["direct"] == (2.0, 80.0)
    assert credit["social"] == (1.0, 40.0)
    assert credit["search"] == (1.0, 60.0)
    assert (result.total_conversions, result.total_revenue) == (5.0, 280.0)


def test_time_decay_reads_the_touch_days(settings: Settings) -> None:
    paths = journeys_from_warehouse(settings, MARCH, with_days=True)
    assert paths.days_before is not None
    result = attribute_warehouse(settings, "time_decay", request=MARCH)
    credit = {c.channel: c.revenue for c in result.channels}
    # O1 (100): display 4 days, search 2, email 1 before, weights 2^(-d/7).
    weights = {"display": 2 ** (-4 / 7), "search": 2 ** (-2 / 7), "email": 2 ** (-1 / 7)}
    total = sum(weights.values())
    assert credit["email"] == pytest.approx(100 * weights["email"] / total)
    assert credit["search"] == pytest.approx(100 * weights["search"] / total + 60)


def test_default_period_is_the_last_90_days_of_orders(settings: Settings) -> None:
    report = explore_journeys(settings, JourneyRequest(journey=JourneySettings(lookback_days=7)))
    # The last order is O4 on 03-25: 90 days back reach 2024-12-26, so O8 (02-27) counts
    # too, with C4's display two days before it.
    assert (report.first, report.last) == (date(2024, 12, 26), date(2025, 3, 25))
    assert report.orders == 8


def test_explorer(settings: Settings) -> None:
    report = explore_journeys(settings, MARCH, top=2)
    assert (report.journeys, report.converting) == (8, 5)
    # Converting orders of March: O1 O2 O3 O4 O5 O7 O9 (380); O3 and O7 had no touch (100).
    assert (report.orders, report.revenue) == (7, 380.0)
    assert (report.orders_without_touch, report.revenue_without_touch) == (2, 100.0)
    assert [row["path"] for row in report.top_paths] == ["direct", "display > search > email"]
    assert report.median_days_to_convert == pytest.approx(2.0)
    assert report.p90_days_to_convert == pytest.approx(3.2)
    document = report.as_json()
    assert document["non_converting_journeys"] == 3
    assert document["path_lengths"][0] == {
        "touches": 1,
        "journeys": 6,
        "conversions": 3,
        "conversion_rate": 0.5,
    }


def test_offline(settings: Settings) -> None:
    report = match_offline(settings, MARCH)
    assert (report.store_orders, report.identified_orders, report.matched_orders) == (3, 2, 1)
    assert report.matched_share == pytest.approx(1 / 3)
    assert report.matched_revenue_share == pytest.approx(50 / 150)
    assert report.channels == [{"channel": "direct", "orders": 1, "revenue_influenced": 50.0}]
    online = JourneyRequest(MARCH.first, MARCH.last, JourneySettings(include_offline=False))
    with pytest.raises(ConfigError, match="online-only"):
        match_offline(settings, online)


def test_empty_period_and_bad_requests(settings: Settings) -> None:
    with pytest.raises(DataError, match="no journeys from 2024-01-01"):
        journeys_from_warehouse(settings, JourneyRequest(date(2024, 1, 1), date(2024, 1, 31)))
    with pytest.raises(ConfigError, match="before --start"):
        JourneyRequest(date(2025, 3, 2), date(2025, 3, 1))
    with pytest.raises(ConfigError, match="--top 0"):
        explore_journeys(settings, MARCH, top=0)
