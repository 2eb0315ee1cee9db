"""KPI requests through the service layer: the engine's rows, the CLI's CSV, a page's
series (adapted to what the KPI allows, and saying so) and its breakdown."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from omnikpi.auth import parse_role
from omnikpi.errors import ConfigError, InvalidChoice, NotFound, UnknownValue
from omnikpi.kpi import Grain, KpiQuery, query
from omnikpi.services import (
    KpiDenied,
    KpiRequest,
    build_breakdown,
    build_kpi_detail,
    channel_dimension,
    query_kpis,
    view_series,
)
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli

ANALYST = parse_role("analyst")
LEAD = parse_role("team_lead")
CS_AGENT = parse_role("member:cs_agent")
YEAR = (date(2025, 1, 1), date(2025, 12, 31))


def warehouse_of(engine: KpiQuery) -> Warehouse:
    assert isinstance(engine.engine, Warehouse)
    return engine.engine


def request(ids: str, grain: str = "month", **parts: object) -> KpiRequest:
    return KpiRequest.parse(ids, grain, *YEAR, **parts)  # type: ignore[arg-type]


def test_a_request_gives_the_engines_rows(engine: KpiQuery) -> None:
    series = query_kpis(engine, request("aov", by=["channel"], compare="yoy"), ANALYST)
    frame = query(
        "aov", "month", *YEAR, by=["channel"], compare="yoy", warehouse=warehouse_of(engine)
    )
    assert series.columns == tuple(str(c) for c in frame.columns)
    assert len(series.rows) == len(frame) == 12 * 5
    for row, record in zip(series.rows, frame.to_dict("records"), strict=True):
        assert (row.period_start, row.keys) == (record["period_start"], (record["channel"],))
        assert row.value == pytest.approx(record["value"])
        assert row.change == pytest.approx(record["change"])


def test_the_csv_is_what_the_cli_writes(
    engine: KpiQuery, sim_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = query_kpis(engine, request("payment_type_share", "quarter", compare="previous"))
    capsys.readouterr()
    code = run_cli(
        "kpi", "query", "payment_type_share", "--grain", "quarter", "--start", "2025-01-01",
        "--end", "2025-12-31", "--compare", "previous", "--format", "csv",
        "--warehouse", str(sim_path),
    )  # fmt: skip
    assert code == 0
    cli = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    ours = list(csv.reader(io.StringIO(series.csv())))
    assert ours[0] == cli[0] == [
        "kpi", "period_start", "payment_method", "value", "comparison_value", "change",
        "change_type", "target", "status", "base",
    ]  # fmt: skip
    assert ours == cli
    assert len(ours) > 1 + 4 * 4  # a row per quarter and payment method


def test_missing_values_are_empty_in_the_csv_never_zero(engine: KpiQuery) -> None:
    lines = query_kpis(engine, request("clv")).csv().splitlines()
    assert lines[1].startswith("clv,2025-01-01,")
    assert all(line.split(",")[2] == "" for line in lines[1:])


def test_a_request_with_a_filter_the_kpi_cannot_take_is_refused(engine: KpiQuery) -> None:
    wanted = request("complaint_ratio", filters=["channel=web", "region=Seoul"])
    with pytest.raises(ConfigError, match='dimension "channel" is not allowed for KPI'):
        query_kpis(engine, wanted)


def test_unknown_filter_values_name_the_closest_ones(engine: KpiQuery) -> None:
    with pytest.raises(
        UnknownValue, match=r'channel "wbe" does not exist \(closest valid values: web'
    ):
        query_kpis(engine, request("revenue", filters=["channel=wbe"]))
    with pytest.raises(UnknownValue, match='store "S999" does not exist'):
        query_kpis(engine, request("revenue", filters=["store=S999"]))
    # a value of the declared domain without rows is valid: no data is not an error
    assert query_kpis(engine, request("revenue", filters=["channel=call"])).rows


def test_a_pages_series_leaves_out_filters_the_kpi_cannot_take_and_says_so(
    engine: KpiQuery,
) -> None:
    asked = request("complaint_ratio", filters={"channel": "web", "region": "Seoul"})
    series = view_series(engine, ANALYST, asked)
    assert series.unfiltered_by == ("channel",)
    expected = query(
        "complaint_ratio",
        "month",
        *YEAR,
        filters={"region": ["Seoul"]},
        warehouse=warehouse_of(engine),
    )
    assert [r.value for r in series.rows] == pytest.approx(list(expected["value"]))


def test_a_breakdown_is_one_period_by_one_dimension_largest_change_first(
    engine: KpiQuery,
) -> None:
    assert channel_dimension(engine, "orders") == "channel"
    assert channel_dimension(engine, "impressions") == "marketing_channel"
    assert channel_dimension(engine, "service_tickets") == "service_channel"
    assert channel_dimension(engine, "newsletter_open_rate") == "message_channel"
    assert channel_dimension(engine, "clv") is None
    breakdown = build_breakdown(engine, LEAD, "orders", "channel", Grain.WEEK, date(2025, 12, 28))
    assert breakdown.period_start == date(2025, 12, 22)
    week = query(
        "orders", "week", date(2025, 12, 22), date(2025, 12, 28), by=["channel"],
        compare="previous", warehouse=warehouse_of(engine),
    )  # fmt: skip
    expected = {r["channel"]: (r["value"], r["change"]) for r in week.to_dict("records")}
    assert {row.keys[0]: (row.value, row.change) for row in breakdown.rows} == expected
    moved = [abs((row.value or 0) - (expected[row.keys[0]][0] or 0) / (1 + (row.change or 0)))
             for row in breakdown.rows if row.change is not None]  # fmt: skip
    assert moved == sorted(moved, reverse=True)  # orders gained or lost, largest first
    with pytest.raises(InvalidChoice, match='by "product" is not valid'):
        build_breakdown(engine, LEAD, "visits", "product", Grain.WEEK, date(2025, 12, 28))


def test_the_detail_offers_the_kpis_dimensions_and_suggests_its_usual_one(engine: KpiQuery) -> None:
    weeks = KpiRequest.parse("visits_by_hour", "week", "2025-10-06", "2025-12-28")
    detail = build_kpi_detail(engine, ANALYST, weeks, breakdown_by="hour")
    assert detail.suggested_dimension == "hour"
    assert "hour" in detail.dimensions
    assert "channel" in detail.dimensions
    assert detail.breakdown is not None
    # hours in the order of the day (an ordinal dimension), not by size
    assert [row.keys[0] for row in detail.breakdown.rows] == [f"{h:02d}" for h in range(24)]
    assert [row.period_start for row in detail.latest] == [date(2025, 12, 22)]
    revenue = build_kpi_detail(engine, ANALYST, request("revenue", compare="yoy"))
    assert revenue.suggested_dimension == "channel"
    assert revenue.breakdown is None
    assert len(revenue.series.period_starts()) == 12


def test_a_kpi_reported_monthly_is_shown_monthly(engine: KpiQuery) -> None:
    series = view_series(engine, ANALYST, request("market_share", "week"))
    assert (series.grain, series.requested_grain) == (Grain.MONTH, Grain.WEEK)
    assert series.request.grain is Grain.MONTH  # what its CSV link asks for
    with pytest.raises(ConfigError, match="reported at month grain or coarser"):
        query_kpis(engine, request("market_share", "week"))
    # a day's comparisons a month has not take the month's nearest: last week's day the
    # previous month, the same weekday last year the same month last year
    for asked, used in (("last_week", "previous"), ("weekday_last_year", "yoy")):
        days = KpiRequest.parse("market_share", "day", "2025-10-01", "2025-11-30", compare=asked)
        assert view_series(engine, ANALYST, days).compare == used


def test_a_series_follows_the_permission_table(engine: KpiQuery) -> None:
    with pytest.raises(KpiDenied, match='may not open KPI "impressions"'):
        query_kpis(engine, request("impressions", "day"), CS_AGENT)
    december = KpiRequest.parse("backlog", "day", "2025-12-01", "2025-12-31")
    assert query_kpis(engine, december, CS_AGENT).rows
    with pytest.raises(NotFound, match='unknown KPI "revenu"'):
        query_kpis(engine, request("revenu", "day"), ANALYST)
    with pytest.raises(ConfigError, match='dimension "fax" is not allowed'):
        query_kpis(engine, request("revenue", "day", by=["fax"]), ANALYST)


def test_a_breakdown_with_rows_of_no_dimension_value_sorts(engine: KpiQuery) -> None:
    """Revenue by marketing channel has orders of no campaign (a None key); sorting the
    rows once failed on it and the KPI detail of roas answered 500."""
    breakdown = build_breakdown(
        engine, ANALYST, "revenue", "marketing_channel", Grain.MONTH, date(2025, 12, 31), None, None
    )
    keys = [row.keys[0] for row in breakdown.rows]
    assert None in keys
    values = [row.value or 0.0 for row in breakdown.rows]
    assert values == sorted(values, reverse=True)


def test_the_previous_month_is_the_whole_previous_month(engine: KpiQuery) -> None:
    """November against October compares with all 31 days of October (it once compared
    with October's first 30 days)."""
    november = query_kpis(
        engine, KpiRequest.parse("revenue", "month", "2025-11-01", "2025-11-30", compare="previous")
    )
    october = query_kpis(engine, KpiRequest.parse("revenue", "month", "2025-10-01", "2025-10-31"))
    assert november.rows[0].comparison_value == pytest.approx(october.rows[0].value)


@pytest.mark.parametrize(
    ("kpi", "dimension"), [("conversion_rate", "channel"), ("revenue", "channel")]
)
def test_a_breakdowns_contributions_add_up_to_the_change_of_the_total(
    engine: KpiQuery, kpi: str, dimension: str
) -> None:
    end = date(2025, 12, 28)
    breakdown = build_breakdown(engine, LEAD, kpi, dimension, Grain.WEEK, end)
    total = query_kpis(
        engine, KpiRequest.parse(kpi, "week", "2025-12-22", "2025-12-28", compare="previous")
    ).rows[0]
    assert total.change is not None
    found = sum(c.total for c in breakdown.contributions)
    if total.change_type == "points":  # conversion: points of the rate
        assert found == pytest.approx(total.change)
        assert any(c.mix != 0 for c in breakdown.contributions)
    else:  # revenue: the amount
        assert found == pytest.approx(total.value - total.comparison_value)  # type: ignore[operator]
    assert [row.keys[0] for row in breakdown.rows][: len(breakdown.contributions)] == [
        c.key for c in breakdown.contributions
    ]
    effects = [abs(c.total) for c in breakdown.contributions]
    assert effects == sorted(effects, reverse=True)
    if kpi == "conversion_rate":
        assert all(row.denominator for row in breakdown.rows)  # visits shown beside the rate
