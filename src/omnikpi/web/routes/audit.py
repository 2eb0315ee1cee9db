"""Admin: the audit log (`/admin/audit`) with filters, its CSV (`/admin/audit.csv`) and a
check of its hash chain; the page beside `omnikpi audit list|verify`, calling the same
service (`omnikpi.services.audit`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.auth.audit import AuditEvent
from omnikpi.errors import InvalidChoice
from omnikpi.services.audit import (
    MAX_LISTED,
    AuditFilter,
    audit_csv,
    check_audit_log,
    list_audit_log,
    parse_audit_filter,
)
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import render
from omnikpi.web.routes.kpi_pages import attachment, csv_response
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)
#: Entries the page shows at most (the CSV has up to MAX_LISTED).
PAGE_ENTRIES = 200


def _filter(params: QueryParams, limit: int) -> AuditFilter:
    return parse_audit_filter(params.get("user"), params.get("since"), params.get("action"), limit)


@router.get("/admin/audit", openapi_extra=requires(Action.VIEW_AUDIT_LOG))
def audit_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The newest entries matching the filters; `?verify=1` also checks the hash chain."""
    store = web_context(request).store
    actor = request_actor(request)
    params = request.query_params
    values: dict[str, object] = {
        "events": list(AuditEvent),
        "user": params.get("user", ""),
        "since": params.get("since", ""),
        "action": params.get("action", ""),
    }
    status = 200
    try:
        wanted = _filter(params, PAGE_ENTRIES)
    except InvalidChoice as exc:
        values["error"] = str(exc)
        wanted, status = AuditFilter(limit=PAGE_ENTRIES), 400
    values["entries"] = list_audit_log(store, actor, wanted)
    values["limit"] = wanted.limit
    if params.get("verify"):
        values["chain"] = check_audit_log(store, actor)
    query = {k: v for k in ("user", "since", "action") if (v := params.get(k))}
    values["csv_query"] = str(QueryParams(query))
    return render(request, "audit.html", values, status_code=status)


@router.get("/admin/audit.csv", openapi_extra=requires(Action.VIEW_AUDIT_LOG))
def audit_download(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The entries matching the filters as CSV (up to MAX_LISTED, newest first)."""
    wanted = _filter(request.query_params, MAX_LISTED)
    entries = list_audit_log(web_context(request).store, request_actor(request), wanted)
    body = audit_csv(entries, for_spreadsheets=True)
    return csv_response([body], attachment("omnikpi-audit-log.csv"))
