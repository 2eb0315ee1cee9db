"""The marketing pages on the simulated retailer: the attribution page shows every model's
credit per channel as the service computes it (not typed here), the journey explorer and
the offline matching; small path groups are withheld below analysts; the RACE view shows
the channel KPIs as the KPI reader answers them; in Korean too; members and business-unit
users get 403. Route access by role is in test_routes.py."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole
from omnikpi.auth.roles import MemberRole
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import LocaleFormat
from omnikpi.services import CachedKpiReader, Grain
from omnikpi.services.marketing_pages import (
    MODELS,
    AttributionQuery,
    _withhold,
    attribution_page,
    parse_attribution_query,
    race_view,
)
from omnikpi.services.reader import data_version
from tests.web.test_pages import in_language

LEAD = UserRole(Role.TEAM_LEAD)
ANALYST = UserRole(Role.ANALYST)
EXECUTIVE = UserRole(Role.EXECUTIVE)


def cells(page: str, table: str) -> dict[tuple[str, str, str], str]:
    """(channel, model, value) → the text of the attribution table's cell."""
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in re.findall(r'<tr data-channel="([^"]+)">(.*?)</tr>', body, re.S):
        channel, inner = row
        for model, value, text in re.findall(
            r'data-model="([^"]+)" data-value="([^"]+)">([^<]*)<', inner
        ):
            found[(channel, model, value)] = html.unescape(text).strip()
    return found


def test_parse_query() -> None:
    assert parse_attribution_query({}) == AttributionQuery()
    query = parse_attribution_query(
        {"start": "2025-10-01", "end": "2025-12-31", "lookback": "14", "offline": "exclude"}
    )
    assert (query.lookback_days, query.include_offline, query.start.isoformat()) == (
        14,
        False,
        "2025-10-01",
    )
    with pytest.raises(InvalidChoice, match="lookback"):
        parse_attribution_query({"lookback": "11"})
    with pytest.raises(InvalidChoice, match="offline"):
        parse_attribution_query({"offline": "maybe"})


def test_withhold_small_groups() -> None:
    rows = [
        {"touches": 1, "journeys": 50, "conversions": 5},
        {"touches": 2, "journeys": 3, "conversions": 1},
        {"touches": 3, "journeys": 20, "conversions": 2},
    ]
    shown = _withhold(rows, "journeys", 10, complementary=True)
    assert [row["suppressed"] for row in shown] == [None, "small_cell", "complementary"]
    assert shown[1]["journeys"] is None
    assert shown[1]["conversions"] is None
    assert shown[2]["journeys"] is None
    assert shown[0]["journeys"] == 50
    alone = _withhold(rows, "journeys", 10, complementary=False)
    assert [row["suppressed"] for row in alone] == [None, "small_cell", None]


def test_attribution_page_shows_the_services_numbers(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    analyst = in_language(signed_in_clients, ANALYST, "en")
    response = analyst.get("/marketing/attribution")
    assert response.status_code == 200, response.text[:2000]
    settings = web_app.state.context.settings
    page = attribution_page(settings, ANALYST, AttributionQuery())
    assert page.models == MODELS
    data = web_app.state.context.data_settings()
    fmt = LocaleFormat("en", data.currency, data.time_zone)
    shown = {
        key: value
        for measure in ("conversions", "revenue", "share")
        for key, value in cells(response.text, f"attribution-{measure}").items()
    }
    assert {channel for channel, _, _ in shown} == set(page.channels)
    for model in MODELS:
        result = page.results[model]
        assert sum(c.conversions for c in result.channels) == pytest.approx(
            result.total_conversions
        )
        for credit in result.channels:
            assert shown[(credit.channel, model, "conversions")] == fmt.number(
                credit.conversions, 1
            )
            assert shown[(credit.channel, model, "share")] == fmt.percent(credit.share)
            assert shown[(credit.channel, model, "revenue")] == fmt.money(credit.revenue or 0)
    # the chart plots the same shares, one series per model
    chart = re.search(r"data-chart='([^']+)'", response.text)
    assert chart is not None
    assert chart.group(1).count('"name"') == len(MODELS)
    journeys = page.journeys
    assert f'data-value="journeys">{fmt.number(journeys.journeys)}<' in response.text
    assert f'data-value="converting">{fmt.number(journeys.converting)}<' in response.text
    assert page.offline is not None
    assert page.offline.store_orders > 0
    assert f'data-value="store_orders">{fmt.number(page.offline.store_orders)}<' in response.text
    assert page.minimum is None
    assert 'id="attribution-suppressed"' not in response.text
    # the note names the model behind ROAS: the demo keeps the default
    assert page.roas_model == "position"
    assert "ROAS in the KPI catalog credits revenue by one model: Position-based (" in response.text

    online = analyst.get("/marketing/attribution?offline=exclude&lookback=14")
    assert online.status_code == 200
    assert 'id="offline-left-out"' in online.text
    only = attribution_page(
        settings, ANALYST, AttributionQuery(lookback_days=14, include_offline=False)
    )
    assert only.results["last"].total_conversions < page.results["last"].total_conversions
    assert analyst.get("/marketing/attribution?lookback=11").status_code == 400


def test_attribution_withholds_small_path_groups_below_analysts(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    settings = web_app.state.context.settings
    every = attribution_page(settings, ANALYST, AttributionQuery())
    counts = sorted(row["journeys"] for row in every.journeys.lengths)
    # a minimum between the path lengths' sizes, so that some are withheld
    strict = replace(settings, min_cell_customers=counts[len(counts) // 2] + 1)
    page = attribution_page(strict, LEAD, AttributionQuery())
    assert page.minimum == strict.min_cell_customers
    for model in ("first", "markov"):  # the credit is not withheld
        credit = {c.channel: c.conversions for c in page.results[model].channels}
        assert credit == pytest.approx(
            {c.channel: c.conversions for c in every.results[model].channels}
        )
    shown = {row["touches"]: row for row in page.journeys.lengths}
    for row in every.journeys.lengths:
        kept = shown[row["touches"]]
        if row["journeys"] < strict.min_cell_customers:
            assert kept["suppressed"] == "small_cell"
            assert kept["journeys"] is None
            assert kept["conversions"] is None
        elif kept["suppressed"] is None:
            assert kept["journeys"] == row["journeys"]
    assert page.withheld > 0
    for row in page.journeys.top_paths:
        assert row["suppressed"] or row["journeys"] >= strict.min_cell_customers
    lead = in_language(signed_in_clients, LEAD, "ko").get("/marketing/attribution")
    assert lead.status_code == 200
    assert "기여도 분석" in lead.text


def test_race_view_shows_the_readers_values(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    executive = in_language(signed_in_clients, EXECUTIVE, "en")
    response = executive.get("/marketing?grain=month&start=2025-11-01&end=2025-11-30")
    assert response.status_code == 200, response.text[:2000]
    settings = web_app.state.context.settings
    data = web_app.state.context.data_settings()
    fmt = LocaleFormat("en", data.currency, data.time_zone)
    assert 'href="/marketing/attribution"' in response.text
    assert 'href="/experiments"' in response.text
    context = web_app.state.context
    reader = CachedKpiReader(
        context.catalog,
        settings,
        context.results,
        context.engines,
        data_version(settings.warehouse),
    )
    with reader:
        race = race_view(reader, EXECUTIVE, Grain.MONTH, date(2025, 11, 1), date(2025, 11, 30))
    assert "roas" in {item.kpi.id for step in race.steps for item in step.kpis}
    shown = 0
    for step in race.steps:
        for item in step.kpis:
            row = response.text.split(f'data-kpi="{item.kpi.id}"', 1)[1].split("</tr>", 1)[0]
            total = re.search(r'data-channel="">([^<]*)<', row)
            assert total is not None
            assert html.unescape(total.group(1)) == fmt.value(item.value, item.kpi.unit)
            for channel, value in item.by_channel.items():
                if channel in item.suppressed:
                    continue
                cell = re.search(rf'data-channel="{channel}">([^<]*)<', row)
                assert cell is not None
                assert html.unescape(cell.group(1)) == fmt.value(value, item.kpi.unit)
                shown += 1
    assert shown > 10
    korean = in_language(signed_in_clients, EXECUTIVE, "ko").get("/marketing")
    assert korean.status_code == 200
    assert "도달(Reach)" in korean.text


@pytest.mark.parametrize(
    "role", [UserRole(Role.BU_USER), UserRole(Role.MEMBER, MemberRole.CRM_MARKETER)], ids=str
)
def test_marketing_pages_refused(
    signed_in_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    client = signed_in_clients.get(role)
    if client is None:
        pytest.skip(f"no demo user of {role}")
    assert client.get("/marketing").status_code == 403
    assert client.get("/marketing/attribution").status_code == 403
