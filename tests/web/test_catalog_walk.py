"""Every KPI of the catalog opens on every page and API route, at every grain, for the
analyst, a team lead and a member: 200 wherever the role may open the KPI, an explained
400 (API, CSV) or note (page) at a grain finer than the KPI is reported at, never a 500.

Each URL is asked as each role in turn, so the roles share the app's cached results and
only the first pays for the KPI engine (about 0.3 s a query, most of it compiling Ibis).
Comparisons are taken in turn along the catalog (each grain's previous period, year
over year, same day last week, same weekday last year). By default every KPI is read at
every grain through the API series and the CSV, its detail
page opens (with the breakdown it usually shows) at one of its grains, taken in turn along
the catalog so each grain has pages, and lead KPIs' stage breakdown loads.
`OMNIKPI_CATALOG_WALK=full` asks everything of every KPI: the detail page at every grain,
and the page and series by each dimension it allows at every grain (about an hour on two
cores).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import UserRole, parse_role
from omnikpi.i18n import t
from omnikpi.kpi.periods import comparisons_at
from omnikpi.services import Grain, KpiSpec, load_catalog, visible_kpis
from tests.web.conftest import LOGIN_BY_ROLE
from tests.web.test_pages import choose, text_of

CATALOG = load_catalog()
ROLES = [parse_role(name) for name in ("analyst", "team_lead", "member:performance_marketer")]
LEAD = ROLES[1]
#: The KPIs each role may open, as the services decide.
VISIBLE = {role: {kpi.id for kpi in visible_kpis(CATALOG, role)} for role in ROLES}
#: Two or three periods of each grain at the end of the simulated data (2025-12-31).
RANGES: dict[Grain, tuple[str, str]] = {
    Grain.DAY: ("2025-12-29", "2025-12-31"),
    Grain.WEEK: ("2025-12-15", "2025-12-28"),
    Grain.MONTH: ("2025-11-01", "2025-12-31"),
    Grain.QUARTER: ("2025-07-01", "2025-12-31"),
    Grain.YEAR: ("2024-01-01", "2025-12-31"),
}
FULL_WALK = os.environ.get("OMNIKPI_CATALOG_WALK") == "full"


@dataclass(frozen=True)
class Check:
    """A URL and what it must answer: 200, or 400 naming the grain the KPI is reported at."""

    url: str
    status: int = 200
    #: Text the answer must hold (the explanation of a refusal or of a coarser grain).
    says: str | None = None


def view(grain: Grain, number: int = 0) -> str:
    """The view of `grain`, compared as the `number`-th KPI compares: the comparisons the
    grain has are taken in turn along the catalog, so each is asked of many KPIs."""
    start, end = RANGES[grain]
    choices = comparisons_at(grain)
    return f"grain={grain.value}&start={start}&end={end}&compare={choices[number % len(choices)]}"


def reported_note(grain: Grain) -> str:
    """The detail page's note for a view finer than the KPI's grain (in English)."""
    return t("detail.reported_grain", "en", grain=t(f"grains.{grain.value}", "en"))


def checks(kpi: KpiSpec, dimensions: list[str], number: int) -> Iterator[Check]:
    """What the walk asks of the `number`-th KPI of the catalog."""
    page, csv, series = f"/kpis/{kpi.id}", f"/kpis/{kpi.id}/csv", f"/api/v1/kpis/{kpi.id}/series"
    grains = [g for g in Grain if g.order >= kpi.min_grain.order]
    for grain in Grain:
        if grain.order < kpi.min_grain.order:
            refused = f"reported at {kpi.min_grain.value} grain or coarser (not {grain.value})"
            yield Check(f"{page}?{view(grain, number)}", says=reported_note(kpi.min_grain))
            yield Check(f"{csv}?{view(grain, number)}", 400, refused)
            yield Check(f"{series}?{view(grain, number)}", 400, refused)
            continue
        # The same request on every route: the CSV reuses the rows of the series or page.
        if FULL_WALK or grain is grains[number % len(grains)]:
            yield Check(f"{page}?{view(grain, number)}")
        yield Check(f"{series}?{view(grain, number)}")
        yield Check(f"{csv}?{view(grain, number)}")
    for dimension in dimensions if FULL_WALK else []:
        for grain in grains:
            yield Check(f"{page}?{view(grain, number)}&by={dimension}")
            yield Check(f"{series}?{view(grain, number)}&by={dimension}")


def answer(client: TestClient, check: Check) -> str | None:
    """What is wrong with the answer to `check` (None: nothing)."""
    try:
        response = client.get(check.url)
    except Exception as error:  # the test client re-raises what the app did not handle
        return f"500: {type(error).__name__}: {error}"
    body = response.text
    if response.status_code != check.status:
        first_lines = " | ".join(text_of(body).strip()[:400].splitlines()[:5])
        return f"{response.status_code} (expected {check.status}): {first_lines}"
    if check.says is not None and check.says not in text_of(body):
        return f"{response.status_code} without the explanation {check.says!r}"
    return None


def walk(clients: dict[UserRole, TestClient], kpi: KpiSpec) -> tuple[list[str], int]:
    """Every failing URL of one KPI for the roles that may open it, and the URLs asked."""
    roles = [role for role in ROLES if kpi.id in VISIBLE[role]]
    for role in roles:
        choose(clients[role].app, LOGIN_BY_ROLE[role], "en")  # type: ignore[arg-type]
    about = clients[roles[0]].get(f"/api/v1/kpis/{kpi.id}")
    assert about.status_code == 200, about.text[:400]
    dimensions: list[str] = about.json()["dimensions"]
    wanted = list(checks(kpi, dimensions, list(CATALOG.kpis).index(kpi.id)))
    if "lead" in kpi.tiers:
        wanted.append(Check(f"/stages/{kpi.id}/channels?grain=week"))
    failures, asked = [], 0
    for check in wanted:
        for role in roles:
            if check.url.startswith("/stages/") and role != LEAD:
                continue
            asked += 1
            problem = answer(clients[role], check)
            if problem is not None:
                failures.append(f"{role} GET {check.url} → {problem}")
    return failures, asked


@pytest.mark.slow
@pytest.mark.parametrize("kpi_id", list(CATALOG.kpis), ids=str)
def test_every_kpi_opens_at_every_grain_and_breakdown_for_each_role(
    kpi_clients: dict[UserRole, TestClient], kpi_id: str
) -> None:
    kpi = CATALOG.get(kpi_id)
    failures, asked = walk(kpi_clients, kpi)
    assert not failures, f"{len(failures)} of {asked} URLs failed:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ROLES[2:], ids=str)
def test_a_kpi_outside_the_roles_tiers_is_refused_on_every_route(
    kpi_clients: dict[UserRole, TestClient], role: UserRole
) -> None:
    hidden = [k for k in CATALOG.kpis.values() if k.id not in VISIBLE[role]]
    assert hidden
    client = kpi_clients[role]
    for kpi in hidden:
        for url in (
            f"/kpis/{kpi.id}?{view(Grain.MONTH)}",
            f"/kpis/{kpi.id}/csv?{view(Grain.MONTH)}",
            f"/api/v1/kpis/{kpi.id}/series?{view(Grain.MONTH)}",
        ):
            assert client.get(url).status_code == 403, url
