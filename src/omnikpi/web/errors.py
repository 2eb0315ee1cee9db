"""Errors to HTTP, in one place: JSON problems (RFC 9457) for the API, pages for people.

Pages: not signed in → redirect to /login; denied → 403 page naming what the role may
not open; unknown → 404 page. API (/api/v1): the same as `application/problem+json`
with 401, 403, 404, ... Messages are translated; nothing internal is ever shown.

An unexpected exception is answered by `UnexpectedErrors`, a middleware inside the one that
adds the security headers: Starlette's own last-resort handler answers outside every
middleware (no security headers) and then re-raises, so the server drops the connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnikpi.auth import ActionDenied, NotAuthenticated
from omnikpi.errors import (
    InvalidChoice,
    NotFound,
    OmnikpiError,
    PermissionDenied,
    UnknownValue,
)
from omnikpi.i18n import Locale, format_number, t
from omnikpi.services import KpiDenied, WarehouseBusy
from omnikpi.services.errors import RequestTooLarge
from omnikpi.web.rendering import render
from omnikpi.web.security import CsrfFailed, is_api_request, request_locale

logger = logging.getLogger("omnikpi.web")

#: Codes of the problems the app returns, with their HTTP status.
PROBLEM_STATUS = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "unprocessable": 422,
    "internal": 500,
    "unavailable": 503,
}
_CODE_BY_STATUS = {status: code for code, status in PROBLEM_STATUS.items()}


@dataclass(frozen=True)
class Problem:
    """An error as users see it: a code (the title's key), a translated detail, and the
    error's own message as a technical note where it helps (never for unexpected errors)."""

    status: int
    code: str
    detail: str
    note: str | None = None


def describe(exc: OmnikpiError, locale: Locale) -> Problem:
    """The translated problem for one of our errors."""
    if isinstance(exc, ActionDenied):
        detail = t(
            "errors.forbidden.action",
            locale,
            role=t(f"roles.{exc.role.role}", locale),
            action=t(f"actions.{exc.action}", locale),
        )
        return Problem(403, "forbidden", detail)
    if isinstance(exc, KpiDenied):
        role = t(f"roles.{exc.role.role}", locale)
        if exc.kpi_id is not None:
            return Problem(
                403, "forbidden", t("errors.forbidden.kpi", locale, role=role, kpi=exc.kpi_id)
            )
        return Problem(
            403, "forbidden", t("errors.forbidden.tier", locale, role=role, tier=exc.tier)
        )
    if isinstance(exc, CsrfFailed):
        return Problem(403, "forbidden", t("errors.csrf", locale))
    if isinstance(exc, PermissionDenied):
        return Problem(403, "forbidden", t("errors.forbidden.message", locale))
    if isinstance(exc, NotAuthenticated):
        return Problem(401, "unauthenticated", t("errors.unauthenticated.message", locale))
    if isinstance(exc, InvalidChoice):
        detail = t(
            "errors.bad_param", locale, param=exc.param, value=exc.value, allowed=exc.allowed
        )
        return Problem(400, "bad_request", detail, str(exc))
    if isinstance(exc, UnknownValue):
        close = ", ".join(exc.suggestions) or "-"
        detail = t("errors.unknown_value", locale, param=exc.param, value=exc.value, close=close)
        return Problem(422, "unprocessable", detail, str(exc))
    if isinstance(exc, RequestTooLarge):
        key = "errors.too_many_dimensions" if exc.dimensions else "errors.too_many_cells"
        asked, limit = (format_number(n, locale) for n in (exc.asked, exc.limit))
        return Problem(400, "bad_request", t(key, locale, asked=asked, limit=limit), str(exc))
    if isinstance(exc, WarehouseBusy):
        return Problem(503, "unavailable", t("errors.unavailable.message", locale))
    code = "not_found" if isinstance(exc, NotFound) else _CODE_BY_STATUS.get(exc.http_status)
    code = code or "bad_request"
    return Problem(exc.http_status, code, t(f"errors.{code}.message", locale), str(exc))


def problem_response(request: Request, problem: Problem, locale: Locale) -> Response:
    """A JSON problem, or the error page, for `problem`."""
    if is_api_request(request):
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        body = {
            "type": "about:blank",
            "title": t(f"errors.{problem.code}.title", locale),
            "status": problem.status,
            "detail": problem.detail,
            "code": problem.code,
        }
        if problem.note:
            body["note"] = problem.note
        return JSONResponse(
            body, status_code=problem.status, headers=headers, media_type="application/problem+json"
        )
    values = {
        "problem": problem,
        "title": t(f"errors.{problem.code}.title", locale),
        "search": catalog_search(request, problem),
    }
    return render(request, "error.html", values, status_code=problem.status, locale=locale)


def catalog_search(request: Request, problem: Problem) -> str | None:
    """For a KPI address that does not exist (`/kpis/no_such_kpi`): what to search the
    catalog for."""
    parts = request.url.path.strip("/").split("/")
    if problem.status != 404 or len(parts) < 2 or parts[0] != "kpis":
        return None
    return parts[1].replace("_", " ").strip() or None


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


async def handle_omnikpi_error(request: Request, exc: Exception) -> Response:
    """OmnikpiError → problem; a page without sign-in → the login form."""
    assert isinstance(exc, OmnikpiError)
    # A part of a page loaded by htmx gets the 401 (the page then opens the login form,
    # see app.js), never the login form swapped into a table row.
    partial = request.headers.get("HX-Request") == "true"
    if isinstance(exc, NotAuthenticated) and not is_api_request(request) and not partial:
        return _sign_in_redirect(request)
    locale = request_locale(request)
    return problem_response(request, describe(exc, locale), locale)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Unknown path (404), wrong method (405) and other HTTP errors."""
    assert isinstance(exc, StarletteHTTPException)
    locale = request_locale(request)
    code = _CODE_BY_STATUS.get(exc.status_code, "bad_request")
    key = f"errors.{code}.message"
    return problem_response(request, Problem(exc.status_code, code, t(key, locale)), locale)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """Malformed parameters or bodies: which field, and what is wrong with it."""
    assert isinstance(exc, RequestValidationError)
    locale = request_locale(request)
    fields = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors())
    detail = t("errors.invalid_fields", locale, fields=fields)
    return problem_response(request, Problem(422, "unprocessable", detail), locale)


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    """Anything else: logged in full, shown as a plain 500 with nothing internal."""
    logger.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    locale = request_locale(request)
    return problem_response(
        request, Problem(500, "internal", t("errors.internal.message", locale)), locale
    )


class UnexpectedErrors:
    """ASGI middleware: an exception no handler took is answered here with the plain 500
    of `handle_unexpected_error`, and not raised further, so the response passes through
    the middlewares outside this one (security headers) and the connection stays open.
    Once a response has started (a download streaming) it can only be cut short."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if started:
                raise
            request = Request(scope, receive)
            try:
                response = await handle_unexpected_error(request, exc)
            except Exception:  # the error page itself failed: say so without it
                logger.exception("the error page failed on %s", request.url.path)
                response = PlainTextResponse("Internal Server Error", status_code=500)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`; add `UnexpectedErrors` before the middleware
    that adds security headers, so that one wraps it."""
    app.add_exception_handler(OmnikpiError, handle_omnikpi_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_middleware(UnexpectedErrors)
