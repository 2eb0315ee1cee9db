"""`/customers/catchment` on the simulated retailer: the page shows the service's numbers
(5 km around Seoul City Hall) as side-by-side charts and tables, withholds small cells
from a team lead, says what is wrong with a request, and is closed to the roles without
customer aggregates."""

from __future__ import annotations

import html as markup
import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole
from omnikpi.auth.audit import Actor
from omnikpi.services.catchment import CatchmentRequest, catchment_analysis
from tests.web.conftest import LOGIN_BY_ROLE

ANALYST = UserRole(Role.ANALYST)
LEAD = UserRole(Role.TEAM_LEAD)
CITY_HALL = "/customers/catchment?lat=37.5663&lon=126.9779&radius_km=5"


def cells(page: str, table_id: str) -> list[str]:
    """The text of every body cell of the table `table_id`."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert table, f"no table #{table_id}"
    body = table.group(0).split("<tbody>", 1)[1]
    raw = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in raw]


def chart(page: str, chart_id: str) -> dict[str, Any]:
    found = re.search(rf'id="{chart_id}"[^>]*data-chart=\'([^\']*)\'', page)
    assert found, f"no chart #{chart_id}"
    spec: dict[str, Any] = json.loads(markup.unescape(found.group(1)))
    return spec


def test_the_page_shows_the_service_s_catchment(
    signed_in_clients: dict[UserRole, TestClient], web_app: FastAPI
) -> None:
    response = signed_in_clients[ANALYST].get(CITY_HALL)
    assert response.status_code == 200
    page = response.text
    answer = catchment_analysis(
        web_app.state.context.settings,
        Actor(LOGIN_BY_ROLE[ANALYST], ANALYST),
        CatchmentRequest(37.5663, 126.9779, radius_km=5),
    )
    inside, every = answer.summary["catchment"], answer.summary["all"]
    assert 0 < inside["customers"] < every["customers"]  # the simulator places homes
    summary = cells(page, "catchment-summary")
    digits = [re.sub(r"\D", "", text) for text in summary[:3]]
    assert digits[1:] == [str(inside["customers"]), str(every["customers"])]
    # The channel charts: two series (catchment, all) of the service's shares.
    spec = chart(page, "catchment-chart-channels-revenue_share")
    assert spec["kind"] == "hbar"
    channels = answer.facets["channels"]
    assert [s["values"] for s in spec["series"]] == [
        [row["catchment_revenue_share"] for row in channels],
        [row["all_revenue_share"] for row in channels],
    ]
    bands = chart(page, "catchment-chart-distance_bands-share")
    assert len(bands["labels"]) == 4
    assert sum(bands["series"][0]["values"]) == pytest.approx(1.0)
    # The sub-menu of the customer pages leads here.
    assert 'href="/customers/catchment" aria-current="page"' in page


def test_a_team_lead_sees_small_cells_withheld(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    # 300 m around City Hall: a handful of customers, fewer than 10.
    page = signed_in_clients[LEAD].get(CITY_HALL.replace("radius_km=5", "radius_km=0.3")).text
    summary = cells(page, "catchment-summary")
    assert "&lt;10" in summary[1]  # the catchment's customers, withheld
    assert 'data-suppressed="small_cell"' in page
    assert 'id="customers-suppressed"' in page


def test_a_bad_request_is_said_on_the_page(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    client = signed_in_clients[ANALYST]
    page = client.get("/customers/catchment?store=S999&radius_km=5").text
    error = re.search(r'id="catchment-error">(.*?)</p>', page, re.S)
    assert error
    assert "store &#34;S999&#34; does not exist" in error.group(1)
    assert "S001" in error.group(1)  # valid ids are listed
    page = client.get("/customers/catchment?lat=north&lon=127&radius_km=5").text
    assert "latitude &#34;north&#34; is not valid (allowed: a number)" in page
    # Without a location the form asks for one; nothing is computed.
    page = client.get("/customers/catchment").text
    assert 'id="catchment-empty"' in page
    assert 'id="catchment-summary"' not in page


def test_roles_without_customer_aggregates_get_403(
    signed_in_clients: dict[UserRole, TestClient],
) -> None:
    for role, client in signed_in_clients.items():
        status = client.get("/customers/catchment").status_code
        expected = (
            200 if role.role in {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN} else 403
        )
        assert status == expected, role
