"""The FastAPI application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from omnikpi import __version__
from omnikpi.model import TABLES
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def create_app(settings: Settings) -> FastAPI:
    """The app serving `settings.warehouse`."""
    app = FastAPI(title="omnikpi", version=__version__)

    @app.get("/", response_class=HTMLResponse)
    def tables(request: Request) -> HTMLResponse:
        with Warehouse.open(
            settings.warehouse, read_only=True, time_zone=settings.time_zone
        ) as warehouse:
            counts = warehouse.row_counts()
        described = {t.name: t.description for t in TABLES}
        rows = [(name, count, described.get(name, "")) for name, count in counts.items()]
        return TEMPLATES.TemplateResponse(
            request, "tables.html", {"rows": rows, "warehouse": settings.warehouse}
        )

    return app
