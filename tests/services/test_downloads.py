"""Downloads for people: a dashboard's download holds exactly the cards the page shows (same
values, targets, statuses and changes), formatted as the page formats them, with the view's
filters; a KPI's download holds the engine's rows with formatted companions."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from omnikpi.auth import parse_role
from omnikpi.i18n import Locale, LocaleFormat
from omnikpi.kpi import Grain, KpiQuery
from omnikpi.services import Dashboard, KpiCard, KpiRequest, build_dashboard, query_kpis
from omnikpi.services.dashboard_download import dashboard_download
from omnikpi.services.downloads import kpi_rows_download, kpi_rows_file_name
from omnikpi.web.labels import Labels
from tests.services.xlsx import read_xlsx

EXECUTIVE = parse_role("executive")
LEAD = parse_role("team_lead")
ANALYST = parse_role("analyst")
WEEKS = (date(2025, 9, 29), date(2025, 12, 28))  # 13 ISO weeks, the last whole
MONTHS = (date(2024, 12, 1), date(2025, 12, 31))
STATUS_TEXT: dict[str, dict[str | None, str]] = {
    "en": {
        "green": "On target",
        "amber": "Near target",
        "red": "Off target",
        "withheld": "Not rated",
        None: "No target",
    },
    "ko": {
        "green": "목표 달성",
        "amber": "목표 근접",
        "red": "목표 미달",
        "withheld": "평가 보류",
        None: "목표 없음",
    },
}
ARROWS = {1: "▲", -1: "▼", 0: "■"}


def labels_of(engine: KpiQuery, locale: Locale) -> Labels:
    """The pages' labels of KPIs, stages and dimension values (money in won)."""
    return Labels(locale, engine.catalog, currency="KRW")


def formatted(value: float, unit: str) -> str | None:
    """A value as the pages show it in English, written out independently of Babel (None
    for units this test does not write out)."""
    if unit == "percent":
        return f"{value * 100:.1f}%"
    if unit == "currency":
        return f"₩{value:,.0f}"
    if unit == "count" and value.is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}" if unit == "ratio" else None


def status_key(card: KpiCard) -> str | None:
    """The card's status, or "withheld" where it has a value to rate but no status."""
    return card.status or ("withheld" if card.withheld else None)


def change_formatted(change: float, card: KpiCard) -> str:
    """A change as shown: to a tenth of a percent or point; one that rounds to zero is
    "■ 0.0 pp", unsigned (no "▼ -0.0 pp")."""
    points = card.kpi.change_type == "points"
    shown = round(change if points and card.kpi.unit != "percent" else change * 100, 1)
    sign = ARROWS[(shown > 0) - (shown < 0)]
    number = f"{shown:+,.1f}" if shown else "0.0"
    if points and card.kpi.unit == "percent":
        return f"{sign} {number} pp"
    if points:
        return f"{sign} {number} pt"
    return f"{sign} {number}%"


def rows_by_kpi(rows: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        found.setdefault(str(row["kpi"]), []).append(row)
    return found


@pytest.fixture(scope="module")
def stage_board(targeted: KpiQuery) -> Dashboard:
    """The stage dashboard as `/stages` builds it for the last whole week of 2025."""
    return build_dashboard(targeted, LEAD, "lead", Grain.WEEK, *WEEKS)


@pytest.fixture(scope="module")
def store_board(targeted: KpiQuery) -> Dashboard:
    """The stage dashboard for one store, as `/stages?store=S001` builds it."""
    return build_dashboard(targeted, LEAD, "lead", Grain.WEEK, *WEEKS, {"store": ["S001"]})


def test_the_stage_dashboard_download_is_the_cards_of_the_page(
    targeted: KpiQuery, stage_board: Dashboard
) -> None:
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    labels = labels_of(targeted, "en")
    download = dashboard_download(stage_board, fmt, labels, page="stages", title="Stages")
    rows = [dict(row) for row in download.cards.rows]
    # The page's order: by shopping stage, each stage in catalog order.
    in_order = [c.kpi.id for group in stage_board.by_stage() for c in group.cards]
    assert list(dict.fromkeys(str(row["kpi"]) for row in rows)) == in_order
    found = rows_by_kpi(rows)
    statuses = set()
    for card in stage_board.cards:
        if card.share_of and card.has_data:
            shares = found[card.kpi.id]
            assert [r["part"] for r in shares] == [
                labels.value(card.share_of, s.key) for s in card.shares
            ]
            assert [r["value_number"] for r in shares] == [s.value for s in card.shares]
            continue
        (row,) = found[card.kpi.id]
        assert row["name"] == card.kpi.name.en
        assert (row["period_start"], row["period_end"]) == (date(2025, 12, 22), date(2025, 12, 28))
        assert row["period"] == "Week of Dec 22, 2025"
        if card.unavailable:
            assert "value_number" not in row
            assert row["notes"], card.kpi.id  # says why there is no value
            continue
        assert (row["value_number"], row["target_number"], row["status_code"]) == (
            card.value,
            card.target,
            card.status,
        )
        assert row["status"] == STATUS_TEXT["en"][status_key(card)]
        statuses.add(card.status)
        expected = card.value is not None and formatted(card.value, card.kpi.unit)
        if expected:
            assert row["value"] == expected, card.kpi.id
        for comparison in ("previous", "yoy"):
            change = card.change(comparison)
            assert change is not None
            assert row[f"{comparison}_compared_value_number"] == change.value
            assert row[f"{comparison}_change_number"] == change.change
            day = change.period_start
            assert row[f"{comparison}_compared_period"] == f"Week of {day:%b} {day.day}, {day.year}"
            if change.change is not None:
                assert row[f"{comparison}_change"] == change_formatted(change.change, card)
    assert {"green", "amber", "red"} <= statuses  # the test sees every status


def test_the_csv_carries_the_views_filters_on_every_row_and_the_workbook_a_view_sheet(
    targeted: KpiQuery, store_board: Dashboard
) -> None:
    labels = labels_of(targeted, "en")
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    download = dashboard_download(store_board, fmt, labels, page="stages", title="Stages")
    store = labels.value("store", "S001")
    text = download.csv()
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == len(download.cards.rows)
    view = {
        "View: Grain": "Week",
        "View: From": "2025-09-29",
        "View: To": "2025-12-28",
        "View: Compare with": "Previous period + Same period last year",
        "View: Channel": "All channels",
        "View: Store": store,
        "View: Region": "All regions",
        "View: Customers": "All customers",
    }
    for row in rows:
        assert {name: row[name] for name in view} == view
    unfiltered = {c.kpi.id for c in store_board.cards if c.unfiltered_by == ("store",)}
    assert unfiltered, "some lead KPIs cannot be split by store"
    for row in rows:
        noted = "Not split by Store" in row["Notes"]
        assert noted == (row["KPI id"] in unfiltered), row["KPI id"]
    revenue = next(row for row in rows if row["KPI id"] == "revenue")
    card = store_board.card("revenue")
    assert card.value is not None
    assert float(revenue["Value (number)"]) == card.value
    assert revenue["Value"] == formatted(card.value, "currency")

    sheets = read_xlsx(download.xlsx())
    assert list(sheets) == ["KPIs", "View"]
    kpis = sheets["KPIs"]
    assert kpis.frozen_header
    assert kpis.rows[0] == list(download.cards.headers.values())
    assert [r["KPI id"] for r in kpis.records()] == [r["KPI id"] for r in rows]
    workbook_revenue = next(r for r in kpis.records() if r["KPI id"] == "revenue")
    assert workbook_revenue["Value (number)"] == card.value  # a number the sheet can add up
    assert workbook_revenue["Period start"] == date(2025, 12, 22)  # a date, not text
    settings = {r["Setting"]: (r["Value"], r["In the address"]) for r in sheets["View"].records()}
    assert settings["Store"] == (store, "S001")
    assert settings["Grain"] == ("Week", "week")
    assert settings["Period shown"] == ("Week of Dec 22, 2025", "2025-12-22--2025-12-28")
    name = download.file_name("xlsx")
    assert name == "omnikpi-stages-week-2025-12-22--2025-12-28-store-S001.xlsx"


def test_off_target_first_lists_each_stage_worst_first(
    targeted: KpiQuery, stage_board: Dashboard
) -> None:
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    download = dashboard_download(
        stage_board, fmt, labels_of(targeted, "en"), page="stages", title="", worst_first=True
    )
    rank: dict[object, int] = {"red": 0, "amber": 1, "green": 2, None: 3}
    by_stage: dict[object, list[int]] = {}
    for row in download.cards.rows:
        if not row.get("part"):
            by_stage.setdefault(row["stage"], []).append(rank[row.get("status_code")])
    assert len(by_stage) == 6
    assert all(ranks == sorted(ranks) for ranks in by_stage.values())
    assert any(len(set(ranks)) > 1 for ranks in by_stage.values())


def test_the_korean_scorecard_download_has_korean_names_won_and_korean_changes(
    targeted: KpiQuery,
) -> None:
    board = build_dashboard(targeted, EXECUTIVE, "cxo", Grain.MONTH, *MONTHS)
    fmt = LocaleFormat("ko", "KRW", "Asia/Seoul")
    download = dashboard_download(
        board, fmt, labels_of(targeted, "ko"), page="scorecard", title="경영진 스코어카드"
    )
    headers = download.cards.headers
    assert (headers["name"], headers["value"], headers["previous_change"]) == (
        "KPI 이름",
        "값",
        "직전 기간: 변화",
    )
    found = rows_by_kpi([dict(row) for row in download.cards.rows])
    for card in board.cards:
        (row,) = found[card.kpi.id]
        assert row["name"] == card.kpi.name.ko
        assert row["period"] == "2025년 12월"
        assert row["status"] == STATUS_TEXT["ko"][status_key(card)]
    revenue = board.card("revenue")
    assert found["revenue"][0]["value"] == f"₩{revenue.value:,.0f}"  # won: no minor unit
    conversion = board.card("conversion_rate").change("previous")
    assert conversion is not None
    assert conversion.change is not None
    assert str(found["conversion_rate"][0]["previous_change"]).endswith(
        f"{conversion.change * 100:+.1f}%p"
    )
    text = download.csv()
    assert "보기 조건: 단위" in text.splitlines()[0]  # the view's grain, not the KPI's unit
    assert download.file_name("csv") == "omnikpi-scorecard-month-2025-12-01--2025-12-31.csv"


def test_a_partial_period_is_noted_on_every_row_and_on_the_view_sheet(
    targeted: KpiQuery,
) -> None:
    board = build_dashboard(targeted, EXECUTIVE, "cxo", Grain.MONTH, MONTHS[0], date(2025, 12, 10))
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    download = dashboard_download(board, fmt, labels_of(targeted, "en"), page="s", title="S")
    assert all(
        str(row["notes"]).startswith("Partial period: 10 of 31 days.")
        for row in download.cards.rows
    )
    settings = {r["setting"]: r["shown"] for r in download.view.rows}
    assert settings["Period shown"] == "Dec 2025 (to Dec 10, 2025)"
    assert str(settings["Notes"]).startswith("Partial period: 10 of 31 days.")


def test_a_kpis_rows_download_keeps_the_engines_rows_and_formats_them_beside(
    targeted: KpiQuery,
) -> None:
    half_year = ("2025-07-01", "2025-12-31")
    asked = KpiRequest.parse(
        "aov", "month", *half_year, by=["channel"], filters=["store=S001"], compare="yoy"
    )
    result = query_kpis(targeted, asked, ANALYST)
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    table = kpi_rows_download(result, fmt, labels_of(targeted, "en"))
    columns = list(table.headers)
    for column in ("value", "comparison_value", "change", "target", "status", "channel"):
        assert columns[columns.index(column) + 1] == f"{column}_text"
    view = ("grain", "start", "end", "compare", "channel", "store", "region", "member")
    assert columns[-8:] == [f"view_{name}" for name in view]
    assert len(table.rows) == len(result.rows) > 0
    for row, record, kpi_row in zip(table.rows, result.records(), result.rows, strict=True):
        assert {key: row[key] for key in record} == record  # the engine's rows, unchanged
        assert row["kpi_name"] == result.kpis[0].name.en
        if kpi_row.value is not None:
            assert row["value_text"] == formatted(kpi_row.value, "currency")
        assert row["channel_text"] == {"web": "Web", "app": "App", "store": "Store"}.get(
            str(kpi_row.keys[0]), row["channel_text"]
        )
        assert (row["view_grain"], row["view_compare"], row["view_store"]) == (
            "month",
            "yoy",
            "S001",
        )
    assert {row["channel_text"] for row in table.rows} >= {"Web", "App"}
    assert kpi_rows_file_name(result) == (
        "omnikpi-aov-by-channel-month-2025-07-01--2025-12-31-store-S001.csv"
    )
    trend = query_kpis(targeted, KpiRequest.parse("aov", "month", "2025-07-01", "2025-12-31"))
    assert kpi_rows_file_name(trend) == "omnikpi-aov-trend-month-2025-07-01--2025-12-31.csv"
