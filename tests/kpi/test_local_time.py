"""Local dates and hours computed from the epoch equal the database's own zone cast."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import ibis
import pytest

from omnikpi.kpi.local_time import (
    fixed_offset,
    instant_bounds,
    local_clock,
    local_date,
    local_hour,
)

ZONES = ["Asia/Seoul", "UTC", "Asia/Kolkata", "America/Sao_Paulo", "Europe/Berlin"]


@pytest.fixture
def instants() -> Iterator[ibis.BaseBackend]:
    """An in-memory DuckDB table of instants from 1900 to 9999 (odd steps cross every
    hour and day boundary), with the extremes and a NULL."""
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE TABLE t AS SELECT TIMESTAMPTZ '1900-01-01 00:00:00+00' + "
        "to_seconds(i * 39_979 + (i % 7) * 0.25) AS ts FROM range(100_000) r(i) "
        "UNION ALL SELECT TIMESTAMPTZ '9999-12-31 23:59:59.999999+00' "
        "UNION ALL SELECT TIMESTAMPTZ '1988-10-08 16:59:59.999999+00' "
        "UNION ALL SELECT TIMESTAMPTZ '1988-10-08 17:00:00+00' "
        "UNION ALL SELECT NULL"
    )
    yield con
    con.disconnect()


@pytest.mark.parametrize("zone", ZONES)
def test_fast_local_dates_and_hours_equal_the_zone_cast(
    instants: ibis.BaseBackend, zone: str
) -> None:
    instants.raw_sql(f"SET TimeZone = '{zone}'")
    t = instants.table("t")
    with local_clock(zone, "duckdb"):
        day, hour = local_date(t.ts), local_hour(t.ts)
    checked = t.select(exact_day=t.ts.date(), day=day, exact_hour=t.ts.hour(), hour=hour)
    differ = checked.filter(
        (checked.exact_day != checked.day)
        | (checked.exact_hour != checked.hour)
        | (checked.day.isnull() != checked.exact_day.isnull())
    )
    assert instants.execute(differ.count()) == 0
    # The fast path is taken where the zone allows it (so the check above compares it).
    sql = str(ibis.to_sql(checked, dialect="duckdb"))
    assert ("EPOCH_US" in sql) == (fixed_offset(zone) is not None)


def test_fixed_offsets_are_found_where_they_stopped_changing() -> None:
    assert fixed_offset("Asia/Seoul") == (datetime(1988, 10, 8, 17, 0, tzinfo=UTC), 9 * 3600)
    assert fixed_offset("UTC") is not None
    assert fixed_offset("UTC")[1] == 0
    assert fixed_offset("Europe/Berlin") is None  # daylight saving time goes on


def test_without_a_clock_dates_are_the_engine_cast() -> None:
    t = ibis.table({"ts": "timestamp('UTC')", "d": "date"}, name="t")
    assert "EPOCH_US" not in str(ibis.to_sql(t.select(x=local_date(t.ts)), dialect="duckdb"))
    with local_clock("Asia/Seoul", "spark"):  # only DuckDB takes the fast path
        assert "EPOCH_US" not in str(ibis.to_sql(t.select(x=local_date(t.ts)), dialect="duckdb"))
    with local_clock("Asia/Seoul", "duckdb"):
        assert local_date(t.d).equals(t.d)  # dates stay dates


@pytest.mark.parametrize("zone", ZONES)
def test_instant_bounds_hold_every_instant_of_the_days(zone: str) -> None:
    from zoneinfo import ZoneInfo

    first, last = date(2026, 3, 1), date(2026, 3, 31)  # a month with a DST change in Europe
    bounds = instant_bounds(first, last, zone)
    assert bounds is not None
    low, high = bounds
    info = ZoneInfo(zone)
    start = datetime.combine(first, datetime.min.time(), info).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), info).astimezone(UTC)
    assert low <= start
    assert end <= high
    assert start - low < timedelta(hours=4)
    assert high - end < timedelta(hours=4)
    assert instant_bounds(date.min, date.max, zone) is None
