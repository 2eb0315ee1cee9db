"""Admin: the users (`/admin/users`: list, add, the single-session setting) and one user
(`/admin/users/{username}`: role and business unit, disable or enable, reset password,
sessions and API tokens with revoke).

Thin handlers over `omnikpi.services.users`, which checks each change against the rules
and audits it, as it does for `omnikpi users`. Every form posts back to the page it is on
(CSRF-checked like every form) and gets the page again, saying what changed; a refused
change gets it with 400 and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from omnikpi.auth import ALL_ROLES, Action, AppStateStore, get_user, parse_role
from omnikpi.auth.audit import Actor
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import t
from omnikpi.services import users as service
from omnikpi.services.users import UserChangeRefused
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import render
from omnikpi.web.security import Principal, request_locale, requires, signed_in

router = APIRouter(include_in_schema=False)
_MANAGE = requires(Action.MANAGE_USERS)


def _refusal(request: Request, exc: UserChangeRefused) -> str:
    return t(f"admin_users.refused.{exc.reason}", request_locale(request), **exc.params)


def _users_page(
    request: Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    store = web_context(request).store
    values = {
        "users": service.users_of(store, request_actor(request)),
        "roles": ALL_ROLES,
        "units": service.business_units(store),
        "single_session": service.single_session(store),
        "notice": notice,
        "error": error,
        "form": form or {},
    }
    return render(request, "admin_users.html", values, status_code=status_code)


def _user_page(
    request: Request,
    username: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    temporary: str | None = None,
    status_code: int = 200,
) -> Response:
    context = web_context(request)
    actor = request_actor(request)
    user = get_user(context.store, username)
    values = {
        "user": user,
        "is_self": user.username.lower() == actor.username.lower(),
        "sessions": service.sessions_of(context.store, actor, user.username, now=context.now()),
        "tokens": service.tokens_of(context.store, actor, user.username),
        "roles": ALL_ROLES,
        "units": service.business_units(context.store),
        "notice": notice,
        "error": error,
        "temporary": temporary,
    }
    return render(request, "admin_user.html", values, status_code=status_code)


@router.get("/admin/users", openapi_extra=_MANAGE)
def users_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Every user with role, business unit and status; the form to add one."""
    return _users_page(request)


@router.post("/admin/users", openapi_extra=_MANAGE)
def add_user(
    request: Request,
    change: str = Form("add"),
    username: str = Form(""),
    role: str = Form(""),
    business_unit: str = Form(""),
    single_session: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Add a user (with a temporary password, shown once), or set single-session."""
    context = web_context(request)
    locale = request_locale(request)
    actor = request_actor(request)
    if change == "single_session":
        service.set_single_session_setting(context.store, actor, single_session == "on")
        return _users_page(request, notice=t("admin_users.notice.single_session", locale))
    if change != "add":
        raise InvalidChoice("change", change, "add, single_session")
    try:
        added = service.add_user(
            context.store,
            actor,
            username,
            parse_role(role),
            business_unit=business_unit or None,
            now=context.now(),
        )
    except UserChangeRefused as exc:
        form = {"username": username, "role": role, "business_unit": business_unit}
        return _users_page(request, error=_refusal(request, exc), form=form, status_code=400)
    notice = t("admin_users.notice.added", locale, name=added.user.username)
    return _user_page(
        request, added.user.username, notice=notice, temporary=added.temporary_password
    )


@router.get("/admin/users/{username}", openapi_extra=_MANAGE)
def user_page(
    request: Request, username: str, principal: Principal = Depends(signed_in)
) -> Response:
    """One user: role and business unit, status, password, sessions and API tokens."""
    return _user_page(request, username)


#: The changes the forms of a user's page make (`change`); the notice after each is
#: `admin_users.notice.<change>`.
CHANGES = ("role", "disable", "enable", "reset_password", "revoke_session", "revoke_token")


@dataclass(frozen=True)
class ChangeForm:
    """What a form of a user's page sends: which change, and the fields it needs."""

    change: str
    role: str = ""
    business_unit: str = ""
    session_id: str = ""
    token_id: str = ""


def _apply(
    store: AppStateStore, actor: Actor, username: str, form: ChangeForm, now: datetime
) -> str | None:
    """Make the change `form` names; returns the temporary password a reset made."""
    if form.change == "role":
        unit = form.business_unit or None
        role = parse_role(form.role)
        service.change_role(store, actor, username, role, business_unit=unit, now=now)
    elif form.change == "disable":
        service.disable(store, actor, username, now=now)
    elif form.change == "enable":
        service.enable(store, actor, username, now=now)
    elif form.change == "reset_password":
        return service.reset_password(store, actor, username, now=now)
    elif form.change == "revoke_session":
        service.revoke_user_session(store, actor, username, form.session_id, now=now)
    elif form.change == "revoke_token":
        if not form.token_id.isdigit():
            raise InvalidChoice("token_id", form.token_id, "the id of one of the user's tokens")
        service.revoke_user_token(store, actor, username, int(form.token_id), now=now)
    else:
        raise InvalidChoice("change", form.change, ", ".join(CHANGES))
    return None


@router.post("/admin/users/{username}", openapi_extra=_MANAGE)
def change_user(
    request: Request,
    username: str,
    change: str = Form(""),
    role: str = Form(""),
    business_unit: str = Form(""),
    session_id: str = Form(""),
    token_id: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Make the change the form names, then show the user again with what changed."""
    context = web_context(request)
    form = ChangeForm(change, role, business_unit, session_id, token_id)
    try:
        temporary = _apply(context.store, request_actor(request), username, form, context.now())
    except UserChangeRefused as exc:
        return _user_page(request, username, error=_refusal(request, exc), status_code=400)
    notice = t(f"admin_users.notice.{change}", request_locale(request))
    return _user_page(request, username, notice=notice, temporary=temporary)
