"""Every KPI × every role × every route that serves KPIs answers as the visibility rule
says (`omnikpi.auth.permissions.visible_kpi_ids`, docs/governance.md "Who sees what").

For each role: the catalog (API and page, and a search) lists exactly the KPIs it reads;
each of those opens (`/api/v1/kpis/ID`); each other KPI is refused with 403 on every route
that would serve it (definition, page, CSV, series, stage breakdown), a tier it may not
open is refused, and `omnikpi kpi show ID --role` refuses what the role does not read.
Values are computed for the visible KPIs by tests/web/test_catalog_walk.py.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import ALL_ROLES, UserRole, may_see_tier
from omnikpi.cli import main
from omnikpi.services import default_tier, load_catalog, tier_kpis, visible_kpis
from tests.web.conftest import LOGIN_BY_ROLE
from tests.web.test_pages import choose

CATALOG = load_catalog()
MONTH = "grain=month&start=2025-11-01&end=2025-12-31"


def english(clients: dict[UserRole, TestClient], role: UserRole) -> TestClient:
    client = clients[role]
    choose(client.app, LOGIN_BY_ROLE[role], "en")  # type: ignore[arg-type]
    return client


@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_each_route_serves_a_role_exactly_the_kpis_it_reads(
    kpi_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    client = english(kpi_clients, role)
    seen = [kpi.id for kpi in visible_kpis(CATALOG, role)]
    hidden = [kpi_id for kpi_id in CATALOG.kpis if kpi_id not in seen]
    assert seen

    listed = [body["id"] for body in client.get("/api/v1/kpis").json()]
    assert listed == seen
    page = client.get("/kpis").text
    assert set(re.findall(r'href="/kpis/([a-z0-9_]+)[?"]', page)) == set(seen)
    searched = {body["id"] for body in client.get("/api/v1/kpis?q=rate").json()}
    assert searched <= set(seen)
    assert searched  # "rate" names KPIs of every role's tiers
    for kpi_id in seen:
        assert client.get(f"/api/v1/kpis/{kpi_id}").status_code == 200, kpi_id

    refused = []
    for kpi_id in hidden:
        urls = [
            f"/api/v1/kpis/{kpi_id}",
            f"/api/v1/kpis/{kpi_id}/series?{MONTH}",
            f"/kpis/{kpi_id}?{MONTH}",
            f"/kpis/{kpi_id}/csv?{MONTH}",
            f"/stages/{kpi_id}/channels?grain=week",
        ]
        refused += [
            f"{url}: {code}" for url in urls if (code := client.get(url).status_code) != 403
        ]
    assert refused == []

    # The dashboards' cards are `tier_kpis` (tests/web/test_kpi_pages.py checks each page).
    assert {kpi.id for kpi in tier_kpis(CATALOG, role, default_tier(role))} <= set(seen)
    for other in ("cxo", "lead", "member:cs_agent"):
        if not may_see_tier(role, other):
            assert client.get(f"/api/v1/scorecard?tier={other}").status_code == 403, other


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r.role.value in ("bu_user", "member")])
def test_kpi_show_refuses_what_the_role_does_not_read(
    role: UserRole, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = {kpi.id for kpi in visible_kpis(CATALOG, role)}
    for kpi_id in [k for k in CATALOG.kpis if k not in seen][:5] + sorted(seen)[:2]:
        with pytest.raises(SystemExit) as exit_info:
            main(["kpi", "show", kpi_id, "--role", str(role)])
        assert (exit_info.value.code == 0) == (kpi_id in seen), (kpi_id, capsys.readouterr())
        capsys.readouterr()
