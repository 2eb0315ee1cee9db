"""Business units' audience requests (issue 25 item 4): a business-unit user files a
request (goal, audience idea, desired size, timing); an analyst builds an audience and
attaches it, with the campaign window once it is known; the business unit then sees the
audience's size, aggregate profile and readout — never its rows.

Requests live in the app-state store (`audience_requests`). REQUEST_AUDIENCES lets
business-unit users file and follow their own unit's requests only (UNIT_SCOPED), and
analysts and admins see every request; attaching is MANAGE_AUDIENCES. What a request
shows of its audience comes from `services.audiences.audience_profile` and
`campaign_readout` as the reader (small cells withheld below analysts).

    >>> request = file_request(store, actor, goal="Win back lapsed", idea="...")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from omnikpi.audiences import CampaignReadout
from omnikpi.auth import Action, AppStateStore, check_allowed, get_user
from omnikpi.auth.audit import Actor
from omnikpi.auth.permissions import check_allowed_for_unit
from omnikpi.auth.roles import Role
from omnikpi.auth.store import from_text, now_utc, to_text
from omnikpi.errors import ConfigError, DataError, InvalidChoice, NotFound, PermissionDenied
from omnikpi.services.audiences import (
    AudienceProfile,
    audience_profile,
    campaign_readout,
    show_audience,
)
from omnikpi.settings import Settings

__all__ = [
    "STATUSES",
    "WITHHELD_READOUT",
    "AudienceRequest",
    "RequestView",
    "attach_audience",
    "file_request",
    "get_request",
    "list_requests",
    "request_view",
]

#: A request is open until an analyst attaches an audience to it.
STATUSES = ("open", "attached")
_LONGEST = 2000
_LARGEST_SIZE = 1_000_000_000
#: Why a reader who may not see small groups gets no readout of one.
WITHHELD_READOUT = "withheld: a group has fewer customers than may be shown"


@dataclass(frozen=True)
class AudienceRequest:
    """One request: what the unit asked for, and the audience attached to it (if any)."""

    request_id: int
    business_unit: str | None
    requested_by: str
    requested_at: datetime
    goal: str
    audience_idea: str
    desired_size: int | None
    timing: str | None
    status: str
    audience_id: str | None
    audience_version: int | None
    attached_by: str | None
    attached_at: datetime | None
    note: str | None
    campaign_start: date | None
    campaign_end: date | None
    campaign_cost: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, date | datetime) else value
            for key, value in self.__dict__.items()
        }


@dataclass(frozen=True)
class RequestView:
    """A request with its audience in aggregate: the profile (sizes, means, segments;
    None before one is attached) and the readout once the campaign window is given
    (`readout_error` says why there is none yet)."""

    request: AudienceRequest
    profile: AudienceProfile | None
    readout: CampaignReadout | None
    readout_error: str | None


def _text(value: str | None, name: str, *, required: bool = False) -> str | None:
    cleaned = " ".join((value or "").split()) if name != "audience idea" else (value or "").strip()
    if required and not cleaned:
        raise ConfigError(f"the request needs a {name}: say it in a sentence")
    if len(cleaned) > _LONGEST:
        raise ConfigError(f"the {name} is {len(cleaned)} characters long; keep it under 2000")
    return cleaned or None


def _request(row: sqlite3.Row) -> AudienceRequest:
    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    requested = from_text(row["requested_at"])
    assert requested is not None
    return AudienceRequest(
        request_id=int(row["request_id"]),
        business_unit=row["business_unit"],
        requested_by=row["requested_by"],
        requested_at=requested,
        goal=row["goal"],
        audience_idea=row["audience_idea"],
        desired_size=row["desired_size"],
        timing=row["timing"],
        status=row["status"],
        audience_id=row["audience_id"],
        audience_version=row["audience_version"],
        attached_by=row["attached_by"],
        attached_at=from_text(row["attached_at"]),
        note=row["note"],
        campaign_start=day(row["campaign_start"]),
        campaign_end=day(row["campaign_end"]),
        campaign_cost=row["campaign_cost"],
    )


def _own_unit(store: AppStateStore, actor: Actor) -> str | None:
    """The actor's business unit as the store has it now (None: none, or not a user)."""
    try:
        return get_user(store, actor.username).business_unit
    except NotFound:
        return None


def file_request(
    store: AppStateStore,
    actor: Actor,
    *,
    goal: str,
    idea: str,
    desired_size: int | None = None,
    timing: str | None = None,
    now: datetime | None = None,
) -> AudienceRequest:
    """File a request for the actor's business unit (a business-unit user needs one)."""
    check_allowed(actor.role, Action.REQUEST_AUDIENCES, actor.scopes)
    unit = _own_unit(store, actor)
    if actor.role.role == Role.BU_USER and unit is None:
        raise ConfigError(
            "your user has no business unit, so a request could not be followed by anyone "
            "of your unit: ask an admin to set your business unit"
        )
    if desired_size is not None and not 1 <= desired_size <= _LARGEST_SIZE:
        raise InvalidChoice("desired size", str(desired_size), "a whole number from 1 to 10⁹")
    values = (
        unit,
        actor.username,
        to_text(now or now_utc()),
        _text(goal, "goal", required=True),
        _text(idea, "audience idea", required=True),
        desired_size,
        _text(timing, "timing"),
    )
    with store.transaction() as connection:
        cursor = connection.execute(
            "INSERT INTO audience_requests (business_unit, requested_by, requested_at, goal, "
            "audience_idea, desired_size, timing) VALUES (?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        request_id = int(cursor.lastrowid or 0)
    return get_request(store, actor, request_id)


def list_requests(
    store: AppStateStore, actor: Actor, *, status: str | None = None
) -> list[AudienceRequest]:
    """The requests the actor may follow, newest first: a business-unit user's own unit's,
    everyone's for analysts and admins; `status` keeps one status."""
    check_allowed(actor.role, Action.REQUEST_AUDIENCES, actor.scopes)
    if status is not None and status not in STATUSES:
        raise InvalidChoice("status", status, ", ".join(STATUSES))
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM audience_requests ORDER BY request_id DESC"
        ).fetchall()
    requests = [_request(row) for row in rows]
    if status is not None:
        requests = [r for r in requests if r.status == status]
    if actor.role.role == Role.BU_USER:
        unit = _own_unit(store, actor)
        requests = [r for r in requests if _may_follow(actor, unit, r)]
    return requests


def _may_follow(actor: Actor, unit: str | None, request: AudienceRequest) -> bool:
    try:
        _check_unit(actor, unit, request)
    except PermissionDenied:
        return False
    return True


def _check_unit(actor: Actor, unit: str | None, request: AudienceRequest) -> None:
    check_allowed_for_unit(
        actor.role, unit, Action.REQUEST_AUDIENCES, request.business_unit or "", actor.scopes
    )


def get_request(store: AppStateStore, actor: Actor, request_id: int) -> AudienceRequest:
    """One request; UnitDenied (403) when it is another unit's and the actor is kept to
    their own, NotFound when there is none."""
    check_allowed(actor.role, Action.REQUEST_AUDIENCES, actor.scopes)
    row = None
    if 1 <= request_id < 2**63:  # what SQLite's integers hold
        with store.connect() as connection:
            row = connection.execute(
                "SELECT * FROM audience_requests WHERE request_id = ?", (request_id,)
            ).fetchone()
    if row is None:
        raise NotFound(f"no audience request {request_id} (the requests page lists them)")
    request = _request(row)
    _check_unit(actor, _own_unit(store, actor), request)
    return request


def attach_audience(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    request_id: int,
    audience_id: str,
    *,
    version: int | None = None,
    campaign_start: date | None = None,
    campaign_end: date | None = None,
    cost: float | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> AudienceRequest:
    """Attach a built audience (its latest version unless `version`) to the request, with
    the campaign window and cost when known (MANAGE_AUDIENCES); attaching again replaces
    them."""
    check_allowed(actor.role, Action.MANAGE_AUDIENCES, actor.scopes)
    get_request(store, actor, request_id)
    info = show_audience(settings, actor, audience_id.strip(), version)
    if info.built_at is None:
        raise ConfigError(
            f'audience "{info.audience_id}" version {info.version} has not been built: build '
            "it first, so the business unit sees its size and profile"
        )
    if campaign_start and campaign_end and campaign_end < campaign_start:
        raise InvalidChoice("campaign end", campaign_end.isoformat(), "on or after its start")
    if cost is not None and cost < 0:
        raise InvalidChoice("cost", str(cost), "an amount ≥ 0")
    with store.transaction() as connection:
        connection.execute(
            "UPDATE audience_requests SET status = 'attached', audience_id = ?, "
            "audience_version = ?, attached_by = ?, attached_at = ?, note = ?, "
            "campaign_start = ?, campaign_end = ?, campaign_cost = ? WHERE request_id = ?",
            (
                info.audience_id,
                info.version,
                actor.username,
                to_text(now or now_utc()),
                _text(note, "note"),
                campaign_start.isoformat() if campaign_start else None,
                campaign_end.isoformat() if campaign_end else None,
                cost,
                request_id,
            ),
        )
    return get_request(store, actor, request_id)


def request_view(
    settings: Settings, store: AppStateStore, actor: Actor, request_id: int
) -> RequestView:
    """The request and, once an audience is attached, its aggregate profile and (with a
    campaign window) its readout, as the actor may see them: no customer rows."""
    request = get_request(store, actor, request_id)
    if request.audience_id is None:
        return RequestView(request, None, None, None)
    profile = audience_profile(settings, actor, request.audience_id, request.audience_version)
    readout: CampaignReadout | None = None
    error: str | None = None
    small = any(row["customers"] is None for row in profile.means)
    if small and request.campaign_start and request.campaign_end:
        error = WITHHELD_READOUT
    elif request.campaign_start and request.campaign_end:
        try:
            readout = campaign_readout(
                settings,
                actor,
                request.audience_id,
                start=request.campaign_start,
                end=request.campaign_end,
                version=request.audience_version,
                cost=request.campaign_cost,
            )
        except (DataError, ConfigError) as exc:
            error = str(exc)
    return RequestView(request, profile, readout, error)
