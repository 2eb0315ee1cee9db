"""Server-rendered pages: one Jinja environment, one `render` that every page goes through.

`render` hands each template the translation function `t`, the locale's formatters
`fmt`, the user, the menu, the CSRF token and the language switch, so templates never
format or translate on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from omnikpi import __version__
from omnikpi.auth import NotAuthenticated
from omnikpi.i18n import LOCALES, Locale, LocaleFormat, has_message, t
from omnikpi.services import change_tone
from omnikpi.web.context import web_context
from omnikpi.web.navigation import current_item, nav_item, navigation_for
from omnikpi.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    Principal,
    csrf_token,
    current_principal,
    request_locale,
    set_csrf_cookie,
)
from omnikpi.web.view_params import GRAINS, MEMBER_FILTERS, ORIGINS

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(
    static_version=__version__,
    change_tone=change_tone,
    has_message=has_message,
    view_grains=GRAINS,
    view_member_filters=MEMBER_FILTERS,
)
TEMPLATES.env.tests.update(
    moment=lambda value: isinstance(value, datetime),
    day=lambda value: isinstance(value, date) and not isinstance(value, datetime),
)


def _principal_or_none(request: Request) -> Principal | None:
    try:
        return current_principal(request)
    except NotAuthenticated:
        return None


def locale_format(request: Request, locale: Locale | None = None) -> LocaleFormat:
    """The formatters for the request's language, currency and time zone."""
    data = web_context(request).data_settings()
    return LocaleFormat(locale or request_locale(request), data.currency, data.time_zone)


def page_context(request: Request, locale: Locale | None = None) -> dict[str, Any]:
    """What every page template receives."""
    chosen = locale or request_locale(request)
    principal = _principal_or_none(request)
    nav = navigation_for(principal)
    current = current_item(request.url.path, nav)
    origin = request.query_params.get("from")
    if origin in ORIGINS and any(item.key == origin for item in nav):
        # A KPI detail opened from a dashboard: the menu keeps that dashboard.
        current = nav_item(origin)
    return {
        "locale": chosen,
        "locales": LOCALES,
        "t": partial(_translate, chosen),
        "fmt": locale_format(request, chosen),
        "principal": principal,
        "nav": nav,
        "current_nav": current.key if current else None,
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "csrf_token": csrf_token(request),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        # Small-cell suppression shows a withheld value as "<10" (macros/kpi.html).
        "min_cell_customers": web_context(request).settings.min_cell_customers,
    }


def render(
    request: Request,
    template: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    locale: Locale | None = None,
) -> Response:
    """The page `template` in the request's language, with the shared page context."""
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {**page_context(request, locale), **(values or {})},
        status_code=status_code,
    )
    set_csrf_cookie(request, response)
    return response


def render_fragment(
    request: Request, template: str, values: Mapping[str, Any] | None = None
) -> Markup:
    """A part of a page (no layout), rendered with the same context as `render`."""
    html = TEMPLATES.get_template(template).render({**page_context(request), **(values or {})})
    return Markup(html)


def _translate(locale: Locale, key: str, **params: object) -> str:
    return t(key, locale, **params)
