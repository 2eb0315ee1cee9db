"""The API documentation page: Swagger UI, served from the package (no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.web.rendering import render
from omnikpi.web.security import requires

router = APIRouter(include_in_schema=False)


@router.get("/api/docs", openapi_extra=requires(Action.VIEW_API_DOCS))
def api_docs(request: Request) -> Response:
    """Interactive documentation of /api/v1, reading /api/v1/openapi.json."""
    return render(request, "api_docs.html", {"openapi_url": "/api/v1/openapi.json"})
