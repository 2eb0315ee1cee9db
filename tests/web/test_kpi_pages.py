"""What the KPI pages show each role, in both languages, with values from the KPI engine."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import AppStateStore, UserRole, create_demo_users, parse_role
from omnikpi.i18n import Locale, format_change, format_value
from omnikpi.kpi import load_catalog, query
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.web.conftest import LOGIN_BY_ROLE, fixed_now, session_client
from tests.web.kpi_targets import planted_status, tier_kpis
from tests.web.test_pages import choose, text_of

CATALOG = load_catalog()
TOTAL = len(CATALOG.kpis)  # every KPI, companions included
EXECUTIVE = parse_role("executive")
LEAD = parse_role("team_lead")
ANALYST = parse_role("analyst")
BU_USER = parse_role("bu_user")
MEMBERS = [parse_role(f"member:{job}") for job in (
    "cs_agent", "performance_marketer", "merchandiser", "crm_marketer", "site_operator",
    "logistics", "crm_loyalty",
)]  # fmt: skip
RAG = {"en": {"green": "On target", "amber": "Near target", "red": "Off target"},
       "ko": {"green": "목표 달성", "amber": "목표 근접", "red": "목표 미달"}}  # fmt: skip


def page(clients: dict[UserRole, TestClient], role: UserRole, url: str, locale: Locale) -> str:
    client = clients[role]
    choose(client.app, LOGIN_BY_ROLE[role], locale)  # type: ignore[arg-type]
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return response.text


def kpis_on(html: str) -> list[str]:
    """The KPI ids of the cards or rows a page shows, in order."""
    return re.findall(r'data-kpi="([a-z0-9_]+)"', html)


def card_html(html: str, kpi_id: str) -> str:
    found = re.search(rf'<article [^>]*data-kpi="{kpi_id}".*?</article>', html, re.S)
    assert found, kpi_id
    return found.group(0)


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_scorecard_shows_the_ten_cxo_kpis_with_values_targets_and_status(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path, locale: Locale
) -> None:
    html = page(kpi_clients, EXECUTIVE, "/scorecard", locale)
    cxo = [k.id for k in CATALOG.select(tier="cxo")]
    assert kpis_on(html) == cxo
    december = query(
        cxo, "month", "2025-12-01", "2025-12-31", compare="previous", warehouse=targets_path
    )
    planted = tier_kpis("cxo")
    for row in december.to_dict("records"):
        kpi = CATALOG.get(row["kpi"])
        card = text_of(card_html(html, kpi.id))
        assert (kpi.name.ko if locale == "ko" else kpi.name.en) in card
        assert format_value(row["value"], kpi.unit, locale, currency="KRW") in card
        assert format_value(row["target"], kpi.unit, locale, currency="KRW") in card
        change = format_change(row["change"], locale, change_type=row["change_type"], unit=kpi.unit)
        assert change in card
        assert RAG[locale][planted_status(planted, kpi.id)] in card
    heading = "2025년 12월" if locale == "ko" else "Dec 2025"
    assert f'<h2 class="periodbar__period">{heading}' in html
    assert html.count('class="chart chart--spark"') == 10


def test_the_stage_dashboard_lays_the_lead_kpis_out_by_stage(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    html = page(kpi_clients, LEAD, "/stages", "en")
    headings = re.findall(r'<h2 id="stage-([a-z_]+)-title">', html)
    assert headings == ["awareness", "browsing", "purchase", "delivery", "after_sales", "loyalty"]
    assert kpis_on(html) == [k.id for k in CATALOG.select(tier="lead")]
    text = text_of(html)
    assert "Week of Dec 22, 2025" in text
    assert "vs previous week" in text
    assert "vs same week last year" in text
    assert "By Marketing channel" in text  # impressions
    assert "By Service channel" in text  # tickets
    assert "No channel breakdown" in text  # e.g. customer lifetime value
    payment = re.search(r'data-kpi="payment_type_share".*?</tr>', html, re.S)
    assert payment
    assert "Share by Payment method" in text_of(payment.group(0))
    assert "Mobile pay" in text_of(payment.group(0))
    clv = re.search(r'data-kpi="clv".*?</tr>', html, re.S)
    assert clv
    assert "No data" in text_of(clv.group(0))


def test_a_channel_breakdown_loads_on_demand(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path
) -> None:
    html = page(kpi_clients, LEAD, "/stages/orders/channels", "en")
    week = query(
        "orders", "week", "2025-12-22", "2025-12-28", by=["channel"], warehouse=targets_path
    )
    text = text_of(html)
    assert "Orders by Sales channel, Week of Dec 22, 2025" in text
    for row in week.to_dict("records"):
        label = {"web": "Web", "app": "App", "store": "Store", "marketplace": "Marketplace",
                 "call": "Call centre"}[row["channel"]]  # fmt: skip
        assert f"{label} {format_value(row['value'], 'count', 'en', currency='KRW')}" in text
    assert "<html" not in html  # a fragment for htmx, not a page


@pytest.mark.parametrize("role", MEMBERS, ids=str)
def test_each_member_sees_exactly_the_kpis_of_their_role(
    kpi_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    html = page(kpi_clients, role, "/my-kpis", "ko")
    assert kpis_on(html) == [k.id for k in CATALOG.select(tier=f"member:{role.member_role}")]
    assert "전주 같은 요일 대비" in text_of(html)
    assert "2025년 12월 31일" in text_of(html)


def test_the_kpi_detail_explains_the_kpi_in_both_languages(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    html = page(
        kpi_clients, ANALYST, "/kpis/conversion_rate?grain=month&compare=yoy&by=device", "en"
    )
    kpi = CATALOG.get("conversion_rate")
    text = text_of(html)
    assert kpi.definition.en in text
    assert kpi.definition.ko in text
    assert "Compiled query (DuckDB)" in text
    assert "SELECT" in html
    assert "Formula" in text
    trend = re.search(r"class=\"chart chart--trend\" data-chart='([^']+)'", html)
    assert trend
    assert '"role": "target"' in trend.group(1)
    assert '"role": "comparison"' in trend.group(1)
    assert "Conversion rate (visit to purchase) by Device, Dec 2025" in text
    assert re.search(r"Desktop \d+\.\d%", text)
    assert 'href="/kpis/conversion_rate/csv?' in html


def test_the_csv_download_has_the_engines_rows(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path
) -> None:
    client = kpi_clients[ANALYST]
    response = client.get(
        "/kpis/aov/csv?grain=month&start=2025-07-01&end=2025-12-31&compare=yoy&by=channel"
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        'filename="aov_month_by_channel_2025-07-01_2025-12-31.csv"'
        in response.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = query("aov", "month", "2025-07-01", "2025-12-31", by=["channel"], compare="yoy",
                     warehouse=targets_path)  # fmt: skip
    assert len(rows) == len(expected) == 6 * 5
    for row, record in zip(rows, expected.to_dict("records"), strict=True):
        assert row["period_start"] == record["period_start"].isoformat()
        assert row["channel"] == record["channel"]
        assert float(row["value"]) == pytest.approx(record["value"])


def test_filters_that_do_not_apply_to_a_kpi_say_so(kpi_clients: dict[UserRole, TestClient]) -> None:
    html = page(kpi_clients, EXECUTIVE, "/scorecard?channel=app", "en")
    assert "Not split by Sales channel: the total is shown, without a status." in text_of(
        card_html(html, "complaint_ratio")
    )
    assert "Not split by" not in text_of(card_html(html, "orders"))
    assert '<option value="app" selected>App</option>' in html


@pytest.mark.parametrize(
    ("role", "url", "message"),
    [
        (MEMBERS[0], "/kpis/impressions", "As Team member, you may not open the KPI “impressions”"),
        (MEMBERS[0], "/kpis/impressions/csv", "you may not open the KPI “impressions”"),
        (MEMBERS[0], "/stages", "you may not open the stage dashboards"),
        (BU_USER, "/kpis/backlog", "As Business-unit user, you may not open the KPI “backlog”"),
        (EXECUTIVE, "/my-kpis", "you may not open “My KPIs”"),
    ],
)
def test_kpis_outside_the_roles_tiers_are_refused(
    kpi_clients: dict[UserRole, TestClient], role: UserRole, url: str, message: str
) -> None:
    client = kpi_clients[role]
    choose(client.app, LOGIN_BY_ROLE[role], "en")  # type: ignore[arg-type]
    response = client.get(url)
    assert response.status_code == 403
    assert message in text_of(response.text)


def test_the_catalog_searches_both_languages_and_shows_only_what_the_role_may_open(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    analyst = page(kpi_clients, ANALYST, "/kpis", "en")
    assert f"{TOTAL} of {TOTAL} KPIs" in text_of(analyst)
    korean = page(kpi_clients, ANALYST, "/kpis?q=평균+주문", "ko")
    assert f"KPI {TOTAL}개 중 1개" in text_of(korean)
    assert 'href="/kpis/aov"' in korean
    member = page(kpi_clients, MEMBERS[0], "/kpis?stage=after_sales", "en")
    assert 'href="/kpis/backlog"' in member
    assert 'href="/kpis/debt_collection_rate"' not in member  # a lead KPI
    lead_only = kpi_clients[MEMBERS[0]].get("/kpis?tier=lead")
    assert lead_only.status_code == 400


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("/scorecard?grain=fortnight", 400, "grain “fortnight” cannot be used"),
        ("/kpis/revenue?by=fax", 400, "by “fax” cannot be used. Allowed: "),
        ("/kpis?race=plan", 400, "race “plan” cannot be used. Allowed: reach, act, convert"),
        ("/kpis/no_such_kpi", 404, "There is nothing at this address"),
        ("/scorecard?store=S999", 422, "store “S999” does not exist. Closest valid values: S0"),
        ("/kpis/revenue?channel=nosuch", 422, "channel “nosuch” does not exist. Closest"),
        (
            "/kpis/revenue?end=9999-12-31",
            400,
            "end “9999-12-31” cannot be used. Allowed: a day from 1900-01-01 to 2999-12-31",
        ),
        ("/scorecard?start=0001-01-01", 400, "start “0001-01-01” cannot be used. Allowed: a day"),
        ("/stages?grain=day&start=2025-12-01&end=3000-01-01", 400, "end “3000-01-01” cannot be"),
        (
            "/kpis/revenue/csv?by=channel&by=store&by=member&by=region",
            400,
            "This request breaks down by 4 dimensions; at most 3 are allowed. Break down by fewer",
        ),
    ],
)
def test_bad_addresses_explain_themselves(
    kpi_clients: dict[UserRole, TestClient], url: str, status: int, text: str
) -> None:
    client = kpi_clients[ANALYST]
    choose(client.app, "analyst", "en")  # type: ignore[arg-type]
    response = client.get(url)
    assert response.status_code == status
    assert text in text_of(response.text)


def test_a_page_asking_for_more_values_than_allowed_is_refused_before_it_reads(
    targets_path: Path, tmp_path: Path
) -> None:
    settings = replace(load_settings(warehouse=targets_path), max_cells=100)
    store = AppStateStore.open(tmp_path / "state.sqlite")
    create_demo_users(store)
    app = create_app(settings, store=store, now=fixed_now)
    with session_client(app, "analyst") as client:
        choose(app, "analyst", "en")
        view = "grain=day&start=2025-12-01&end=2025-12-31"
        assert client.get(f"/kpis/revenue?{view}&by=channel").status_code == 200
        # One day by each of 300 products (and orders of none): 301 values.
        refused = client.get(f"/kpis/revenue?{view}&by=product")
        assert client.get(f"/kpis/revenue/csv?{view}&by=product").status_code == 400
    assert refused.status_code == 400
    assert (
        "This request asks for up to 301 values; at most 100 are allowed. Choose a coarser "
        "grain, a shorter range, fewer KPIs or fewer dimensions, or add a filter."
    ) in text_of(refused.text)
    assert "(1 day × 1 KPI × 301 product values)" in text_of(refused.text)  # the note


def test_cached_pages_follow_the_data(kpi_clients: dict[UserRole, TestClient]) -> None:
    """The second request of a page is served from the cache: same page, no new query."""
    client = kpi_clients[EXECUTIVE]
    first = client.get("/scorecard?end=2025-11-30").text
    results = client.app.state.context.results  # type: ignore[attr-defined]
    cached = len(results)
    assert client.get("/scorecard?end=2025-11-30").text == first
    assert len(results) == cached
    assert 'value="2025-11-30"' in first


def test_an_unknown_kpi_offers_a_catalog_search(kpi_clients: dict[UserRole, TestClient]) -> None:
    client = kpi_clients[ANALYST]
    choose(client.app, "analyst", "en")  # type: ignore[arg-type]
    response = client.get("/kpis/conversion_rat")
    assert response.status_code == 404
    found = re.search(
        r'href="(/kpis\?q=[^"]+)">Search the KPI catalog for “conversion rat”', response.text
    )
    assert found, text_of(response.text)
    results = client.get(found.group(1))
    assert results.status_code == 200
    assert 'href="/kpis/conversion_rate"' in results.text
