"""Sign in, sign out and choose the language (usable before signing in).

Failed sign-ins are limited per account and per client address (`omnikpi.auth.throttle`):
an attempt that must wait gets the form again with 429 and Retry-After, before any
password is checked; when too many passwords are being checked at once, 503.

A temporary password (an admin reset it) starts no session: the user gets a form to choose
their own, carrying a signed ticket of that temporary password, valid for
`PASSWORD_TICKET_SECONDS` and once (`POST /login/password`).
"""

from __future__ import annotations

import math
import secrets
import threading

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from omnikpi.auth import (
    LoginLimits,
    LoginThrottle,
    PasswordCheckBusy,
    SignInRefused,
    User,
    end_session,
    set_locale,
    sign_in,
)
from omnikpi.auth.users import PasswordChangeExpired, get_user, temporary_password_stamp
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import LOCALES, Locale, is_locale, t
from omnikpi.services.users import UserChangeRefused, begin_session, choose_password
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
    set_csrf_cookie,
    set_locale_cookie,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
_THROTTLE_LOCK = threading.Lock()
#: How long the form to replace a temporary password stays valid.
PASSWORD_TICKET_SECONDS = 15 * 60
_TICKET_PURPOSE = "password-change"


def login_throttle(request: Request) -> LoginThrottle:
    """The app's record of failed sign-ins (made on first use, with the limits of the
    `OMNIKPI_LOGIN_*` variables; a test may set `app.state.login_throttle` first)."""
    state = request.app.state
    with _THROTTLE_LOCK:
        throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
        if throttle is None:
            throttle = state.login_throttle = LoginThrottle(LoginLimits.from_environment())
    return throttle


def client_address(request: Request) -> str:
    """The address failures are counted for (the proxy's own unless the server is told to
    trust its forwarding headers, e.g. `uvicorn --forwarded-allow-ips`)."""
    return request.client.host if request.client else "unknown"


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
    locale = request_locale(request)
    try:
        user = (
            sign_in(
                context.store,
                login_throttle(request),
                username,
                password,
                address=client_address(request),
                now=context.now(),
            )
            if username and password
            else None
        )
    except SignInRefused as exc:
        error = _wait_message(exc.retry_after, locale)
        return _login_form(request, next, username, error, 429, exc.retry_after)
    except PasswordCheckBusy as exc:
        error = t("login.busy", locale)
        return _login_form(request, next, username, error, 503, exc.retry_after)
    if user is None:
        return _login_form(request, next, username, t("login.failed", locale), 400)
    if user.password_temporary:
        return _password_form(request, user, next)
    return _signed_in(request, user, next)


def _signed_in(request: Request, user: User, next: str) -> Response:
    """Start a session for `user`, who just proved who they are, and go on to `next`."""
    context = web_context(request)
    chosen = request.cookies.get(LOCALE_COOKIE)
    if user.locale is None and is_locale(chosen):
        set_locale(context.store, user.user_id, chosen)
    chosen_locale = user.locale or (chosen if is_locale(chosen) else None)
    target = safe_next(next)
    if target == "/":  # no page asked for: straight to the role's own (one redirect, not two)
        target = landing_page(user.role).path
    response = RedirectResponse(target, status_code=303)
    token = begin_session(context.store, user, address=client_address(request), now=context.now())
    set_session_cookie(request, response, token)
    # A new sign-in gets a new CSRF token: one planted in the browser before (a login-CSRF
    # or fixation attempt) no longer validates.
    request.state.csrf_token = secrets.token_urlsafe(32)
    request.state.csrf_is_new = True
    set_csrf_cookie(request, response)
    if chosen_locale is not None:
        set_locale_cookie(request, response, chosen_locale)
    return response


def _login_form(
    request: Request,
    next: str,
    username: str,
    error: str,
    status_code: int,
    retry_after: int | None = None,
) -> Response:
    """The sign-in form again, saying why."""
    values = {"next": safe_next(next), "error": error, "username": username}
    response = render(request, "login.html", values, status_code=status_code)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _password_form(
    request: Request, user: User, next: str, error: str | None = None, status_code: int = 200
) -> Response:
    """The form to replace a temporary password, with a signed ticket for it ("<username>
    <stamp>": a browser would turn a newline in a form field into CRLF)."""
    stamp = temporary_password_stamp(web_context(request).store, user.username)
    ticket = web_context(request).signer.sign(f"{user.username} {stamp}", _TICKET_PURPOSE)
    values = {"ticket": ticket, "next": safe_next(next), "username": user.username, "error": error}
    return render(request, "password.html", values, status_code=status_code)


@router.post("/login/password", openapi_extra=requires(None))
def replace_password(
    request: Request,
    ticket: str = Form(""),
    password: str = Form(""),
    repeated: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Replace a temporary password with one the user chose, then sign them in."""
    context = web_context(request)
    locale = request_locale(request)
    opened = context.signer.unsign(ticket, _TICKET_PURPOSE, PASSWORD_TICKET_SECONDS)
    username, _, stamp = (opened or "").partition(" ")
    try:
        if opened is None:
            raise PasswordChangeExpired("the form to choose a password has expired")
        user = choose_password(
            context.store,
            username,
            stamp,
            password,
            repeated,
            address=client_address(request),
            now=context.now(),
        )
    except UserChangeRefused as exc:
        error = t(f"password.refused.{exc.reason}", locale, **exc.params)
        return _password_form(request, get_user(context.store, username), next, error, 400)
    except PasswordChangeExpired:
        return _login_form(request, next, username, t("password.expired", locale), 400)
    return _signed_in(request, user, next)


def _wait_message(seconds: int, locale: Locale) -> str:
    if seconds <= 90:
        return t("login.throttled_seconds", locale, count=seconds)
    return t("login.throttled_minutes", locale, count=math.ceil(seconds / 60))


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
