"""Which IANA zone reproduces an export's times: offsets (Shopify) or local dates (GA4).

Hand-checked against the zones' rules: New York is UTC-5 in winter and UTC-4 from the
second Sunday of March (2024-03-10, 07:00 UTC) to the first Sunday of November;
Bogota is UTC-5 all year; Los Angeles is UTC-8, then UTC-7 from 2024-03-10 10:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from omnikpi.ingest.zones import ZoneEvidence, choose_zone, country_code


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def offset(first: str, hours: float, last: str | None = None) -> ZoneEvidence:
    return ZoneEvidence(at(first), at(last or first), utc_offset=timedelta(hours=hours))


def local(first: str, day: str, last: str | None = None) -> ZoneEvidence:
    return ZoneEvidence(at(first), at(last or first), local_date=date.fromisoformat(day))


def test_a_dst_change_tells_new_york_from_bogota() -> None:
    winter_only = [offset("2024-03-09 19:00", -5)]
    assert "America/Bogota" in choose_zone(winter_only, "US").fitting
    both = [*winter_only, offset("2024-03-11 14:00", -4)]
    choice = choose_zone(both, "US")
    assert choice.zone == "America/New_York"
    assert "America/Bogota" not in choice.fitting  # no DST
    assert "America/Chicago" not in choice.fitting  # an hour behind
    assert not choice.is_guess


def test_the_change_must_happen_at_the_zone_s_instant() -> None:
    # 06:30 UTC on 2024-03-10 is still EST (-5) in New York; -4 there means another zone
    assert choose_zone([offset("2024-03-10 06:30", -5)], "US").zone == "America/New_York"
    wrong = choose_zone([offset("2024-03-10 06:30", -4), offset("2024-03-09 12:00", -5)], "US")
    assert "America/New_York" not in wrong.fitting


def test_both_ends_of_a_day_of_times_must_fit() -> None:
    # a day of -0500 times from 01:00 to 23:00 UTC on 2024-03-10: New York changes at 07:00
    day = offset("2024-03-10 01:00", -5, last="2024-03-10 23:00")
    assert "America/New_York" not in choose_zone([day], "US").fitting


def test_local_dates_pin_los_angeles_across_its_dst_change() -> None:
    """GA4: 23:30 on Mar 9 and 00:30 on Mar 10 (PST, -8); 23:45 on Mar 10 and 00:15 on
    Mar 11 (PDT, -7) — the dates GA4 wrote beside those UTC instants."""
    evidence = [
        local("2024-03-10 07:30", "2024-03-09"),
        local("2024-03-10 08:30", "2024-03-10"),
        local("2024-03-11 06:45", "2024-03-10"),
        local("2024-03-11 07:15", "2024-03-11"),
    ]
    choice = choose_zone(evidence, "United States")
    assert choice.zone == "America/Los_Angeles"
    assert "America/Phoenix" not in choice.fitting  # -7 all year: Mar 10 07:30 is Mar 10
    assert "America/Denver" not in choice.fitting  # -7/-6
    assert "America/Vancouver" in choice.fitting  # the same clocks, another country


def test_without_a_country_the_most_populous_zone_wins_and_it_is_a_guess() -> None:
    winter = [offset("2024-01-15 12:00", 1)]
    berlin = choose_zone(winter, "DE")
    assert (berlin.zone, berlin.is_guess) == ("Europe/Berlin", False)
    unknown = choose_zone(winter)
    assert unknown.zone == "Africa/Lagos"  # the most populous zone at +01:00 in January
    assert unknown.is_guess
    assert choose_zone([offset("2024-07-01 12:00", 0)] * 2).zone == "UTC"  # no DST anywhere


def test_times_no_zone_can_give_are_no_zone() -> None:
    same_instant = [offset("2024-03-01 12:00", 1), offset("2024-03-01 12:00", -5)]
    assert choose_zone(same_instant, "US").zone is None
    assert choose_zone([], "US").zone is None


def test_country_codes_from_codes_and_ga4_names() -> None:
    assert country_code("de") == "DE"
    assert country_code("United States") == "US"
    assert country_code("United Kingdom") == "GB"  # iso3166.tab says "Britain (UK)"
    assert country_code("South Korea") == "KR"
    assert country_code("(not set)") is None
