"""The KPI API: the catalog, series and scorecards, for sessions and scoped tokens, with the
same services and permissions as the pages; and the event collector mounted in the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Action, AppStateStore, UserRole, create_api_token, parse_role
from omnikpi.ingest.collector import Collector
from omnikpi.kpi import load_catalog, query
from omnikpi.services.collector import collector_spool
from omnikpi.settings import load_settings
from omnikpi.web.app import create_app
from tests.web.conftest import NOW, fixed_now
from tests.web.kpi_targets import planted_status, tier_kpis
from tests.web.test_pages import choose

CATALOG = load_catalog()
TOTAL = len(CATALOG.kpis)  # every KPI, companions included
EXECUTIVE = parse_role("executive")
LEAD = parse_role("team_lead")
ANALYST = parse_role("analyst")
CS_AGENT = parse_role("member:cs_agent")
BU_USER = parse_role("bu_user")


def get(clients: dict[UserRole, TestClient], role: UserRole, url: str) -> dict | list:  # type: ignore[type-arg]
    response = clients[role].get(url)
    assert response.status_code == 200, response.text
    result: dict | list = response.json()  # type: ignore[type-arg]
    return result


def test_the_catalog_lists_what_the_caller_may_read(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    everything = get(kpi_clients, ANALYST, "/api/v1/kpis")
    assert len(everything) == TOTAL
    cxo = get(kpi_clients, CS_AGENT, "/api/v1/kpis?tier=cxo")
    assert [k["id"] for k in cxo] == [k.id for k in CATALOG.select(tier="cxo")]
    assert cxo[0]["name"] == {"en": "Visits (sessions)", "ko": CATALOG.get("visits").name.ko}
    mine = get(kpi_clients, CS_AGENT, "/api/v1/kpis")
    assert {k["id"] for k in mine} >= {k.id for k in CATALOG.select(tier="member:cs_agent")}
    assert "impressions" not in {k["id"] for k in mine}
    stage = get(kpi_clients, LEAD, "/api/v1/kpis?tier=lead&stage=delivery")
    assert [k["id"] for k in stage] == [k.id for k in CATALOG.select(tier="lead", stage="delivery")]
    refused = kpi_clients[CS_AGENT].get("/api/v1/kpis?tier=lead")
    assert refused.status_code == 400
    assert refused.json()["code"] == "bad_request"


def test_one_kpi_says_how_it_can_be_broken_down(kpi_clients: dict[UserRole, TestClient]) -> None:
    body = get(kpi_clients, ANALYST, "/api/v1/kpis/payment_type_share")
    assert isinstance(body, dict)
    assert body["share_of"] == "payment_method"
    assert body["channel_dimension"] == "channel"
    assert {"channel", "region", "member", "payment_method"} <= set(body["dimensions"])
    denied = kpi_clients[CS_AGENT].get("/api/v1/kpis/impressions")
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"


def test_a_series_is_the_engines_table(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path
) -> None:
    body = get(
        kpi_clients, ANALYST,
        "/api/v1/kpis/aov/series?grain=month&start=2025-01-01&end=2025-12-31&by=channel"
        "&region=Seoul&compare=yoy",
    )  # fmt: skip
    assert isinstance(body, dict)
    expected = query(
        "aov", "month", "2025-01-01", "2025-12-31", by=["channel"],
        filters={"region": ["Seoul"]}, compare="yoy", warehouse=targets_path,
    )  # fmt: skip
    assert body["columns"] == [str(c) for c in expected.columns]
    assert (body["grain"], body["compare"], body["filters"]) == (
        "month",
        "yoy",
        {"region": ["Seoul"]},
    )
    assert len(body["rows"]) == len(expected)
    for row, record in zip(body["rows"], expected.to_dict("records"), strict=True):
        assert row["period_start"] == record["period_start"].isoformat()
        assert row["dimensions"] == {"channel": record["channel"]}
        assert row["value"] == pytest.approx(record["value"])
        assert row["change"] == pytest.approx(record["change"])
        assert row["change_type"] == record["change_type"] == "relative"
        assert row["base"] == record["base"]  # AOV is taken over the channel's orders


def test_a_series_gives_a_ratios_parts_when_asked(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path
) -> None:
    asked = "grain=month&start=2025-11-01&end=2025-12-31&by=channel"
    body = get(kpi_clients, ANALYST, f"/api/v1/kpis/aov/series?{asked}&parts=true")
    assert isinstance(body, dict)
    expected = query(
        "aov", "month", "2025-11-01", "2025-12-31", by=["channel"], parts=True,
        warehouse=targets_path,
    )  # fmt: skip
    assert body["columns"] == [str(c) for c in expected.columns]
    assert "numerator" in body["columns"]
    for row, record in zip(body["rows"], expected.to_dict("records"), strict=True):
        assert row["numerator"] == pytest.approx(record["numerator"])  # revenue
        assert row["denominator"] == pytest.approx(record["denominator"])  # orders
        assert row["value"] == pytest.approx(record["numerator"] / record["denominator"])
    client = kpi_clients[ANALYST]
    download = client.get(f"/kpis/aov/csv?{asked}&parts=true").text.splitlines()[0]
    assert download.startswith("kpi,period_start,channel,value,numerator,denominator,")
    assert "numerator" not in client.get(f"/kpis/aov/csv?{asked}").text.splitlines()[0]
    refused = client.get(f"/api/v1/kpis/aov/series?{asked}&parts=maybe")
    assert refused.status_code in (400, 422)


def test_series_filters_and_their_mistakes(kpi_clients: dict[UserRole, TestClient]) -> None:
    body = get(kpi_clients, ANALYST, "/api/v1/kpis/complaint_ratio/series?grain=month"
               "&filter=region=Busan")  # fmt: skip
    assert isinstance(body, dict)
    assert body["filters"] == {"region": ["Busan"]}
    refused = kpi_clients[ANALYST].get(
        "/api/v1/kpis/complaint_ratio/series?grain=month&channel=web"
    )
    assert refused.status_code == 400
    assert 'dimension "channel" is not allowed for KPI "complaint_ratio"' in refused.json()["note"]
    unknown = kpi_clients[ANALYST].get("/api/v1/kpis/revenue/series?filter=region=Atlantis")
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unprocessable"
    assert 'region "Atlantis" does not exist (closest valid values:' in unknown.json()["note"]
    bad = kpi_clients[ANALYST].get("/api/v1/kpis/revenue/series?by=fax")
    assert bad.status_code == 400
    assert 'dimension "fax" is not allowed' in bad.json()["note"]
    malformed = kpi_clients[ANALYST].get("/api/v1/kpis/revenue/series?filter=region")
    assert malformed.status_code == 400
    assert "DIM=VALUE" in malformed.json()["detail"]


def test_a_series_too_large_or_out_of_the_calendar_is_a_translated_400(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    client = kpi_clients[ANALYST]
    choose(client.app, "analyst", "ko")  # type: ignore[arg-type]
    by = "&".join(f"by={d}" for d in ("channel", "store", "member", "region", "device"))
    refused = client.get(f"/api/v1/kpis/revenue/series?{by}")
    problem = refused.json()
    assert (refused.status_code, problem["code"]) == (400, "bad_request")
    assert problem["detail"] == (
        "이 요청은 5개 차원으로 나눕니다. 최대 3개까지 나눌 수 있습니다. "
        "차원을 줄이거나 일부는 필터로 지정하세요."
    )
    assert problem["note"].startswith("by asks for 5 dimensions (channel, store, member, region,")
    assert refused.headers["content-security-policy"].startswith("default-src 'self'")
    huge = client.get("/api/v1/kpis/revenue/series?grain=week&end=99999-01-01")
    assert huge.status_code == 400
    assert huge.json()["note"] == 'end "99999-01-01" is not valid (allowed: YYYY-MM-DD)'
    choose(client.app, "analyst", "en")  # type: ignore[arg-type]
    early = client.get("/api/v1/scorecard?tier=cxo&start=1899-12-31&end=1900-01-31")
    assert early.status_code == 400
    assert early.json()["detail"] == (
        "start “1899-12-31” cannot be used. Allowed: a day from 1900-01-01 to 2999-12-31"
    )


@pytest.mark.parametrize(
    ("role", "tier", "grain", "count"),
    [
        (EXECUTIVE, "cxo", "month", 10),
        (LEAD, "lead", "week", 47),
        (CS_AGENT, "member:cs_agent", "day", 9),
        (BU_USER, "cxo", "month", 10),
    ],
)
def test_each_role_gets_its_own_scorecard_by_default(
    kpi_clients: dict[UserRole, TestClient], role: UserRole, tier: str, grain: str, count: int
) -> None:
    body = get(kpi_clients, role, "/api/v1/scorecard")
    assert isinstance(body, dict)
    assert (body["tier"], body["grain"], len(body["kpis"])) == (tier, grain, count)
    assert body["data_through"] == "2025-12-31"


def test_the_scorecard_carries_values_targets_status_changes_and_trend(
    kpi_clients: dict[UserRole, TestClient], targets_path: Path
) -> None:
    body = get(kpi_clients, ANALYST, "/api/v1/scorecard?tier=cxo")
    assert isinstance(body, dict)
    assert (body["period_start"], body["period_end"]) == ("2025-12-01", "2025-12-31")
    december = query([k["kpi"] for k in body["kpis"]], "month", "2025-12-01", "2025-12-31",
                     compare="yoy", warehouse=targets_path)  # fmt: skip
    by_id = {r["kpi"]: r for r in december.to_dict("records")}
    planted = tier_kpis("cxo")
    for card in body["kpis"]:
        assert card["value"] == pytest.approx(by_id[card["kpi"]]["value"])
        assert card["status"] == planted_status(planted, card["kpi"])
        year = next(c for c in card["changes"] if c["comparison"] == "yoy")
        assert year["change"] == pytest.approx(by_id[card["kpi"]]["change"])
        assert len(card["trend"]) == 13


def test_a_tier_outside_the_permission_table_is_refused(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    response = kpi_clients[CS_AGENT].get("/api/v1/scorecard?tier=lead")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    unknown = kpi_clients[ANALYST].get("/api/v1/scorecard?tier=vip")
    assert unknown.status_code == 400


def test_tokens_read_kpis_only_with_the_read_kpis_scope(kpi_app: FastAPI) -> None:
    store = kpi_app.state.context.store
    _, reading = create_api_token(store, "lead", "BI", frozenset({Action.READ_KPIS}), now=NOW)
    _, other = create_api_token(
        store, "lead", "status", frozenset({Action.VIEW_DATA_STATUS}), now=NOW
    )
    client = TestClient(kpi_app)  # no lifespan: the collector stays off
    allowed = client.get("/api/v1/scorecard", headers={"Authorization": f"Bearer {reading}"})
    assert allowed.status_code == 200
    assert allowed.json()["tier"] == "lead"
    denied = client.get("/api/v1/kpis", headers={"Authorization": f"Bearer {other}"})
    assert denied.status_code == 403
    assert client.get("/api/v1/kpis").status_code == 401


def test_the_openapi_document_describes_the_kpi_endpoints(
    kpi_clients: dict[UserRole, TestClient],
) -> None:
    spec = get(kpi_clients, ANALYST, "/api/v1/openapi.json")
    assert isinstance(spec, dict)
    for path in ("/api/v1/kpis", "/api/v1/kpis/{kpi_id}", "/api/v1/kpis/{kpi_id}/series",
                 "/api/v1/scorecard"):  # fmt: skip
        operation = spec["paths"][path]["get"]
        assert operation["x-omnikpi-permission"] == "read_kpis"
    series = spec["paths"]["/api/v1/kpis/{kpi_id}/series"]["get"]
    names = {p["name"] for p in series["parameters"]}
    assert {"grain", "start", "end", "compare", "channel", "by", "filter"} <= names


def test_the_event_collector_is_mounted_without_sign_in_or_csrf(
    targets_path: Path, tmp_path: Path
) -> None:
    settings = load_settings(warehouse=targets_path)
    spool = tmp_path / "spool"  # the app's own log; no lifespan, so nothing is loaded
    app = create_app(
        settings, store=AppStateStore.open(tmp_path / "state.sqlite"), now=fixed_now,
        collector=Collector(settings, spool),
    )  # fmt: skip
    event = {
        "event_type": "page_view", "occurred_at": "2025-12-31T10:00:00+09:00",
        "visitor_id": "v-1", "session_id": "s-1", "device": "mobile", "page_path": "/",
    }  # fmt: skip
    client = TestClient(app)
    shop = {"Origin": "https://shop.example"}
    accepted = client.post("/collect", json={"events": [event]}, headers=shop)
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": 1}
    assert sum(f.stat().st_size for f in spool.rglob("*") if f.is_file()) > 0
    rejected = client.post("/collect", json={"events": [{"event_type": "page_view"}]})
    assert rejected.status_code == 400
    assert client.get("/collect.js").headers["content-type"].startswith("text/javascript")
    assert collector_spool(settings) == targets_path.with_name("targets.duckdb.collector")
