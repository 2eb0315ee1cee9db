"""How much one KPI request may ask for: at most 3 breakdown dimensions and 1,000,000
values by default, estimated and refused before the engine reads anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from omnikpi.auth import parse_role
from omnikpi.kpi import Grain, KpiQuery
from omnikpi.kpi.domains import declared_values
from omnikpi.services import KpiRequest, build_breakdown, build_dashboard, query_kpis
from omnikpi.services.errors import RequestTooLarge
from omnikpi.services.limits import CellEstimate, check_request_size, estimate_cells
from omnikpi.settings import Settings

ANALYST = parse_role("analyst")
DECEMBER = ("2025-12-01", "2025-12-31")


def limited(engine: KpiQuery, **limits: int) -> KpiQuery:
    """The same engine under other request limits (`max_by`, `max_cells`)."""
    settings: Settings = replace(engine.settings, **limits)  # type: ignore[arg-type]
    return KpiQuery(engine.catalog, engine.engine, settings)


@pytest.fixture
def unanswered(engine: KpiQuery, monkeypatch: pytest.MonkeyPatch) -> KpiQuery:
    """An engine on which running any request fails the test: a refusal must come first."""
    small = limited(engine, max_cells=100)

    def answer_many(requests: object) -> list[pd.DataFrame]:
        raise AssertionError(f"the engine ran {requests}")

    monkeypatch.setattr(small, "answer_many", answer_many)
    return small


def channels(engine: KpiQuery) -> int:
    """How many sales channels the catalog declares (the orders' and sessions' values)."""
    found = declared_values(engine.catalog, engine.engine, "channel")
    assert found
    return len(found)


def test_the_estimate_is_periods_times_kpis_times_values_and_bounds_the_rows(
    engine: KpiQuery,
) -> None:
    asked = KpiRequest.parse("revenue,orders", "week", *DECEMBER, by=["channel"])
    estimate = estimate_cells(engine, asked, asked.by)
    # Weeks starting Dec 1, 8, 15, 22, 29; each channel, plus rows without one.
    assert estimate == CellEstimate(5, Grain.WEEK, 2, {"channel": channels(engine) + 1})
    assert estimate.cells == 5 * 2 * (channels(engine) + 1)
    assert len(query_kpis(engine, asked).rows) <= estimate.cells
    # A filter on the breakdown's dimension leaves only its values.
    filtered = replace(asked, filters=(("channel", ("web", "app")),))
    assert estimate_cells(engine, filtered, filtered.by).values == {"channel": 2}


def test_a_share_kpi_counts_the_values_it_splits_into(engine: KpiQuery) -> None:
    asked = KpiRequest.parse("payment_type_share", "month", *DECEMBER)
    result = query_kpis(engine, asked)
    assert result.dimensions == ("payment_method",)
    estimate = estimate_cells(engine, asked, result.dimensions)
    methods = declared_values(engine.catalog, engine.engine, "payment_method")
    assert methods
    assert estimate.values == {"payment_method": len(methods) + 1}
    assert 1 < len(result.rows) <= estimate.cells


def test_more_dimensions_than_allowed_are_refused_before_the_engine_runs(
    unanswered: KpiQuery,
) -> None:
    asked = KpiRequest.parse(
        "revenue", "month", *DECEMBER, by=["channel", "store", "member", "region"]
    )
    with pytest.raises(RequestTooLarge) as refused:
        query_kpis(unanswered, asked)
    assert str(refused.value) == (
        "by asks for 4 dimensions (channel, store, member, region), more than the limit of 3 "
        "(OMNIKPI_MAX_BY): break down by fewer dimensions, or filter on some of them instead"
    )
    assert (refused.value.asked, refused.value.limit, refused.value.dimensions) == (4, 3, True)
    assert refused.value.http_status == 400


def test_a_request_for_more_values_than_allowed_is_refused_naming_the_limit_and_the_way_out(
    unanswered: KpiQuery,
) -> None:
    asked = KpiRequest.parse("revenue", "day", *DECEMBER, by=["channel"])
    with pytest.raises(RequestTooLarge) as refused:
        query_kpis(unanswered, asked)
    values = channels(unanswered) + 1
    assert str(refused.value) == (
        f"this request asks for up to {31 * values} values (31 days × 1 KPI × {values} "
        "channel values), more than the limit of 100 (OMNIKPI_MAX_CELLS): ask for a coarser "
        "grain, a shorter range, fewer KPIs or fewer dimensions, or filter on a dimension"
    )
    assert refused.value.dimensions is False
    # Narrowed as the message says, it is allowed: a coarser grain.
    check_request_size(unanswered, replace(asked, grain=Grain.MONTH))


def test_a_breakdown_too_large_is_refused_before_it_reads_ahead(unanswered: KpiQuery) -> None:
    with pytest.raises(RequestTooLarge, match=r"\(1 month × 1 KPI × [0-9,]+ product values\)"):
        build_breakdown(unanswered, ANALYST, "revenue", "product", Grain.MONTH, date(2025, 12, 31))


def test_the_default_limits_let_every_dashboard_sized_request_through(engine: KpiQuery) -> None:
    ten_years = KpiRequest.parse("revenue", "day", "2016-01-01", "2025-12-31", by=["channel"])
    assert check_request_size(engine, ten_years).cells == 3653 * (channels(engine) + 1)
    with pytest.raises(RequestTooLarge, match="more than the limit of 1,000,000"):
        check_request_size(engine, replace(ten_years, by=("channel", "store", "product")))


def test_a_dashboard_adds_up_its_cards_values_before_reading_any(
    engine: KpiQuery, unanswered: KpiQuery
) -> None:
    lead = parse_role("team_lead")
    weeks = (Grain.WEEK, date(2025, 10, 6), date(2025, 12, 28))
    with pytest.raises(
        RequestTooLarge, match=r"\([0-9]+ KPIs, up to [0-9]+ weeks each\)"
    ) as refused:
        build_dashboard(unanswered, lead, "lead", *weeks)
    asked = refused.value.asked
    board = build_dashboard(limited(engine, max_cells=asked), lead, "lead", *weeks)
    shown = sum(len(card.trend) + len(card.shares) for card in board.cards)
    assert 0 < shown <= asked
    with pytest.raises(RequestTooLarge, match=f"up to {asked:,} values"):
        build_dashboard(limited(engine, max_cells=asked - 1), lead, "lead", *weeks)
