"""A drill-down keeps the view, and every interface means the same by a comparison.

A card or row opens its KPI's detail on the same grain, period, filters and comparison; the
menu and the breadcrumb lead back to the page it came from. The same KPI, period and
comparison give the same comparison value on the card, the detail, the API, the CLI and
the CSV.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import UserRole
from omnikpi.i18n import LocaleFormat, t
from omnikpi.kpi import load_catalog
from tests.conftest import run_cli
from tests.web.test_kpi_pages import ANALYST, EXECUTIVE, LEAD, MEMBERS, card_html, page
from tests.web.test_pages import text_of

CS_AGENT = MEMBERS[0]


def detail_link(html: str, kpi_id: str) -> str:
    """The first link of a page to `kpi_id`'s detail (as the browser would follow it)."""
    found = re.search(rf'href="(/kpis/{kpi_id}\?[^"#]*)"', html)
    assert found, f"no link to {kpi_id}"
    return unescape(found.group(1))


def params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def current_menu(html: str) -> str:
    found = re.search(r'<a href="([^"]+)" aria-current="page">', html)
    assert found, "no menu entry is current"
    return found.group(1)


@pytest.mark.parametrize(
    ("role", "origin", "path", "kpi", "expected"),
    [
        (EXECUTIVE, "scorecard", "/scorecard", "revenue",
         {"grain": "month", "start": "2024-12-01", "end": "2025-12-31", "compare": "previous"}),
        (LEAD, "stages", "/stages", "conversion_rate",
         {"grain": "week", "start": "2025-09-29", "end": "2025-12-28", "compare": "previous"}),
        (CS_AGENT, "my_kpis", "/my-kpis", "csat",
         {"grain": "day", "start": "2025-12-02", "end": "2025-12-31", "compare": "last_week"}),
    ],
)  # fmt: skip
def test_a_card_opens_its_detail_in_the_same_view_and_leads_back(
    kpi_clients: dict[UserRole, TestClient],
    role: UserRole,
    origin: str,
    path: str,
    kpi: str,
    expected: dict[str, str],
) -> None:
    board = page(kpi_clients, role, path, "en")
    link = detail_link(board, kpi)
    # The previous period is the detail's own default: the link names other comparisons.
    written = {k: v for k, v in expected.items() if (k, v) != ("compare", "previous")}
    assert params(link) == {**written, "from": origin}
    detail = page(kpi_clients, role, link, "en")
    # the menu keeps the dashboard, the breadcrumb leads back to it in the same view
    assert current_menu(detail) == path
    back = breadcrumb(detail)
    assert urlsplit(back).path == path
    assert params(back) == written
    # the view form keeps where the user came from, and shows the comparison chosen
    assert f'<input type="hidden" name="from" value="{origin}">' in detail
    assert re.search(rf'<option value="{expected["compare"]}" selected>', detail)
    assert f'<option value="{expected["grain"]}" selected>' in detail


def breadcrumb(html: str) -> str:
    """Where a detail page's breadcrumb leads."""
    crumb = re.search(r'<p class="kpihead__crumb"><a href="([^"]+)">', html)
    assert crumb, "no breadcrumb"
    return unescape(crumb.group(1))


def test_a_comparison_the_user_chose_goes_to_the_detail_and_back(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    board = page(kpi_clients, EXECUTIVE, "/scorecard?compare=yoy&channel=app", "en")
    link = detail_link(board, "revenue")
    assert params(link)["compare"] == "yoy"
    detail = page(kpi_clients, EXECUTIVE, link, "en")
    assert '<option value="yoy" selected>' in detail
    back = breadcrumb(detail)
    assert params(back)["compare"] == "yoy"
    assert params(back)["channel"] == "app"
    returned = page(kpi_clients, EXECUTIVE, back, "en")
    assert "vs same month last year" in card_html(returned, "revenue")
    assert "vs previous month" not in card_html(returned, "revenue")


def test_the_stage_rows_breakdown_link_keeps_the_view(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    board = page(kpi_clients, LEAD, "/stages?grain=month&end=2025-11-30&channel=app", "en")
    found = re.search(r'href="(/kpis/orders\?[^"]*by=channel)#breakdown"', board)
    assert found
    asked = params(unescape(found.group(1)))
    assert asked["grain"] == "month"
    assert asked["end"] == "2025-11-30"
    assert asked["channel"] == "app"
    assert asked["from"] == "stages"


def test_the_detail_opens_compared_with_the_previous_period(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    html = page(kpi_clients, ANALYST, "/kpis/revenue?grain=month&end=2025-11-30", "en")
    assert '<option value="previous" selected>' in html
    assert "vs previous month · Oct 2025: ₩" in text_of(html)
    none = page(kpi_clients, ANALYST, "/kpis/revenue?grain=month&compare=none", "en")
    assert '<option value="none" selected>' in none
    assert "vs previous month" not in text_of(none)
    assert current_menu(html) == "/kpis"  # opened from the catalog: the catalog


def test_a_dashboard_compares_as_the_view_asks(kpi_clients: dict[UserRole, TestClient]) -> None:
    html = page(kpi_clients, EXECUTIVE, "/scorecard?compare=yoy", "en")
    card = card_html(html, "revenue")
    assert "vs same month last year" in card
    assert "vs previous month" not in card
    default = page(kpi_clients, EXECUTIVE, "/scorecard", "en")
    assert '<option value="" selected>Previous period + Same period last year</option>' in default
    refused = kpi_clients[EXECUTIVE].get("/scorecard?compare=last_week")
    assert refused.status_code == 400
    assert "compare “last_week” cannot be used. Allowed: none, previous, yoy" in unescape(
        refused.text
    )


@pytest.mark.parametrize(
    ("grain", "start", "end", "compare", "tier"),
    [
        ("month", "2025-01-01", "2025-11-30", "previous", "cxo"),
        ("month", "2025-01-01", "2025-11-30", "yoy", "cxo"),
        ("week", "2025-09-01", "2025-12-28", "previous", "lead"),
        ("day", "2025-12-01", "2025-12-31", "last_week", "member:cs_agent"),
        ("day", "2025-12-01", "2025-12-31", "weekday_last_year", "member:cs_agent"),
    ],
)
def test_the_same_comparison_everywhere(
    kpi_clients: dict[UserRole, TestClient],
    targets_path: Path,
    capsys: pytest.CaptureFixture[str],
    grain: str,
    start: str,
    end: str,
    compare: str,
    tier: str,
) -> None:
    """Card (scorecard API), detail page, series API, CLI and CSV: one comparison value
    and one change for the last period."""
    client = kpi_clients[ANALYST]
    query = f"grain={grain}&start={start}&end={end}&compare={compare}"
    board = client.get(f"/api/v1/scorecard?tier={tier}&{query}").json()
    card = board["kpis"][0]
    kpi = card["kpi"]
    (change,) = card["changes"]
    assert change["comparison"] == compare
    assert change["value"] is not None, kpi
    assert change["change"] is not None, kpi
    # the detail page says the same, in words: "vs <comparison> · <period>: <value>"
    detail = text_of(page(kpi_clients, ANALYST, f"/kpis/{kpi}?{query}", "en"))
    english = LocaleFormat("en", "KRW", "Asia/Seoul")
    compared = english.period(date.fromisoformat(change["period_start"]), grain)
    value = english.value(change["value"], card["unit"])
    assert t("kpi.compared_with", "en", period=compared, value=value) in detail
    change_type = load_catalog().get(kpi).change_type
    assert english.change(change["change"], change_type, card["unit"]) in detail
    series = client.get(f"/api/v1/kpis/{kpi}/series?{query}").json()
    last = series["rows"][-1]
    assert last["period_start"] == board["period_start"]
    assert last["comparison_value"] == pytest.approx(change["value"])
    assert last["change"] == pytest.approx(change["change"])
    download = client.get(f"/kpis/{kpi}/csv?{query}")
    (row,) = [
        r
        for r in csv.DictReader(io.StringIO(download.text))
        if r["period_start"] == last["period_start"]
    ]
    assert float(row["comparison_value"]) == pytest.approx(change["value"])
    capsys.readouterr()
    asked = ["--grain", grain, "--start", start, "--end", end, "--compare", compare]
    code = run_cli("kpi", "query", kpi, *asked, "--format", "csv", "--warehouse", str(targets_path))
    out = capsys.readouterr().out
    assert code == 0
    assert out.replace("\r\n", "\n") == download.text.replace("\r\n", "\n")


def test_a_partial_period_is_marked_and_paced(kpi_clients: dict[UserRole, TestClient]) -> None:
    """December to the 10th: the page says so, and the cards' statuses are the engine's
    paced ones (revenue held to 10/31 of its target), not the whole month's."""
    html = page(kpi_clients, EXECUTIVE, "/scorecard?end=2025-12-10", "en")
    assert "Partial period: 10 of 31 days." in text_of(html)
    body = kpi_clients[EXECUTIVE].get("/api/v1/scorecard?end=2025-12-10").json()
    revenue = next(card for card in body["kpis"] if card["kpi"] == "revenue")
    whole = kpi_clients[EXECUTIVE].get("/api/v1/scorecard").json()
    full_target = next(card for card in whole["kpis"] if card["kpi"] == "revenue")["target"]
    assert revenue["target"] == round(full_target * 10 / 31)  # money paced stays whole
    assert "Partial period" not in text_of(page(kpi_clients, EXECUTIVE, "/scorecard", "en"))


def test_the_stage_board_counts_statuses_and_lists_off_target_first(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    html = page(kpi_clients, LEAD, "/stages", "en")
    body = kpi_clients[LEAD].get("/api/v1/scorecard?tier=lead").json()
    statuses = {card["kpi"]: card["status"] for card in body["kpis"]}
    first_stage = re.search(
        r'<section class="section stage" id="stage-([a-z_]+)".*?</section>', html, re.S
    )
    assert first_stage
    in_stage = re.findall(r'data-kpi="([a-z0-9_]+)"', first_stage.group(0))
    header = re.search(r"<h2 id=\"stage-[a-z_]+-title\">(.*?)</h2>", first_stage.group(0), re.S)
    assert header
    for status, words in (("red", "off target"), ("amber", "near target"), ("green", "on target")):
        count = sum(statuses[kpi] == status for kpi in in_stage)
        shown = f"{count} {words}" in text_of(header.group(1))
        assert shown == (count > 0), (status, count, text_of(header.group(1)))
    worst = page(kpi_clients, LEAD, "/stages?order=status", "en")
    stage = re.search(rf'id="stage-{first_stage.group(1)}".*?</section>', worst, re.S)
    assert stage
    ordered = [statuses[k] for k in re.findall(r'data-kpi="([a-z0-9_]+)"', stage.group(0))]
    rank = {"red": 0, "amber": 1, "green": 2, None: 3}
    assert ordered == sorted(ordered, key=lambda s: rank[s])
    assert sorted(ordered, key=str) == sorted((statuses[k] for k in in_stage), key=str)
    assert kpi_clients[LEAD].get("/stages?order=size").status_code == 400
