"""The scorecard, stage dashboard and "my KPIs": every value, change and trend point is
checked against `omnikpi.kpi.query` on the same warehouse (the engine's own comparisons,
which the cards do not use for complete periods)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from omnikpi.auth import UserRole, parse_role
from omnikpi.errors import ConfigError
from omnikpi.kpi import Grain, KpiQuery, load_catalog, query
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.targets import TargetRow, import_targets, status
from omnikpi.services import (
    JOURNEY_STAGES,
    Dashboard,
    KpiCard,
    KpiDenied,
    build_cards,
    build_dashboard,
    default_range,
)
from omnikpi.services.suppression import read_answer
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

EXECUTIVE = parse_role("executive")
LEAD = parse_role("team_lead")
ANALYST = parse_role("analyst")
LOGISTICS = parse_role("member:logistics")
BU_USER = parse_role("bu_user")
DECEMBER = (date(2024, 12, 1), date(2025, 12, 31))  # 13 months ending with a whole month
LAST_WEEK = (date(2025, 9, 29), date(2025, 12, 28))  # 13 ISO weeks, the last whole


def rows(
    engine: KpiQuery,
    ids: list[str],
    grain: str,
    start: date,
    end: date,
    role: UserRole | None = None,
    **options: Any,
) -> dict[tuple[str, date], dict[str, Any]]:
    """`omnikpi.kpi.query` rows by (kpi, period_start); for a `role` without customer-level
    access, with the values describing fewer than 10 customers withheld (None)."""
    frame = read_answer(engine, KpiRequest.parse(ids, grain, start, end, **options), role)
    return {(r["kpi"], r["period_start"]): r for r in frame.to_dict("records")}


def same(found: float | None, expected: float | None) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_the_scorecard_is_the_ten_cxo_kpis_with_the_engines_values_and_changes(
    engine: KpiQuery,
) -> None:
    board = build_dashboard(engine, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    ids = [card.kpi.id for card in board.cards]
    assert len(ids) == 10
    assert ids[:3] == ["visits", "unique_visitors", "conversion_rate"]  # shopping-stage order
    assert (board.period_start, board.period_end, board.complete) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
        True,
    )
    month = (date(2025, 12, 1), date(2025, 12, 31))
    previous = rows(engine, ids, "month", *month, compare="previous")
    yearly = rows(engine, ids, "month", *month, compare="yoy")
    trend = rows(engine, ids, "month", *DECEMBER)
    for card in board.cards:
        key = (card.kpi.id, month[0])
        assert same(card.value, previous[key]["value"]), card.kpi.id
        mom, yoy = card.change("previous"), card.change("yoy")
        assert mom is not None
        assert yoy is not None
        assert same(mom.value, previous[key]["comparison_value"]), card.kpi.id
        assert same(mom.change, previous[key]["change"]), card.kpi.id
        assert same(yoy.value, yearly[key]["comparison_value"]), card.kpi.id
        assert same(yoy.change, yearly[key]["change"]), card.kpi.id
        assert (mom.period_start, yoy.period_start) == (date(2025, 11, 1), date(2024, 12, 1))
        assert len(card.trend) == 13
        for point in card.trend:
            assert same(point.value, trend[(card.kpi.id, point.period_start)]["value"])
    # The demo imports its plan: December 2024's revenue improved by 5%, in whole won.
    revenue = board.card("revenue")
    assert revenue.value is not None
    assert revenue.value > 0
    last_year = yearly[("revenue", month[0])]["comparison_value"]
    assert revenue.target == round(last_year * 1.05)
    assert revenue.status == status(revenue.value, revenue.target, "up", 0.05)


def test_a_month_to_date_is_compared_with_the_same_days_by_the_engine(engine: KpiQuery) -> None:
    board = build_dashboard(
        engine, EXECUTIVE, "cxo", Grain.MONTH, date(2025, 1, 1), date(2025, 12, 15)
    )
    assert not board.complete
    cut = (date(2025, 12, 1), date(2025, 12, 15))
    ids = [card.kpi.id for card in board.cards]
    previous = rows(engine, ids, "month", *cut, compare="previous")
    yearly = rows(engine, ids, "month", *cut, compare="yoy")
    for card in board.cards:
        key = (card.kpi.id, cut[0])
        assert same(card.value, previous[key]["value"]), card.kpi.id
        assert same(card.change("previous").change, previous[key]["change"])  # type: ignore[union-attr]
        assert same(card.change("yoy").value, yearly[key]["comparison_value"])  # type: ignore[union-attr]


def test_the_stage_dashboard_groups_the_lead_kpis_by_stage_with_week_changes(
    engine: KpiQuery,
) -> None:
    board = build_dashboard(engine, LEAD, "lead", Grain.WEEK, *LAST_WEEK)
    groups = board.by_stage()
    assert [g.stage for g in groups] == list(JOURNEY_STAGES)
    assert sum(len(g.cards) for g in groups) == len(board.cards) == 47
    assert all(card.kpi.stage == group.stage for group in groups for card in group.cards)
    week = (date(2025, 12, 22), date(2025, 12, 28))
    ids = [card.kpi.id for card in board.cards if not card.share_of]
    previous = rows(engine, ids, "week", *week, LEAD, compare="previous")
    yearly = rows(engine, ids, "week", *week, LEAD, compare="yoy")
    for card in board.cards:
        if card.share_of:
            continue
        key = (card.kpi.id, week[0])
        assert same(card.value, previous[key]["value"]), card.kpi.id
        assert same(card.change("previous").change, previous[key]["change"]), card.kpi.id  # type: ignore[union-attr]
        assert same(card.change("yoy").change, yearly[key]["change"]), card.kpi.id  # type: ignore[union-attr]
    assert card_of(board, "orders").change("yoy").period_start == date(2024, 12, 23)  # type: ignore[union-attr]


def card_of(board: Dashboard, kpi_id: str) -> KpiCard:
    return board.card(kpi_id)


def test_my_kpis_are_exactly_the_roles_kpis_against_the_same_day_last_week(
    engine: KpiQuery,
) -> None:
    start, end = default_range(Grain.DAY, engine.data_through())
    assert (start, end) == (date(2025, 12, 2), date(2025, 12, 31))
    board = build_dashboard(engine, LOGISTICS, "member:logistics", Grain.DAY, start, end)
    ids = [card.kpi.id for card in board.cards]
    assert ids == [k.id for k in engine.catalog.select(tier="member:logistics")]
    daily = rows(engine, ids, "day", date(2025, 12, 24), end, LOGISTICS)
    for card in board.cards:
        (change,) = card.changes
        assert change.comparison == "last_week"
        assert change.period_start == date(2025, 12, 24)
        assert same(card.value, daily[(card.kpi.id, end)]["value"])
        assert same(change.value, daily[(card.kpi.id, date(2025, 12, 24))]["value"])
        assert len(card.trend) == 30
        assert card.trend[0].period_start == start


def test_filters_apply_where_a_kpi_can_be_cut_and_are_named_where_not(engine: KpiQuery) -> None:
    board = build_dashboard(
        engine, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER, filters={"channel": ["app"]}
    )
    month = (date(2025, 12, 1), date(2025, 12, 31))
    cut_by_channel = [c.kpi.id for c in board.cards if not c.unfiltered_by]
    whole = [c.kpi.id for c in board.cards if c.unfiltered_by]
    assert whole == ["complaint_ratio"]  # tickets have service channels, not sales channels
    assert board.card("complaint_ratio").unfiltered_by == ("channel",)
    app = rows(engine, cut_by_channel, "month", *month, filters={"channel": ["app"]})
    total = rows(engine, whole, "month", *month)
    for kpi_id in cut_by_channel:
        assert same(board.card(kpi_id).value, app[(kpi_id, month[0])]["value"]), kpi_id
    assert same(board.card("complaint_ratio").value, total[("complaint_ratio", month[0])]["value"])
    unfiltered = build_dashboard(engine, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    assert board.card("orders").value < unfiltered.card("orders").value  # type: ignore[operator]


def test_a_share_kpi_shows_its_shares_not_one_number(engine: KpiQuery) -> None:
    board = build_dashboard(engine, ANALYST, "lead", Grain.WEEK, *LAST_WEEK)
    card = board.card("payment_type_share")
    assert card.share_of == "payment_method"
    assert card.value is None
    assert card.has_data
    week = date(2025, 12, 22)
    warehouse = engine.engine
    assert isinstance(warehouse, Warehouse)
    frame = query("payment_type_share", "week", week, date(2025, 12, 28), warehouse=warehouse)
    expected = {r["payment_method"]: r["value"] for r in frame.to_dict("records")}
    assert {share.key: share.value for share in card.shares} == pytest.approx(expected)
    values = [share.value or 0.0 for share in card.shares]
    assert values == sorted(values, reverse=True)  # largest first
    assert sum(values) == pytest.approx(1.0)
    # A team lead does not see the shares of the methods fewer than 10 customers paid with.
    lead = build_dashboard(engine, LEAD, "lead", Grain.WEEK, *LAST_WEEK).card("payment_type_share")
    withheld = {share.key for share in lead.shares if share.value is None}
    assert withheld
    assert all(share.value == pytest.approx(expected[share.key]) for share in lead.shares
               if share.key not in withheld)  # fmt: skip


def test_no_data_stays_no_data(engine: KpiQuery) -> None:
    board = build_dashboard(engine, LEAD, "lead", Grain.WEEK, *LAST_WEEK)
    card = board.card("clv")  # needs the CLV scores of the customer models, not run here
    assert card.value is None
    assert not card.has_data
    assert all(point.value is None for point in card.trend)
    assert all(change.value is None and change.change is None for change in card.changes)


def test_a_kpi_reported_only_monthly_says_so_at_a_finer_grain(engine: KpiQuery) -> None:
    market_share = engine.catalog.get("market_share")
    (card,) = build_cards(
        engine,
        [market_share],
        Grain.WEEK,
        *LAST_WEEK,
        {},
        ["previous", "yoy"],
    )
    assert card.unavailable == "grain"
    assert card.value is None
    assert card.trend == ()


def test_targets_give_each_kpi_its_planted_status(targeted: KpiQuery) -> None:
    from tests.web.kpi_targets import planted_status, tier_kpis

    board = build_dashboard(targeted, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    planted = tier_kpis("cxo")
    for card in board.cards:
        assert card.status == planted_status(planted, card.kpi.id), card.kpi.id
        assert card.target is not None
        assert all(point.target is not None for point in card.trend[-3:])
    assert {card.status for card in board.cards} == {"green", "amber", "red"}


@pytest.mark.parametrize(
    ("role", "tier", "allowed"),
    [
        (LOGISTICS, "member:logistics", True),
        (LOGISTICS, "cxo", True),  # company KPIs are everyone's
        (LOGISTICS, "member:cs_agent", False),
        (LOGISTICS, "lead", False),
        (BU_USER, "lead", True),
        (BU_USER, "member:logistics", False),
        (EXECUTIVE, "member:cs_agent", True),
    ],
)
def test_a_tier_is_shown_only_to_roles_the_permission_table_allows(
    engine: KpiQuery, role: Any, tier: str, allowed: bool
) -> None:
    start, end = date(2025, 12, 1), date(2025, 12, 31)
    if allowed:
        board = build_dashboard(engine, role, tier, Grain.MONTH, start, end)
        assert board.cards
    else:
        with pytest.raises(KpiDenied, match=f'may not open the KPIs of tier "{tier}"'):
            build_dashboard(engine, role, tier, Grain.MONTH, start, end)


def test_an_unknown_tier_names_the_valid_ones(engine: KpiQuery) -> None:
    with pytest.raises(ConfigError, match=r'tier "vip" is not valid.*cxo, lead, member:'):
        build_dashboard(
            engine, EXECUTIVE, "vip", Grain.MONTH, date(2025, 12, 1), date(2025, 12, 31)
        )


def test_a_total_shown_under_a_filter_it_cannot_take_has_no_target_or_status(
    targeted: KpiQuery,
) -> None:
    whole = build_dashboard(targeted, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    store = build_dashboard(
        targeted, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER, filters={"store": ["S001"]}
    )
    online = [c.kpi.id for c in store.cards if c.unfiltered_by]
    assert online == ["visits", "unique_visitors", "conversion_rate"]  # online sessions only
    for kpi_id in online:
        assert whole.card(kpi_id).status is not None, kpi_id
        card = store.card(kpi_id)
        assert card.value == whole.card(kpi_id).value  # the total, said so on the card
        assert card.status is None, kpi_id
        assert card.target is None, kpi_id
        assert all(point.target is None for point in card.trend)


def test_a_rate_over_few_units_is_flagged_and_not_rated(targeted: KpiQuery) -> None:
    board = build_dashboard(targeted, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    rate = board.card("conversion_rate")
    month = (date(2025, 12, 1), date(2025, 12, 31))
    engine_rows = rows(targeted, ["conversion_rate"], "month", *month)
    assert rate.base == engine_rows[("conversion_rate", month[0])]["base"]
    assert rate.base is not None
    assert rate.base > targeted.settings.min_base
    assert not rate.small_base
    assert rate.status is not None
    strict = KpiQuery(
        targeted.catalog, targeted.engine, replace(targeted.settings, min_base=int(rate.base) + 1)
    )
    flagged = build_dashboard(strict, EXECUTIVE, "cxo", Grain.MONTH, *DECEMBER)
    assert flagged.card("conversion_rate").small_base
    assert flagged.card("conversion_rate").status is None
    assert flagged.card("revenue").status == board.card("revenue").status  # a sum: no base


def test_no_data_says_which_tables_it_waits_for(engine: KpiQuery) -> None:
    board = build_dashboard(engine, LEAD, "lead", Grain.WEEK, *LAST_WEEK)
    assert board.card("clv").unavailable == "missing"
    assert board.card("clv").missing_tables == ("customer_scores",)
    assert board.card("revenue").unavailable is None


def test_a_store_target_applies_when_the_view_selects_that_store(golden_copy: Path) -> None:
    path = golden_copy
    march = date(2025, 3, 1)
    with Warehouse.open(path) as warehouse:
        import_targets(
            warehouse,
            [
                TargetRow("orders", "month", march, "", 10.0, None),
                TargetRow("orders", "month", march, "store=S1", 2.0, None),
            ],
        )
    with Warehouse.open(path, read_only=True) as warehouse:
        engine = KpiQuery(load_catalog(), warehouse, Settings(path))
        kpis = [engine.catalog.get("orders")]
        (whole,) = build_cards(engine, kpis, Grain.MONTH, march, date(2025, 3, 31), {}, [])
        (store,) = build_cards(
            engine, kpis, Grain.MONTH, march, date(2025, 3, 31), {"store": ["S1"]}, []
        )
    assert (whole.value, whole.target, whole.status) == (6, 10.0, "red")  # O6..O11
    assert (store.value, store.target, store.status) == (2, 2.0, "green")  # O8 O11 at S1


def test_a_year_is_compared_once_with_the_year_before(engine: KpiQuery) -> None:
    board = build_dashboard(
        engine, EXECUTIVE, "cxo", Grain.YEAR, date(2025, 1, 1), date(2025, 12, 31)
    )
    assert board.comparisons == ("previous",)  # last year: the previous period and the yoy
    revenue = board.card("revenue")
    (change,) = revenue.changes
    assert change.period_start == date(2024, 1, 1)
    year = rows(engine, ["revenue"], "year", date(2025, 1, 1), date(2025, 12, 31), compare="yoy")
    assert same(change.value, year[("revenue", date(2025, 1, 1))]["comparison_value"])
