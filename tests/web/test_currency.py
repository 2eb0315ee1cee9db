"""Pages format money in the warehouse's own currency: a UK shop's revenue is in pounds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from omnikpi.auth import Role, UserRole
from omnikpi.ingest import ingest_preset
from omnikpi.settings import Settings
from omnikpi.web import create_app
from tests.ingest.conftest import FIXTURES, options
from tests.web.conftest import LOGIN_BY_ROLE, fixed_now, session_client, worker_store
from tests.web.test_pages import choose, text_of

#: The Online Retail fixture (data.csv) holds invoices of December 2010.
RANGE = "grain=month&start=2010-12-01&end=2010-12-31"


@pytest.fixture(scope="module")
def uk_analyst(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """An analyst signed in to the app over an Online Retail warehouse (Europe/London, GBP)."""
    settings = Settings(warehouse=tmp_path_factory.mktemp("uk") / "shop.duckdb")
    path = FIXTURES / "online_retail" / "data.csv"
    ingest_preset(settings, "online-retail", [path], options(max_error_rate=0.5))
    app = create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)
    analyst = LOGIN_BY_ROLE[UserRole(Role.ANALYST)]
    choose(app, analyst, "en")
    return session_client(app, analyst)


def test_an_online_retail_warehouse_shows_pounds(uk_analyst: TestClient) -> None:
    page = uk_analyst.get(f"/kpis/revenue?{RANGE}")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert "£" in text
    assert "₩" not in text
    assert "Money in GBP." in text
