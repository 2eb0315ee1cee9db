"""The FastAPI application: pages, the JSON API under /api/v1, static assets.

Everything the browser loads comes from this server: ECharts, htmx and Swagger UI are
vendored under `static/vendor/`, and the Content-Security-Policy forbids any other origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnikpi import __version__
from omnikpi.auth import AppStateStore, CookieSigner, app_state_path, secret_key
from omnikpi.auth.store import now_utc
from omnikpi.services import ResultCache, load_catalog
from omnikpi.services.collector import Collector, event_collector
from omnikpi.services.reader import SharedEngine
from omnikpi.services.writer import CommandRunner, announced, owned_warehouse
from omnikpi.settings import Settings
from omnikpi.web.context import WebContext
from omnikpi.web.errors import install_error_handlers
from omnikpi.web.routes import (
    admin_customers,
    api,
    docs,
    internal,
    kpi_api,
    kpi_pages,
    pages,
    session,
)
from omnikpi.web.routes.admin_users import router as admin_users_router
from omnikpi.web.routes.audience_pages import router as audience_pages_router
from omnikpi.web.routes.audit import router as audit_router
from omnikpi.web.routes.catchment_page import router as catchment_page_router
from omnikpi.web.routes.customer_pages import router as customer_pages_router
from omnikpi.web.routes.experiment_pages import router as experiment_pages_router
from omnikpi.web.routes.marketing_pages import router as marketing_pages_router
from omnikpi.web.routes.workspace_pages import router as workspace_pages_router
from omnikpi.web.security import authorize, requires, verify_csrf

STATIC_DIR = Path(__file__).parent / "static"

#: No script, style, font, image or connection from anywhere but this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """ASGI middleware: security headers on every response; pages and API are not cached
    unless the route says otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                cached = any(name.lower() == b"cache-control" for name, _ in headers)
                if not static and not cached:  # a route that chose its caching keeps it
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def collector_router(collector: Collector) -> APIRouter:
    """The collector's routes (`POST /collect`, `GET /collect.js`), declared public and
    free of CSRF checks: shops post events from their own sites, without cookies."""
    router = collector.router()
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.openapi_extra = requires(None, csrf=False)
    return router


def create_app(
    settings: Settings,
    *,
    store: AppStateStore | None = None,
    now: Callable[[], datetime] = now_utc,
    collector: Collector | None = None,
    own_warehouse: bool = False,
    handoff_port: int | None = None,
    commands: CommandRunner | None = None,
) -> FastAPI:
    """The app serving `settings.warehouse`, with users from its app-state store.

    `store` defaults to the SQLite file beside the warehouse; `now` is the clock;
    `collector` receives events at `POST /collect` (default: one logging beside the
    warehouse, loading it every few seconds while the app runs); with `own_warehouse`
    (as `omnikpi serve` runs it) the app keeps the warehouse open for writing while it
    runs, so its reads share the database its loads write (`owned_warehouse`); with
    `handoff_port` and `commands` too it announces itself beside the warehouse, so that the
    CLI hands its loads to the app's local endpoint on 127.0.0.1:`handoff_port`
    (`internal`), which runs them with `commands`.
    """
    state = store or AppStateStore.open(app_state_path(settings.warehouse))
    events = collector or event_collector(settings)
    catalog = load_catalog(settings.catalog_dirs)
    engines = SharedEngine(catalog, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as owner:
            if own_warehouse:
                owner.enter_context(owned_warehouse(settings))
                if handoff_port is not None and commands is not None:
                    app.state.handoff_token = owner.enter_context(announced(settings, handoff_port))
            events.start()
            try:
                yield
            finally:
                await run_in_threadpool(events.stop)
                engines.close()

    app = FastAPI(
        title="omnikpi",
        version=__version__,
        summary="KPIs of an omnichannel retailer. Authenticate with the session cookie or "
        "`Authorization: Bearer <token>` (see `omnikpi users token`).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authorize), Depends(verify_csrf)],
        lifespan=lifespan,
    )
    app.state.context = WebContext(
        settings=settings,
        store=state,
        signer=CookieSigner(secret_key(state)),
        now=now,
        catalog=catalog,
        results=ResultCache(),
        engines=engines,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = (session.router, pages.router, kpi_pages.router, api.router, kpi_api.router)
    for router in (*routers, admin_customers.router, docs.router, collector_router(events)):
        app.include_router(router)
    app.include_router(audit_router)
    app.include_router(catchment_page_router)  # before /customers/{customer_id}
    app.include_router(customer_pages_router)
    app.include_router(experiment_pages_router)
    app.include_router(marketing_pages_router)
    app.include_router(workspace_pages_router)
    app.include_router(audience_pages_router)
    app.include_router(admin_users_router)
    if own_warehouse and commands is not None:
        app.state.commands = commands
        app.include_router(internal.router)
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so on every error too
    return app
