"""User administration: the one way the CLI (`omnikpi users`) and the admin pages
(`/admin/users`) add users, change their role and business unit, disable and enable them,
reset passwords, and list or revoke their sessions and API tokens.

Every function takes the `Actor` making the change, checks that it may manage users,
and writes one audit entry per change (the acting user, their role and address, and the
user changed as the subject). The rules a change must keep:

- a bu_user belongs to exactly one business unit; no other role has one;
- nobody disables or demotes their own account, and the last active admin stays one;
- a reset password is temporary: it is shown once and must be replaced at the next
  sign-in; the user's sessions end at once.

>>> change_role(store, Actor.cli(), "mina", parse_role("bu_user"), business_unit="Fashion")
... # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from omnikpi.auth import (
    Action,
    ApiToken,
    AppStateStore,
    Role,
    User,
    UserRole,
    check_allowed,
    create_api_token,
    get_user,
    list_api_tokens,
    list_users,
    revoke_api_token,
)
from omnikpi.auth.audit import Actor, AuditEvent, record_audit
from omnikpi.auth.passwords import MIN_PASSWORD_LENGTH, check_password_strength
from omnikpi.auth.sessions import (
    Session,
    list_sessions,
    revoke_session,
    set_single_session,
    single_session,
    start_session,
)
from omnikpi.auth.store import now_utc
from omnikpi.auth.users import (
    check_business_unit,
    check_username,
    create_user,
    disable_user,
    enable_user,
    replace_temporary_password,
    set_business_unit,
    set_password,
    set_role,
)
from omnikpi.errors import ConfigError, NotFound
from omnikpi.i18n import Locale

__all__ = [
    "TEMPORARY_PASSWORD_LENGTH",
    "NewUser",
    "UserChangeRefused",
    "add_user",
    "begin_session",
    "business_units",
    "change_business_unit",
    "change_role",
    "choose_password",
    "create_token",
    "disable",
    "enable",
    "reset_password",
    "revoke_user_session",
    "revoke_user_token",
    "sessions_of",
    "set_single_session_setting",
    "single_session",
    "tokens_of",
    "users_of",
]

#: Characters of a temporary password: no 0/o, 1/l/i, so it can be read out and typed.
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Length of a temporary password (4 groups of 4: about 79 bits).
TEMPORARY_PASSWORD_LENGTH = 16


class UserChangeRefused(ConfigError):
    """A change the rules of user administration refuse (HTTP 400). `reason` names the
    rule (the pages translate it: `admin_users.refused.<reason>`), `params` its values."""

    def __init__(self, reason: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class NewUser:
    """A user just added, with the temporary password to hand over (None if the admin
    chose the password)."""

    user: User
    temporary_password: str | None


def _may_manage(actor: Actor) -> None:
    check_allowed(actor.role, Action.MANAGE_USERS, actor.scopes)


def _audit(
    store: AppStateStore,
    actor: Actor,
    event: AuditEvent,
    username: str,
    detail: str,
    now: datetime | None,
) -> None:
    record_audit(store, event, detail, actor=actor, subject=username, now=now)


def _business_unit(role: UserRole, business_unit: str | None) -> str | None:
    """The business unit a user of `role` gets: required for a bu_user, refused otherwise."""
    unit = business_unit.strip() if business_unit else None
    if role.role is not Role.BU_USER:
        if unit:
            raise UserChangeRefused(
                "business_unit_not_allowed",
                f'role "{role}" has no business unit (only a bu_user belongs to one; leave '
                "the business unit empty)",
                role=str(role),
            )
        return None
    if not unit:
        raise UserChangeRefused(
            "business_unit_required",
            "a bu_user belongs to one business unit: name it (e.g. --business-unit Fashion)",
        )
    try:
        return check_business_unit(unit)
    except ConfigError as exc:
        raise UserChangeRefused("business_unit_invalid", str(exc), unit=unit) from None


def _temporary_password() -> str:
    characters = [secrets.choice(_TEMPORARY_ALPHABET) for _ in range(TEMPORARY_PASSWORD_LENGTH)]
    return "-".join("".join(characters[i : i + 4]) for i in range(0, len(characters), 4))


def _describe_role(role: UserRole, unit: str | None) -> str:
    return f"{role} ({unit})" if unit else str(role)


def _keep_an_admin(store: AppStateStore, actor: Actor, user: User, what: str) -> None:
    """Refuse to disable or demote one's own account, or the last active admin."""
    if user.username.lower() == actor.username.lower():
        raise UserChangeRefused(
            "own_account",
            f'you cannot {what} your own account "{user.username}" (ask another admin)',
            username=user.username,
        )
    if user.role.role is Role.ADMIN and user.active:
        admins = [u for u in list_users(store) if u.role.role is Role.ADMIN and u.active]
        if len(admins) <= 1:
            raise UserChangeRefused(
                "last_admin",
                f'"{user.username}" is the last active admin: make another user admin first',
                username=user.username,
            )


def users_of(store: AppStateStore, actor: Actor) -> list[User]:
    """Every user, by name."""
    _may_manage(actor)
    return list_users(store)


def business_units(store: AppStateStore) -> list[str]:
    """The business units users belong to now, by name (what a new bu_user may join)."""
    return sorted({user.business_unit for user in list_users(store) if user.business_unit})


def add_user(
    store: AppStateStore,
    actor: Actor,
    username: str,
    role: UserRole,
    *,
    password: str | None = None,
    business_unit: str | None = None,
    locale: Locale | None = None,
    now: datetime | None = None,
) -> NewUser:
    """Add a user; without `password` they get a temporary one (returned, shown once) that
    they must replace at their first sign-in."""
    _may_manage(actor)
    name = username.strip()
    try:
        check_username(name)
    except ConfigError as exc:
        raise UserChangeRefused("username_invalid", str(exc), username=name) from None
    unit = _business_unit(role, business_unit)
    temporary = _temporary_password() if password is None else None
    if password is not None:
        check_password_strength(password)
    if any(user.username.lower() == name.lower() for user in list_users(store)):
        raise UserChangeRefused(
            "username_taken",
            f'user "{name}" already exists (change their role with `omnikpi users set-role`)',
            username=name,
        )
    user = create_user(
        store,
        name,
        temporary or str(password),
        role,
        locale=locale,
        business_unit=unit,
        temporary=temporary is not None,
        check_strength=False,
        now=now,
    )
    how = "a temporary password" if temporary else "a password they chose"
    detail = f"added as {_describe_role(role, unit)} with {how}"
    _audit(store, actor, AuditEvent.USER_ADDED, user.username, detail, now)
    return NewUser(user, temporary)


def change_role(
    store: AppStateStore,
    actor: Actor,
    username: str,
    role: UserRole,
    *,
    business_unit: str | None = None,
    now: datetime | None = None,
) -> User:
    """Give `username` the role `role` (a bu_user with `business_unit`, which they keep if
    they were one already); takes effect on their next request. A bu_user given their own
    role with another unit is moved (`change_business_unit`)."""
    _may_manage(actor)
    user = get_user(store, username)
    if role.role is Role.BU_USER and not business_unit:
        business_unit = user.business_unit
    unit = _business_unit(role, business_unit)
    if user.role == role:  # the same role: at most the business unit moves
        return change_business_unit(store, actor, username, unit, now=now) if unit else user
    if user.role.role is Role.ADMIN and role.role is not Role.ADMIN:
        _keep_an_admin(store, actor, user, "demote")
    changed = set_role(store, user.username, role, business_unit=unit)
    detail = f"role {_describe_role(user.role, user.business_unit)} → {_describe_role(role, unit)}"
    _audit(store, actor, AuditEvent.ROLE_CHANGED, user.username, detail, now)
    return changed


def change_business_unit(
    store: AppStateStore,
    actor: Actor,
    username: str,
    business_unit: str,
    *,
    now: datetime | None = None,
) -> User:
    """Move the bu_user `username` to `business_unit`."""
    _may_manage(actor)
    user = get_user(store, username)
    unit = _business_unit(user.role, business_unit)
    if unit == user.business_unit:
        return user
    changed = set_business_unit(store, user.username, unit)
    detail = f"business unit {user.business_unit or '-'} → {unit}"
    _audit(store, actor, AuditEvent.BUSINESS_UNIT_CHANGED, user.username, detail, now)
    return changed


def disable(
    store: AppStateStore, actor: Actor, username: str, *, now: datetime | None = None
) -> User:
    """Stop `username` from signing in: their sessions end, their API tokens stop working,
    and a page they have open signs them out at its next request."""
    _may_manage(actor)
    user = get_user(store, username)
    if not user.active:
        return user
    _keep_an_admin(store, actor, user, "disable")
    ended = len(list_sessions(store, user.username, now=now))
    changed = disable_user(store, user.username, now=now)
    detail = f"disabled; {ended} session(s) ended"
    _audit(store, actor, AuditEvent.USER_DISABLED, user.username, detail, now)
    return changed


def enable(
    store: AppStateStore, actor: Actor, username: str, *, now: datetime | None = None
) -> User:
    """Let a disabled user sign in again (with the password they had)."""
    _may_manage(actor)
    user = get_user(store, username)
    if user.active:
        return user
    changed = enable_user(store, user.username)
    _audit(store, actor, AuditEvent.USER_ENABLED, user.username, "enabled", now)
    return changed


def reset_password(
    store: AppStateStore, actor: Actor, username: str, *, now: datetime | None = None
) -> str:
    """A new temporary password for `username` (returned, to hand over once): their
    sessions end and they must choose their own password at the next sign-in."""
    _may_manage(actor)
    user = get_user(store, username)
    temporary = _temporary_password()
    set_password(store, user.username, temporary, temporary=True, check_strength=False)
    detail = "temporary password issued; sessions ended"
    _audit(store, actor, AuditEvent.PASSWORD_RESET, user.username, detail, now)
    return temporary


def choose_password(
    store: AppStateStore,
    username: str,
    stamp: str,
    password: str,
    repeated: str,
    *,
    address: str | None = None,
    now: datetime | None = None,
) -> User:
    """`username` replaces their temporary password (whose stamp is `stamp`) with their own,
    typed twice alike and long enough; audited as the last step of the reset."""
    if password != repeated:
        raise UserChangeRefused("passwords_differ", "the two new passwords differ; type it again")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserChangeRefused(
            "password_too_short",
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}",
            count=str(MIN_PASSWORD_LENGTH),
        )
    user = replace_temporary_password(store, username, stamp, password)
    record_audit(
        store,
        AuditEvent.PASSWORD_RESET,
        "temporary password replaced by the user",
        username=user.username,
        address=address,
        actor_role=str(user.role),
        subject=user.username,
        now=now,
    )
    return user


def begin_session(
    store: AppStateStore, user: User, *, address: str | None, now: datetime | None = None
) -> str:
    """A session for `user` who just signed in (ending their others if single_session is
    on); returns its token."""
    return start_session(store, user, now=now, address=address, end_others=single_session(store))


def set_single_session_setting(store: AppStateStore, actor: Actor, on: bool) -> None:
    """Whether a sign-in ends the user's other sessions (takes effect at the next sign-in)."""
    _may_manage(actor)
    set_single_session(store, on)


def sessions_of(
    store: AppStateStore, actor: Actor, username: str, *, now: datetime | None = None
) -> list[Session]:
    """The open sessions of `username`, most recently used first."""
    _may_manage(actor)
    return list_sessions(store, get_user(store, username).username, now=now or now_utc())


def revoke_user_session(
    store: AppStateStore,
    actor: Actor,
    username: str,
    session_id: str,
    *,
    now: datetime | None = None,
) -> Session:
    """End one session of `username` (its id, or the first 8 or more characters of it)."""
    _may_manage(actor)
    user = get_user(store, username)
    ended = revoke_session(store, user.username, session_id)
    detail = f"session {ended.short_id} ended (last from {ended.address or 'unknown address'})"
    _audit(store, actor, AuditEvent.SESSION_REVOKED, user.username, detail, now)
    return ended


def tokens_of(store: AppStateStore, actor: Actor, username: str) -> list[ApiToken]:
    """The API tokens of `username`, newest first (revoked ones too)."""
    _may_manage(actor)
    return list_api_tokens(store, get_user(store, username).username)


def create_token(
    store: AppStateStore,
    actor: Actor,
    username: str,
    name: str,
    scopes: frozenset[Action],
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for `username`; returns its record and the secret (shown once)."""
    _may_manage(actor)
    record, secret = create_api_token(store, username, name, scopes, expires_at=expires_at, now=now)
    scope_names = ", ".join(sorted(scope.value for scope in record.scopes))
    detail = f'token {record.token_id} "{record.name}" created ({scope_names})'
    _audit(store, actor, AuditEvent.TOKEN_CREATED, record.username, detail, now)
    return record, secret


def revoke_user_token(
    store: AppStateStore,
    actor: Actor,
    username: str,
    token_id: int,
    *,
    now: datetime | None = None,
) -> ApiToken:
    """Stop the API token `token_id` of `username` from working."""
    _may_manage(actor)
    user = get_user(store, username)
    token = next((t for t in list_api_tokens(store, user.username) if t.token_id == token_id), None)
    if token is None:
        raise NotFound(
            f'no API token {token_id} of user "{user.username}" '
            f"(see the user's page or `omnikpi users tokens {user.username}`)"
        )
    if not token.revoked:
        revoke_api_token(store, token_id, now=now)
        detail = f'token {token_id} "{token.name}" revoked'
        _audit(store, actor, AuditEvent.TOKEN_REVOKED, user.username, detail, now)
    return token
