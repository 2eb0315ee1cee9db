"""Sign in, sign out and choose the language (usable before signing in)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from omnikpi.auth import authenticate, end_session, set_locale, start_session
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import LOCALES, is_locale, t
from omnikpi.web.context import web_context
from omnikpi.web.navigation import landing_page
from omnikpi.web.rendering import render
from omnikpi.web.security import (
    LOCALE_COOKIE,
    clear_session_cookie,
    current_principal,
    request_locale,
    requires,
    safe_next,
    session_token,
    set_locale_cookie,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


@router.get("/login", openapi_extra=requires(None))
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form; a signed-in user goes straight on."""
    if current_principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", openapi_extra=requires(None))
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the password, start a session, go where the user was heading (or, if nowhere,
    to the role's own page)."""
    context = web_context(request)
    user = authenticate(context.store, username, password) if username and password else None
    if user is None:
        error = t("login.failed", request_locale(request))
        values = {"next": safe_next(next), "error": error, "username": username}
        return render(request, "login.html", values, status_code=400)
    chosen = request.cookies.get(LOCALE_COOKIE)
    if user.locale is None and is_locale(chosen):
        set_locale(context.store, user.user_id, chosen)
    locale = user.locale or (chosen if is_locale(chosen) else None)
    target = safe_next(next)
    if target == "/":  # no page asked for: straight to the role's own (one redirect, not two)
        target = landing_page(user.role).path
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, start_session(context.store, user, now=context.now()))
    if locale is not None:
        set_locale_cookie(request, response, locale)
    return response


@router.post("/logout", openapi_extra=requires(None))
def logout(request: Request) -> Response:
    """End the session and show the sign-in form."""
    token = session_token(request)
    if token is not None:
        end_session(web_context(request).store, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/language", openapi_extra=requires(None))
def choose_language(request: Request, locale: str = Form(""), next: str = Form("/")) -> Response:
    """Switch the language; remembered for the user, and in the browser before sign-in."""
    if not is_locale(locale):
        raise InvalidChoice("locale", locale, ", ".join(LOCALES))
    principal = current_principal(request)
    if principal is not None:
        set_locale(web_context(request).store, principal.user.user_id, locale)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_locale_cookie(request, response, locale)
    return response
