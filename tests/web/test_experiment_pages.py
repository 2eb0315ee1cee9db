"""The experiments pages on the simulated retailer: the list links every stored experiment;
a readout shows the verdict in words (the figures it names are the service's), the sample
ratio checked against the campaign's holdout share and the conversion lift; brand lift per
question; in Korean too; members get 403. Route access by role is in test_routes.py."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole, parse_role
from omnikpi.auth.audit import Actor
from omnikpi.i18n import LocaleFormat
from omnikpi.services.experiment_pages import Verdict, experiment_page
from omnikpi.web.routes.experiment_pages import verdict_text
from tests.web.conftest import LOGIN_BY_ROLE, session_client
from tests.web.test_pages import in_language

LEAD = UserRole(Role.TEAM_LEAD)
ANALYST = UserRole(Role.ANALYST)


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_verdict_in_words() -> None:
    fmt = LocaleFormat("en", "KRW", "Asia/Seoul")
    wins = Verdict("treatment_wins", "B", "A", 0.97, 0.021, 0.003, 0.039)
    assert (
        verdict_text(wins, fmt) == "B beats A with 97% probability; lift +2.1 pp [+0.3 pp, +3.9 pp]"
    )
    loses = Verdict("control_wins", "B", "A", 0.99, -0.02, -0.03, -0.01)
    assert verdict_text(loses, fmt).startswith("A beats B with 99% probability; B changes")
    korean = verdict_text(wins, LocaleFormat("ko", "KRW", "Asia/Seoul"))
    assert "97%" in korean
    assert "+2.1%p" in korean


def test_experiment_list_and_readout(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    lead = in_language(signed_in_clients, LEAD, "en")
    listing = lead.get("/experiments")
    assert listing.status_code == 200
    assert 'href="/experiments/EXP-CHECKOUT-1"' in listing.text
    assert 'href="/experiments/EXP-WINBACK-HOLDOUT"' in listing.text
    assert 'href="/experiments"' in listing.text  # the menu entry

    response = lead.get("/experiments/EXP-WINBACK-HOLDOUT")
    assert response.status_code == 200
    settings = web_app.state.context.settings
    actor = Actor(LOGIN_BY_ROLE[LEAD], LEAD, channel="page")
    page = experiment_page(settings, actor, "EXP-WINBACK-HOLDOUT")
    (verdict,) = page.verdicts
    shown = text(response.text)
    assert verdict_text(verdict, LocaleFormat("en", "KRW", "Asia/Seoul")) in shown
    assert 'data-verdict="treatment_wins"' in response.text
    assert 'id="srm-warning"' not in response.text
    assert page.srm_p_value is not None
    assert f"p = {page.srm_p_value:.4f}" in shown
    assert page.lift is not None
    (_, lift), *_ = page.lift.lifts
    assert lift.incremental_conversions.value is not None
    assert f"{lift.incremental_conversions.value:,.0f}" in shown
    assert "Incremental conversions" in shown


def test_brand_lift_page_and_korean(signed_in_clients: dict[UserRole, TestClient]) -> None:
    analyst = in_language(signed_in_clients, ANALYST, "en")
    response = analyst.get("/experiments/brand-lift")
    assert response.status_code == 200
    assert 'data-question="awareness"' in response.text
    assert "<h1>Brand lift</h1>" in response.text
    assert "Awareness" in text(response.text)
    client = in_language(signed_in_clients, ANALYST, "ko")
    korean = client.get("/experiments/brand-lift")
    assert "<h1>브랜드 리프트</h1>" in korean.text
    assert "인지도" in text(korean.text)
    assert "대조군 대비 각 처리군" in client.get("/experiments/EXP-CHECKOUT-1").text


def test_members_may_not_open_experiments(web_app: FastAPI) -> None:
    member = next(role for role in LOGIN_BY_ROLE if role.role is Role.MEMBER)
    with session_client(web_app, LOGIN_BY_ROLE[member]) as client:
        assert client.get("/experiments").status_code == 403
        assert client.get("/experiments/EXP-CHECKOUT-1").status_code == 403
    with session_client(web_app, LOGIN_BY_ROLE[parse_role("bu_user")]) as client:
        assert client.get("/experiments/brand-lift").status_code == 200
