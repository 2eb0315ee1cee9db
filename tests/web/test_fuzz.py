"""Every API route of /api/v1/openapi.json and every page, asked with extreme and malformed
parameters by signed-in people: never a 5xx, and never an answer over the request limits.

Hypothesis draws the requests (derandomized: the same ones every run): dates of year 1,
9999 or 99999, negative or in full-width digits, as well as the first and last days
allowed; ten `by`s, unknown KPIs and dimensions, repeated parameters, unicode and
very long text. The app runs with small limits (2 breakdown dimensions, 5,000 values) so
that they bind: an answer is either a clear 4xx or within them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnikpi.auth import parse_role
from omnikpi.kpi import load_catalog
from omnikpi.services import visible_kpis
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.web.conftest import fixed_now, session_client, worker_store
from tests.web.test_routes import api_routes

CATALOG = load_catalog()
MEMBER = "member_performance_marketer"
LEAD = "lead"
MAX_BY = 2
MAX_CELLS = 5_000
#: Requests per route, by how many of their parameters are made hostile: well-formed ones,
#: then hostile ones (deadline off: a query the cache has not seen takes seconds).
EXAMPLES = {0: 6, 2: 8}


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


#: Days with data, and the first and last days a request may name (1900-01-01, 2999-12-31).
DAYS = (
    "2025-12-31", "2025-12-01", "2025-10-06", "2025-01-01", "2024-09-08", "2016-01-02",
    "1900-01-01", "2999-12-31",
)  # fmt: skip
#: Days beyond every edge (the requests', the calendar's) and dates that are not dates.
BAD_DAYS = (
    "1899-12-31", "3000-01-01", "0001-01-01", "9999-12-31", "99999-01-01", "-2025-01-01",
    "2025-02-29", "2025-13-01", "2025-12-31T23:59", "20251231", "２０２５-１２-３１", "NaN",
    "1e309", "-1",
)  # fmt: skip
PERIODS = (
    "last-complete-week", "week-to-date", "last-13-weeks", "last-3660-days", "last-0-days",
    "last-999999-years", "last-10-years", "year-to-date", "last-complete-fortnight",
)  # fmt: skip
#: Text no parameter expects: markup, traversal, control characters, SQL, huge numbers.
GARBAGE = (
    "", " ", "../../etc/passwd", "<img src=x onerror=alert(1)>", "'; DROP TABLE orders; --",
    "\x00", "\t\r\n", "%00", "%ZZ", "null", "undefined", "[]", "{}", "9" * 400, "-9" * 40,
    "매출", "🛒" * 50, "a" * 5000,
)  # fmt: skip
TEXT = st.one_of(st.sampled_from(GARBAGE), st.text(max_size=40))
DIMENSIONS = tuple(CATALOG.dimensions)
#: The parameters of a view, which most requests carry; its dates are made hostile most.
VIEW = ("grain", "start", "end", "compare")
DATES = ("start", "end")
KPIS_OF_MEMBER = tuple(
    k.id for k in visible_kpis(CATALOG, parse_role("member:performance_marketer"))
)
#: KPI ids in paths: some the member may open (cxo, own tier), some not.
KPIS = (*KPIS_OF_MEMBER[:6], "revenue", "payment_type_share", "nps", "aov")
#: Each query parameter's meaningful values: a request of them is well-formed, but may
#: reach every edge (a day 1900-01-01, ten years by day, five breakdowns, a relative
#: period of 3,660 days).
PLAUSIBLE: dict[str, tuple[str, ...]] = {
    "grain": ("day", "week", "month", "quarter", "year"),
    "start": DAYS,
    "end": DAYS,
    "period": PERIODS,
    "compare": ("none", "previous", "yoy", "last_week", "weekday_last_year"),
    "channel": ("web", "app", "store", "marketplace"),
    "store": ("S001", "S002"),
    "region": ("Seoul", "Busan"),
    "member": ("all", "member", "non_member"),
    "by": ("channel", "store", "region", "member", "device", "product", "hour", "campaign"),
    "filter": ("channel=web", "channel=app", "store=S001", "member=member", "device=mobile"),
    "parts": ("true", "false"),
    "format": ("csv", "xlsx"),
    "layout": ("rows", "sheet"),
    "order": ("catalog", "status"),
    "tier": ("cxo", "lead", "member:performance_marketer"),
    "table": ("orders", "sessions", "events"),
    "stage": ("purchase", "loyalty"),
    "race": ("reach", "act", "-"),
    "function": ("sales", "service"),
    "from": ("scorecard", "stages", "my_kpis", "kpis"),
    "q": ("revenue", "매출", "conversion"),
}
#: What a hostile request adds: ids and values that do not exist, days beyond every edge,
#: text no parameter expects, names no route knows.
HOSTILE: dict[str, tuple[str, ...]] = {
    "kpi_id": ("no_such_kpi", "revenue,aov", "REVENUE", "..", ".", "%2e%2e"),
    "grain": ("hour", "DAY", "fortnight"),
    "start": BAD_DAYS,
    "end": BAD_DAYS,
    "by": (*DIMENSIONS, "fax"),
    "filter": ("channel", "=web", "channel=fax", "store=S999", "nosuch=1"),
    "tier": ("member:own", "member:*", "admin"),
    "format": ("pdf",),
    "table": ("users", "app_state"),
}


def plausible(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from(PLAUSIBLE[name])


def hostile(name: str) -> st.SearchStrategy[str]:
    """A value of parameter `name` that it cannot take: hostile, or any text."""
    return st.one_of(st.sampled_from(HOSTILE.get(name, GARBAGE)), TEXT)


@st.composite
def requests(draw: st.DrawFn, mistakes: int) -> tuple[str, list[tuple[str, str]]]:
    """A KPI id for the path and a query of well-formed parameters — often a view (grain,
    range, comparison), some others, up to three `by`s — with up to `mistakes` of them
    made hostile (a value it cannot take, a KPI that does not exist, a name no route knows,
    ten `by`s): one or two mistakes reach further into the app than many."""
    kpi_id = draw(st.sampled_from(KPIS))
    query = [(name, draw(plausible(name))) for name in VIEW if draw(st.booleans())]
    names = st.sampled_from(tuple(PLAUSIBLE))
    query += draw(
        st.lists(names.flatmap(lambda n: st.tuples(st.just(n), plausible(n))), max_size=3)
    )
    query += [("by", by) for by in draw(st.lists(plausible("by"), max_size=3, unique=True))]
    for _ in range(draw(st.integers(min_value=min(mistakes, 1), max_value=mistakes))):
        kind = draw(st.sampled_from(("value", "value", "kpi", "name", "by")))
        if kind == "kpi":
            kpi_id = draw(st.one_of(st.sampled_from(HOSTILE["kpi_id"]), TEXT))
        elif kind == "name":
            query.append((draw(TEXT), draw(TEXT)))
        elif kind == "by":
            query += [("by", by) for by in draw(st.lists(hostile("by"), min_size=4, max_size=10))]
        else:
            name = draw(st.sampled_from((*VIEW, *DATES, *DATES, "period", *PLAUSIBLE)))
            query = [pair for pair in query if pair[0] != name or draw(st.booleans())]
            query.append((name, draw(hostile(name))))
    return kpi_id, draw(st.permutations(query))


@pytest.fixture(scope="module")
def fuzz_app(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app on the simulated retailer with limits small enough to bind."""
    limited = replace(load_settings(warehouse=sim_path), max_by=MAX_BY, max_cells=MAX_CELLS)
    return create_app(limited, store=worker_store(tmp_path_factory), now=fixed_now)


@pytest.fixture(scope="module")
def clients(fuzz_app: FastAPI) -> Iterator[dict[str, TestClient]]:
    found = {name: session_client(fuzz_app, name) for name in (MEMBER, LEAD)}
    yield found
    for client in found.values():
        client.close()


def get_routes(app: FastAPI) -> list[str]:
    """The paths of every GET route: those /api/v1/openapi.json documents, and the pages."""
    documented = [path for path, item in app.openapi()["paths"].items() if "get" in item]
    pages = [
        path for path, route in api_routes(app) if "GET" in route.methods and path not in documented
    ]
    assert "/api/v1/kpis/{kpi_id}/series" in documented
    assert {"/kpis/{kpi_id}", "/kpis/{kpi_id}/csv", "/my-kpis/export", "/stages"} <= set(pages)
    return sorted({*documented, *pages})


def values_in(response: Any) -> int:
    """How many KPI values an answer holds (series rows, CSV rows, cards' points)."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/csv"):
        return max(0, len(list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))) - 1)
    if kind.startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and "rows" in body:
            return len(body["rows"])
        if isinstance(body, dict) and "kpis" in body:
            return sum(len(card["trend"]) + len(card["shares"]) for card in body["kpis"])
    return 0


def check(client: TestClient, path: str, query: list[tuple[str, str]]) -> None:
    """Ask; no 5xx, and nothing beyond the limits."""
    response = client.get(path, params=query)
    asked = f"GET {path} {query}"
    assert response.status_code < 500, f"{asked} → {response.status_code}: {response.text[:300]}"
    assert values_in(response) <= MAX_CELLS, asked
    if response.status_code == 200 and path.endswith("/series"):
        # The breakdown, and the dimension a share KPI splits into.
        assert len(response.json()["dimensions"]) <= MAX_BY + 1, asked
    if response.status_code == 400 and response.headers["content-type"].startswith("application"):
        assert response.json()["code"] == "bad_request", asked


#: Requests every route is asked besides those drawn: the issue's (a year-9999 end, a
#: year-1 range, four breakdowns by day over ten years, ten breakdowns).
EDGES: tuple[tuple[str, list[tuple[str, str]]], ...] = (
    ("revenue", [("end", "9999-12-31")]),
    ("revenue", [("grain", "week"), ("start", "0001-01-01"), ("end", "0001-01-31")]),
    ("revenue", [("grain", "day"), ("start", "2016-01-02"), ("end", "2025-12-31"),
                 *(("by", d) for d in ("channel", "store", "product", "campaign"))]),
    ("revenue", [("grain", "day"), ("start", "2016-01-02"), ("end", "2025-12-31")]),
    ("aov", [("by", d) for d in DIMENSIONS[:10]]),
    ("revenue", [("grain", "year"), ("start", "1900-01-01"), ("end", "1900-12-31"),
                 ("compare", "yoy")]),
    ("revenue", [("grain", "day"), ("start", "2999-12-01"), ("end", "2999-12-31"),
                 ("compare", "weekday_last_year")]),
)  # fmt: skip


def fuzz(client: TestClient, path: str) -> None:
    """Ask `path` (its `{kpi_id}` filled in) well-formed requests, then hostile ones, then
    the EDGES."""
    for mistakes, examples in EXAMPLES.items():

        @fuzz_settings(examples)
        @given(asked=requests(mistakes))
        def ask(asked: tuple[str, list[tuple[str, str]]]) -> None:
            kpi_id, query = asked
            check(client, path.replace("{kpi_id}", quote(kpi_id, safe="")), query)

        ask()
    for kpi_id, query in EDGES:
        check(client, path.replace("{kpi_id}", kpi_id), query)


def test_no_route_answers_a_member_with_a_5xx_or_beyond_the_limits(
    fuzz_app: FastAPI, clients: dict[str, TestClient]
) -> None:
    for path in get_routes(fuzz_app):
        fuzz(clients[MEMBER], path)


def test_no_dashboard_answers_a_team_lead_with_a_5xx_or_beyond_the_limits(
    fuzz_app: FastAPI, clients: dict[str, TestClient]
) -> None:
    """The scorecard and stage pages, which members may not open, as a team lead."""
    for path in get_routes(fuzz_app):
        if path.startswith(("/scorecard", "/stages")):
            fuzz(clients[LEAD], path)
