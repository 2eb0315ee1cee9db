"""The app's KPI engine: one per data version, shared by every request that is not served
from the cache, the warehouse file free between requests so `omnikpi targets import` (or a
load) can write it while the app runs, the next request reading what it wrote, and a 503
"try again" while another process writes."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import UserRole
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.conftest import run_cli
from tests.services.test_warehouse import writer
from tests.web.conftest import LOGIN_BY_ROLE, fixed_now, session_client, worker_store

ANALYST = UserRole("analyst")
#: Weekly revenue over December 2025: a series no other test of this app asks for.
SERIES = "/api/v1/kpis/revenue/series?grain=week&start=2025-12-01&end=2025-12-28"


@pytest.fixture
def copy_app(sim_path: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app on a writable copy of the simulated retailer."""
    path = tmp_path / "retailer.duckdb"
    shutil.copyfile(sim_path, path)
    settings = load_settings(warehouse=path)
    return create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)


@pytest.fixture
def analyst(copy_app: FastAPI) -> Iterator[TestClient]:
    client = session_client(copy_app, LOGIN_BY_ROLE[ANALYST])
    yield client
    client.close()


def page(client: TestClient, path: str) -> str:
    """The page at `path`, without the client's own CSRF token."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    return response.text.replace(token.group(1), "") if token else response.text


def targets(client: TestClient) -> list[object]:
    """The targets of weekly revenue in December 2025, by the API."""
    response = client.get(SERIES)
    assert response.status_code == 200, response.text
    return [row["target"] for row in response.json()["rows"]]


def test_requests_needing_the_engine_share_one(analyst: TestClient) -> None:
    engines = analyst.app.state.context.engines  # type: ignore[attr-defined]
    page(analyst, "/kpis/revenue?grain=week&end=2025-11-12")
    first = engines.current
    assert first is not None
    assert not first.warehouse.connected  # the request is over: the file is free
    page(analyst, "/kpis/revenue?grain=week&end=2025-11-19")  # a new period: not cached
    assert engines.current is first
    assert engines.built == 1


def test_a_target_import_while_the_app_runs_is_read_by_the_next_request(
    analyst: TestClient, tmp_path: Path
) -> None:
    app = analyst.app
    engines = app.state.context.engines  # type: ignore[attr-defined]
    before = targets(analyst)
    assert len(before) == 4
    assert 1e9 not in before
    plan = tmp_path / "plan.csv"
    plan.write_text("kpi,grain,period_start,target\nrevenue,week,2025-12-01,1000000000\n")
    warehouse = str(app.state.context.settings.warehouse)  # type: ignore[attr-defined]
    # The CLI writes in this very process, which DuckDB refuses while the app holds any
    # connection to the file: the app holds none between requests.
    assert run_cli("targets", "import", str(plan), "--warehouse", warehouse) == 0
    assert targets(analyst) == [1e9, *before[1:]]
    assert engines.built == 2  # the new data got a new engine


def test_concurrent_details_show_what_one_request_shows(copy_app: FastAPI) -> None:
    ends = [f"2025-10-{day:02d}" for day in range(6, 30, 3)]
    alone = session_client(copy_app, LOGIN_BY_ROLE[ANALYST])
    expected = {end: page(alone, f"/kpis/aov?grain=week&end={end}") for end in ends}
    alone.close()
    copy_app.state.context.results.clear()  # the same pages again, computed anew
    clients = {end: session_client(copy_app, LOGIN_BY_ROLE[ANALYST]) for end in ends}
    start = threading.Barrier(len(ends))
    found: dict[str, str] = {}

    def fetch(end: str) -> None:
        start.wait(timeout=60)
        found[end] = page(clients[end], f"/kpis/aov?grain=week&end={end}")

    threads = [threading.Thread(target=fetch, args=(end,)) for end in ends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for client in clients.values():
        client.close()
    assert found == expected
    assert copy_app.state.context.engines.built == 1


def test_while_another_process_writes_kpi_pages_say_to_try_again(analyst: TestClient) -> None:
    engines = analyst.app.state.context.engines  # type: ignore[attr-defined]
    analyst.cookies.set("omnikpi_locale", "en")
    page(analyst, "/kpis/revenue?grain=week&end=2025-11-12")  # the engine exists, file free
    with writer(analyst.app.state.context.settings.warehouse):  # type: ignore[attr-defined]
        busy = analyst.get("/kpis/revenue?grain=week&end=2025-11-19")
    assert busy.status_code == 503
    assert "Try again shortly" in busy.text
    page(analyst, "/kpis/revenue?grain=week&end=2025-11-19")  # the writer is gone
    assert engines.built == 2  # it may have changed the data: a new engine reads it
