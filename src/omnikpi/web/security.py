"""Who is asking, and may they: sessions, bearer tokens, route permissions, CSRF.

Every route declares the action it needs with `openapi_extra=requires(Action.X)` (or
`requires(None)` for public routes such as /login). The app-wide `authorize` dependency
reads that declaration from the matched route, so what a route declares is exactly what
is enforced, and a route that declares nothing is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from fastapi import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from omnikpi.auth import (
    SESSION_LIFETIME,
    Action,
    NotAuthenticated,
    User,
    authenticate_token,
    check_allowed,
    is_allowed,
    session_user,
)
from omnikpi.errors import PermissionDenied
from omnikpi.i18n import Locale, is_locale, negotiate_locale
from omnikpi.web.context import web_context

SESSION_COOKIE = "omnikpi_session"
CSRF_COOKIE = "omnikpi_csrf"
LOCALE_COOKIE = "omnikpi_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

#: Keys in a route's openapi_extra (they also show in /api/v1/openapi.json).
PERMISSION_KEY = "x-omnikpi-permission"
CSRF_EXEMPT_KEY = "x-omnikpi-csrf-exempt"
PUBLIC = "public"

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CSRF_MAX_AGE = 7 * 24 * 3600
_LOCALE_MAX_AGE = 365 * 24 * 3600
_UNSET = object()


class CsrfFailed(PermissionDenied):
    """A form or state-changing request without a valid CSRF token, or from another site."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request; `scopes` narrows what an API token may do."""

    user: User
    scopes: frozenset[Action] | None = None

    def may(self, action: Action) -> bool:
        """Whether this request may do `action`."""
        return is_allowed(self.user.role, action, self.scopes)


def requires(action: Action | None, *, csrf: bool = True) -> dict[str, Any]:
    """The `openapi_extra` of a route needing `action` (None: open to everyone).

    `csrf=False` is for machine endpoints that take no cookies (e.g. an event collector).
    """
    declared: dict[str, Any] = {PERMISSION_KEY: action.value if action else PUBLIC}
    if not csrf:
        declared[CSRF_EXEMPT_KEY] = True
    return declared


def declared_permission(route: BaseRoute) -> Action | None:
    """The action `route` declares (None if public); LookupError if it declares none."""
    extra = getattr(route, "openapi_extra", None) or {}
    value = extra.get(PERMISSION_KEY)
    if value is None:
        path = getattr(route, "path", route)
        raise LookupError(f"route {path} declares no permission (add openapi_extra=requires(...))")
    return None if value == PUBLIC else Action(value)


def is_api_request(request: Request) -> bool:
    """Whether the request is for the JSON API (errors as JSON problems, not pages)."""
    return request.url.path == "/api/v1" or request.url.path.startswith("/api/v1/")


def _bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def session_token(request: Request) -> str | None:
    """The session token of a validly signed session cookie, else None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    max_age = int(SESSION_LIFETIME.total_seconds())
    return web_context(request).signer.unsign(cookie, "session", max_age)


def current_principal(request: Request) -> Principal | None:
    """The user behind the request (bearer token on the API, else session), or None."""
    cached = getattr(request.state, "principal", _UNSET)
    if cached is not _UNSET:
        return cast(Principal | None, cached)
    context = web_context(request)
    principal: Principal | None = None
    bearer = _bearer_token(request) if is_api_request(request) else None
    if bearer is not None:
        found = authenticate_token(context.store, bearer, now=context.now())
        if found is None:
            request.state.principal = None
            raise NotAuthenticated("the bearer token is unknown, expired, revoked or disabled")
        principal = Principal(found[0], found[1])
    else:
        token = session_token(request)
        address = request.client.host if request.client else None
        user = (
            session_user(context.store, token, now=context.now(), address=address)
            if token
            else None
        )
        principal = Principal(user) if user else None
    request.state.principal = principal
    return principal


def authorize(request: Request) -> Principal | None:
    """App-wide dependency: enforce the permission the matched route declares."""
    route = request.scope.get("route")
    if route is None:
        return current_principal(request)
    action = declared_permission(route)
    principal = current_principal(request)
    if action is None:
        return principal
    if principal is None:
        raise NotAuthenticated("sign in to continue")
    check_allowed(principal.user.role, action, principal.scopes)
    return principal


def signed_in(request: Request) -> Principal:
    """The signed-in principal of a protected route (authorize has already checked it)."""
    principal = current_principal(request)
    if principal is None:
        raise NotAuthenticated("sign in to continue")
    return principal


# -- CSRF ---------------------------------------------------------------------------------
def _csrf_cookie_token(request: Request) -> str | None:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return None
    return web_context(request).signer.unsign(cookie, "csrf", _CSRF_MAX_AGE)


def csrf_token(request: Request) -> str:
    """The CSRF token to put in this response's forms (a new one if the browser has none)."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        token = _csrf_cookie_token(request)
        if token is None:
            token = secrets.token_urlsafe(32)
            request.state.csrf_is_new = True
        request.state.csrf_token = token
    return cast(str, token)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the CSRF cookie if this request created a new token."""
    if getattr(request.state, "csrf_is_new", False):
        signed = web_context(request).signer.sign(csrf_token(request), "csrf")
        _set_cookie(request, response, CSRF_COOKIE, signed, _CSRF_MAX_AGE)


async def verify_csrf(request: Request) -> None:
    """App-wide dependency: state-changing browser requests must carry the CSRF token.

    The token is the double-submit kind: a signed cookie plus the same value in the form
    field `csrf_token` or the `X-CSRF-Token` header; requests from another origin fail too.
    Bearer-token API calls carry no ambient credentials and need no token.
    """
    if request.method not in _UNSAFE_METHODS:
        return
    route = request.scope.get("route")
    if route is not None and (getattr(route, "openapi_extra", None) or {}).get(CSRF_EXEMPT_KEY):
        return
    if is_api_request(request) and _bearer_token(request) is not None:
        return
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise CsrfFailed(f"the request came from another site ({origin})")
    expected = _csrf_cookie_token(request)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not secrets.compare_digest(expected, supplied):
        raise CsrfFailed("the form's security token is missing or out of date; reload the page")


# -- cookies and language -----------------------------------------------------------------
def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Sign `token` into the session cookie."""
    signed = web_context(request).signer.sign(token, "session")
    _set_cookie(request, response, SESSION_COOKIE, signed, int(SESSION_LIFETIME.total_seconds()))


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def set_locale_cookie(request: Request, response: Response, locale: Locale) -> None:
    """Remember the language in the browser (used before sign-in)."""
    _set_cookie(request, response, LOCALE_COOKIE, locale, _LOCALE_MAX_AGE)


def request_locale(request: Request) -> Locale:
    """The language of the response: the user's choice, the cookie, then the browser's."""
    try:
        principal = current_principal(request)
    except NotAuthenticated:
        principal = None
    if principal is not None and principal.user.locale is not None:
        return principal.user.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if is_locale(cookie):
        return cookie
    return negotiate_locale(request.headers.get("accept-language"))


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in or a language switch (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
