"""The JSON API, version 1: the signed-in profile and the data status (KPIs join later)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from omnikpi.auth import TIERS, Action, allowed_actions
from omnikpi.services import TableExtract, warehouse_status
from omnikpi.web.context import web_context
from omnikpi.web.security import Principal, requires, signed_in


class ProblemBody(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str = Field(description="Short, translated summary of the problem.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong and what to do, translated.")
    code: str = Field(description="Stable code: unauthenticated, forbidden, not_found, ...")
    note: str | None = Field(None, description="The error's own technical message, if any.")


#: Documented for every endpoint (each needs a session cookie or a bearer token).
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemBody, "description": "Not signed in, or the token is not valid."},
    403: {"model": ProblemBody, "description": "The role or the token's scopes do not allow it."},
}

router = APIRouter(prefix="/api/v1", tags=["v1"], responses=PROBLEMS)


class Profile(BaseModel):
    """The caller: who they are and what they may do."""

    username: str
    role: str = Field(description="admin, executive, team_lead, member:<role>, analyst, bu_user")
    locale: str | None = Field(description="Chosen language (ko or en), if any.")
    actions: list[str] = Field(description="Actions the caller may do (token scopes applied).")
    tiers: list[str] = Field(description="KPI tiers the role may open (member:own = own role).")


class TableStatusBody(BaseModel):
    name: str
    kind: str
    rows: int
    time_column: str | None
    latest: date | datetime | None = Field(description="Latest value of the time column.")
    age_days: int | None = Field(description="Days from the latest value's local date to today.")


class ExtractBody(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    total: int


class DataStatusBody(BaseModel):
    """Row counts and freshness per table; the latest loads and quarantine, if recorded."""

    latest_data: date | None = Field(description="Latest local date in any core table.")
    age_days: int | None = Field(description="Days from latest_data to today.")
    total_rows: int
    tables: list[TableStatusBody]
    load_log: ExtractBody | None = Field(description="Latest loads (null: no load log yet).")
    quarantine: ExtractBody | None = Field(description="Quarantined rows by source and reason.")


def _extract(extract: TableExtract | None) -> ExtractBody | None:
    if extract is None:
        return None
    rows = [list(row) for row in extract.rows]
    return ExtractBody(columns=list(extract.columns), rows=rows, total=extract.total)


@router.get("/me", summary="Who am I", openapi_extra=requires(Action.READ_PROFILE))
def me(principal: Principal = Depends(signed_in)) -> Profile:
    """Who the caller is, and what they may do."""
    user = principal.user
    return Profile(
        username=user.username,
        role=str(user.role),
        locale=user.locale,
        actions=[action.value for action in allowed_actions(user.role) if principal.may(action)],
        tiers=list(TIERS[user.role.role]),
    )


@router.get("/status", summary="Data status", openapi_extra=requires(Action.VIEW_DATA_STATUS))
def status(request: Request) -> DataStatusBody:
    """Rows and freshness of every table, the latest loads and quarantined rows."""
    context = web_context(request)
    found = warehouse_status(context.settings, context.today())
    return DataStatusBody(
        latest_data=found.latest_data,
        age_days=found.age_days,
        total_rows=found.total_rows,
        tables=[
            TableStatusBody(
                name=t.name,
                kind=t.kind,
                rows=t.rows,
                time_column=t.time_column,
                latest=t.latest,
                age_days=t.age_days,
            )
            for t in found.tables
        ],
        load_log=_extract(found.load_log),
        quarantine=_extract(found.quarantine),
    )


@router.get("/openapi.json", openapi_extra=requires(Action.VIEW_API_DOCS), include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """This API's OpenAPI document."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
