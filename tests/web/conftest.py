"""The app on the shared simulated retailer, in-process and served on a loopback port."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from omnikpi.auth import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    AppStateStore,
    UserRole,
    create_demo_users,
    get_user,
    start_session,
)
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from omnikpi.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import SIM_END
from tests.prerequisites import require_chromium
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, OpenPage, assert_all_local
from tests.web.kpi_targets import shared_targets_copy

#: The app's clock in tests: the simulation ends 2025-12-31, so "yesterday" is its last day.
NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)

#: A demo login per role (the sim warehouse is built with `omnikpi demo`, which creates them).
LOGIN_BY_ROLE: dict[UserRole, str] = {login.role: login.username for login in DEMO_LOGINS}


def fixed_now() -> datetime:
    return NOW


def worker_store(tmp_path_factory: pytest.TempPathFactory) -> AppStateStore:
    """An app-state store with the demo users, private to this test worker: users' language
    and sessions change in tests, and parallel workers must not see each other's changes."""
    store = AppStateStore.open(tmp_path_factory.mktemp("state") / "state.sqlite")
    create_demo_users(store)
    return store


@pytest.fixture(scope="session")
def web_app(sim_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings = load_settings(warehouse=sim_path)
    return create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)


def csrf_from(html: str) -> str:
    """The CSRF token a rendered page put in its forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign `client` in through the login form, as a browser would."""
    client.cookies.delete(SESSION_COOKIE)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app, follow_redirects=False) as test_client:
        yield test_client


def session_client(app: FastAPI, username: str | None) -> TestClient:
    """A client with a session for `username` (None: signed out) and a CSRF cookie.

    The session is started in the store directly (the login form has its own tests), which
    skips the deliberately slow password check.
    """
    test_client = TestClient(app, follow_redirects=False)
    test_client.get("/login")  # sets the CSRF cookie
    if username is not None:
        context = app.state.context
        token = start_session(context.store, get_user(context.store, username), now=NOW)
        test_client.cookies.set(SESSION_COOKIE, context.signer.sign(token, "session"))
    return test_client


def csrf_cookie_token(app: FastAPI, test_client: TestClient) -> str:
    """The CSRF token of a client's cookie, as its forms would carry it."""
    token = app.state.context.signer.unsign(test_client.cookies[CSRF_COOKIE], "csrf", 3600)
    assert token is not None
    return str(token)


@pytest.fixture(scope="session")
def signed_in_clients(web_app: FastAPI) -> Iterator[dict[UserRole, TestClient]]:
    """One signed-in client per role."""
    clients = {role: session_client(web_app, name) for role, name in LOGIN_BY_ROLE.items()}
    yield clients
    for test_client in clients.values():
        test_client.close()


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port; yields its base URL.

    The socket is bound and listening before the server thread starts, so clients can
    connect at once (the kernel queues them until uvicorn accepts).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def live_server(web_app: FastAPI) -> Iterator[str]:
    """The app on the simulated retailer, served on a loopback port."""
    with serving(web_app) as url:
        yield url


@pytest.fixture(scope="session")
def targets_path(sim_path: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A copy of the simulated retailer with planted targets (see kpi_targets.py)."""
    return shared_targets_copy(sim_path, tmp_path_factory, worker_id, SIM_END)


@pytest.fixture(scope="session")
def kpi_app(targets_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app on the retailer with targets, so the KPI pages show every status."""
    settings = load_settings(warehouse=targets_path)
    return create_app(settings, store=worker_store(tmp_path_factory), now=fixed_now)


@pytest.fixture(scope="session")
def kpi_clients(kpi_app: FastAPI) -> Iterator[dict[UserRole, TestClient]]:
    """One signed-in client per role on the app with targets."""
    clients = {role: session_client(kpi_app, name) for role, name in LOGIN_BY_ROLE.items()}
    yield clients
    for test_client in clients.values():
        test_client.close()


@pytest.fixture(scope="session")
def kpi_server(kpi_app: FastAPI) -> Iterator[str]:
    """The app with targets, served on a loopback port."""
    with serving(kpi_app) as url:
        yield url


# -- the browser (Debian's chromium, driven by Playwright) ------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium(CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def requested() -> list[str]:
    """Every URL the browser requested during the test."""
    return []


@pytest.fixture
def base_url(live_server: str) -> str:
    """The server the test's pages open (a test may serve another app)."""
    return live_server


@pytest.fixture
def open_page(browser: Browser, base_url: str, requested: list[str]) -> Iterator[OpenPage]:
    """Open a page in a fresh browser (own cookies) of a given size and language."""
    contexts: list[BrowserContext] = []

    def open_new(
        path: str = "/login", *, viewport: dict[str, int] = DESKTOP, lang: str = "en-US"
    ) -> Page:
        context = browser.new_context(viewport=viewport, locale=lang, base_url=base_url)
        context.on("request", lambda request: requested.append(request.url))
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        return page

    yield open_new
    for context in contexts:
        context.close()
    assert_all_local(requested)
