"""The audience pages and requests on the simulated retailer, whose demo saved and built
the audience `win-back-e-mail` (services.demo.DEMO_AUDIENCE): the list, the live preview
and the audience page show the services' numbers (the preview also against hand-written
SQL over the stored customer 360); exports need a purpose and are audited; a business-unit
user files a request, an analyst attaches the audience, and the business-unit user sees
it in aggregate — no customer id in the page or the API — and only their own unit's
requests; other roles get 403; posts without the CSRF token are refused.

Nothing here writes the shared warehouse (saving and building: test_browser_audiences.py,
on a copy); requests and audit entries go to the worker's own app-state store."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole, create_user, parse_role
from omnikpi.auth.audit import Actor, AuditEvent, audit_entries
from omnikpi.services.audience_pages import BuilderForm, ConditionRow, preview_sizes, read_form
from omnikpi.services.audiences import audience_profile, campaign_readout, list_audiences
from omnikpi.warehouse import Warehouse
from tests.web.conftest import LOGIN_BY_ROLE, NOW, csrf_cookie_token, session_client

ANALYST = UserRole(Role.ANALYST)
BU = UserRole(Role.BU_USER)
AUDIENCE = "win-back-e-mail"
#: Three conditions of the builder's form, and the same rule in SQL over the stored 360.
RULE = {
    "name": "Page check",
    "channel": "email",
    "combine": "all",
    "field_1": "days_since_last_order",
    "op_1": ">",
    "value_1": "60",
    "field_2": "orders",
    "op_2": ">=",
    "value_2": "2",
    "field_3": "segment",
    "op_3": "not_in",
    "value_3": "new, prospect",
}
RULE_SQL = (
    "SELECT count(*), count(*) FILTER (WHERE email_consent) FROM customer_profiles "
    "WHERE days_since_last_order > 60 AND orders >= 2 AND segment NOT IN ('new', 'prospect')"
)


def post(app: FastAPI, client: TestClient, path: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_cookie_token(app, client), **form})


def number(text: str) -> int:
    return int(re.sub(r"\D", "", html.unescape(text)))


def member_ids(sim_path: Path) -> list[str]:
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        rows = warehouse.fetch_rows(
            "SELECT customer_id FROM audience_members WHERE audience_id = ?", [AUDIENCE]
        )
    return [str(row[0]) for row in rows]


def test_the_list_shows_the_saved_audiences_with_their_sizes(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient]
) -> None:
    client = signed_in_clients[ANALYST]
    page = client.get("/audiences")
    assert page.status_code == 200
    assert 'href="/audiences"' in page.text  # the menu entry
    info = next(
        a
        for a in list_audiences(web_app.state.context.settings, Actor.cli())
        if a.audience_id == AUDIENCE
    )
    row = page.text.split(f'data-audience="{AUDIENCE}"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="num">([^<]*)', row)
    assert info.treated
    assert info.holdout
    assert number(cells[1]) == info.treated
    assert number(cells[2]) == info.holdout


def test_the_live_preview_answers_the_services_and_the_hand_written_sql(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], sim_path: Path
) -> None:
    client = signed_in_clients[ANALYST]
    response = post(web_app, client, "/audiences/preview", **RULE)
    assert response.status_code == 200
    size = int(re.search(r'id="preview-size" data-size="(\d+)"', response.text).group(1))  # type: ignore[union-attr]
    consented = int(re.search(r'id="preview-consented" data-size="(\d+)"', response.text).group(1))  # type: ignore[union-attr]
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        expected = warehouse.fetch_row(RULE_SQL)
    assert (size, consented) == expected
    assert 0 < consented < size
    rows = tuple(
        ConditionRow(RULE[f"field_{n}"], RULE[f"op_{n}"], RULE[f"value_{n}"]) for n in (1, 2, 3)
    )
    settings = web_app.state.context.settings
    _, definition = read_form(settings, BuilderForm(name="Page check", rows=rows))
    sizes = preview_sizes(settings, Actor.cli(), definition)
    assert (sizes.size, sizes.consented) == (size, consented)
    # NOT and any: the complement within everyone; a broken rule says where it is wrong
    negated = post(
        web_app, client, "/audiences/preview", **{**RULE, "negate": "yes", "channel": "none"}
    )
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        everyone = warehouse.fetch_value("SELECT count(*) FROM customer_profiles")
    assert f'data-size="{everyone - size}"' in negated.text
    broken = post(web_app, client, "/audiences/preview", **{**RULE, "value_2": "many"})
    assert "condition 2" in broken.text
    assert "not a number" in broken.text


def test_the_builder_form_without_save_previews_and_keeps_the_rule(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient]
) -> None:
    client = signed_in_clients[ANALYST]
    page = post(web_app, client, "/audiences/new", **RULE)
    assert page.status_code == 200
    assert 'id="preview-size"' in page.text
    assert 'value="new, prospect"' in page.text
    edit = client.get(f"/audiences/new?from={AUDIENCE}")
    assert "days_since_last_order" in edit.text
    assert 'value="Win-back e-mail"' in edit.text


def test_the_audience_page_shows_the_services_profile_and_readout(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient]
) -> None:
    client = signed_in_clients[ANALYST]
    settings = web_app.state.context.settings
    profile = audience_profile(settings, Actor.cli(), AUDIENCE)
    page = client.get(f"/audiences/{AUDIENCE}")
    assert page.status_code == 200
    for row in profile.means:
        assert f'data-customers="{row["customers"]}"' in page.text
    for row in profile.segments:
        cell = page.text.split(f'data-group="{row["group"]}" data-segment="{row["segment"]}"', 1)[1]
        assert number(cell.split('class="num">', 1)[1].split("<", 1)[0]) == row["customers"]
    # the win-back audience has not bought for 90 days: read out the half-year before that
    start, end = profile.as_of - timedelta(days=270), profile.as_of - timedelta(days=91)
    readout = campaign_readout(settings, Actor.cli(), AUDIENCE, start=start, end=end, cost=1000.0)
    shown = client.get(f"/audiences/{AUDIENCE}?start={start}&end={end}&cost=1000")
    rate = readout.conversion.treatment_rate
    assert f"{rate * 100:.2f}%" in shown.text
    quiet = client.get(
        f"/audiences/{AUDIENCE}?start={profile.as_of - timedelta(days=30)}&end={profile.as_of}"
    )
    assert 'id="readout-error"' in quiet.text  # nobody bought: said, not a failure
    for start, end, cost in (("0001-01-01", "0001-01-02", ""), ("2025-01-01", "2025-02-01", "inf")):
        odd = client.get(f"/audiences/{AUDIENCE}?start={start}&end={end}&cost={cost}")
        assert odd.status_code == 200
        assert 'id="readout-error"' in odd.text
    assert 'id="readout-verdict"' in shown.text
    verdict = (
        "worked"
        if readout.conversion.difference_ci_low > 0
        else "hurt"
        if readout.conversion.difference_ci_high < 0
        else "unclear"
    )
    assert f'data-verdict="{verdict}"' in shown.text
    assert f"{readout.treated:,}" in shown.text
    assert 'id="readout-roi"' in shown.text


def test_an_export_needs_a_purpose_and_is_audited(
    web_app: FastAPI, signed_in_clients: dict[UserRole, TestClient], sim_path: Path
) -> None:
    client = signed_in_clients[ANALYST]
    store = web_app.state.context.store
    refused = post(web_app, client, f"/audiences/{AUDIENCE}/export", group="treated", purpose=" ")
    assert refused.status_code == 400
    assert "purpose" in refused.text
    response = post(
        web_app, client, f"/audiences/{AUDIENCE}/export", group="treated", purpose="page check"
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    info = next(
        a
        for a in list_audiences(web_app.state.context.settings, Actor.cli())
        if a.audience_id == AUDIENCE
    )
    assert lines[0] == "customer_id"
    assert len(lines) - 1 == info.treated
    assert set(lines[1:]) <= set(member_ids(sim_path))
    entries = audit_entries(store, event=AuditEvent.CUSTOMER_EXPORT, limit=None)
    ours = [e for e in entries if e.purpose == "page check"]
    assert len(ours) == 1
    assert ours[0].row_count == info.treated
    assert ours[0].subject
    assert AUDIENCE in ours[0].subject


@pytest.mark.parametrize("role", ["team_lead", "executive", "member:merchandiser", "bu_user"])
def test_other_roles_get_403_on_the_audience_pages(web_app: FastAPI, role: str) -> None:
    with session_client(web_app, LOGIN_BY_ROLE[parse_role(role)]) as client:
        assert 'href="/audiences"' not in client.get("/home").text
        for path in ("/audiences", "/audiences/new", f"/audiences/{AUDIENCE}"):
            assert client.get(path).status_code == 403, path
        for path in (
            "/audiences/preview",
            f"/audiences/{AUDIENCE}/export",
            f"/audiences/{AUDIENCE}/build",
        ):
            response = post(web_app, client, path, purpose="x", confirm="yes", **RULE)
            assert response.status_code == 403, path
            assert "customer_id" not in response.text


def test_posts_without_the_csrf_token_are_refused(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    client = signed_in_clients[ANALYST]
    for path, form in (
        ("/audiences/preview", RULE),
        (f"/audiences/{AUDIENCE}/export", {"group": "treated", "purpose": "x"}),
        ("/audiences/requests", {"goal": "x", "idea": "y"}),
    ):
        response = client.post(path, data=form)
        assert response.status_code == 403, path
        assert "customer_id" not in response.text


def test_a_bu_user_sees_their_request_in_aggregate_and_never_its_customers(
    web_app: FastAPI, sim_path: Path
) -> None:
    store = web_app.state.context.store
    create_user(
        store,
        "bu_other_unit",
        "a long enough password",
        BU,
        business_unit="Fashion",
        check_strength=False,
        now=NOW,
    )
    bu = session_client(web_app, LOGIN_BY_ROLE[BU])
    analyst = session_client(web_app, LOGIN_BY_ROLE[ANALYST])
    other = session_client(web_app, "bu_other_unit")
    filed = post(
        web_app,
        bu,
        "/audiences/requests",
        goal="Lapsed buyers",
        idea="No order for 90 days",
        desired_size="900",
        timing="January",
    )
    assert filed.status_code == 200
    request_id = int(re.search(r'<span class="muted">#(\d+)</span>', filed.text).group(1))  # type: ignore[union-attr]
    assert 'id="request-waiting"' in filed.text
    assert (
        post(
            web_app, bu, f"/audiences/requests/{request_id}/attach", audience_id=AUDIENCE
        ).status_code
        == 403
    )
    unknown = post(web_app, analyst, f"/audiences/requests/{request_id}/attach", audience_id="nope")
    assert unknown.status_code == 400
    assert 'no audience "nope"' in html.unescape(unknown.text)
    attached = post(
        web_app,
        analyst,
        f"/audiences/requests/{request_id}/attach",
        audience_id=AUDIENCE,
        campaign_start="2025-12-01",
        campaign_end="2025-12-31",
    )
    assert attached.status_code == 200, attached.text

    page = bu.get(f"/audiences/requests/{request_id}")
    api = bu.get(f"/api/v1/audiences/requests/{request_id}")
    assert page.status_code == api.status_code == 200
    ids = member_ids(sim_path)
    assert len(ids) > 50
    for text in (page.text, api.text):
        assert not [customer for customer in ids if customer in text]
    bu_actor = Actor(LOGIN_BY_ROLE[BU], BU, None)
    profile = audience_profile(web_app.state.context.settings, bu_actor, AUDIENCE)
    assert api.json()["profile"]["groups"] == profile.means
    assert api.json()["profile"]["segments"] == profile.segments
    for row in profile.means:
        if row["customers"] is not None:
            assert f'data-customers="{row["customers"]}"' in page.text
    withheld = [row for row in profile.segments if row["customers"] is None]
    assert page.text.count('data-suppressed="small_cell"') >= len(withheld)
    # the BU user may not export or open the audience itself
    assert bu.get(f"/audiences/{AUDIENCE}").status_code == 403
    assert (
        post(web_app, bu, f"/audiences/{AUDIENCE}/export", group="treated", purpose="x").status_code
        == 403
    )
    # another unit sees neither the request nor its list entry
    assert other.get(f"/audiences/requests/{request_id}").status_code == 403
    assert other.get(f"/api/v1/audiences/requests/{request_id}").status_code == 403
    assert f'data-request="{request_id}"' not in other.get("/audiences/requests").text
    assert f'data-request="{request_id}"' in bu.get("/audiences/requests").text
    assert f'data-request="{request_id}"' in analyst.get("/audiences/requests").text
