"""Pages: home and data status. KPI pages join with the KPI engine."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.i18n import LocaleFormat, t
from omnikpi.web.context import web_context
from omnikpi.web.data_status import VOLUME_TABLES, read_data_status, rows_by_period
from omnikpi.web.navigation import NAV_ITEMS
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.security import Principal, requires, signed_in
from omnikpi.web.view_params import InvalidViewParam, load_filter_choices, parse_view_params
from omnikpi.web.warehouse_access import open_warehouse

router = APIRouter(include_in_schema=False)

#: The table whose volume the status page charts unless the URL names another.
DEFAULT_VOLUME_TABLE = "orders"


@router.get("/", openapi_extra=requires(Action.VIEW_HOME))
def home(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Where each role starts: who they are, what they may open, how fresh the data is."""
    context = web_context(request)
    with open_warehouse(context.settings) as warehouse:
        status = read_data_status(warehouse, context.today())
    pages = [item for item in NAV_ITEMS if item.key != "home" and principal.may(item.action)]
    return render(request, "home.html", {"pages": pages, "latest_data": status.latest_data})


def volume_chart(
    rows: list[tuple[Any, int]], grain: str, table: str, fmt: LocaleFormat
) -> dict[str, Any]:
    """The chart spec app.js draws: labels, values and their formatted text."""
    return {
        "kind": "bar",
        "name": t("status.volume.series", fmt.locale, table=t(f"tables.{table}", fmt.locale)),
        "labels": [fmt.period(start, grain) for start, _ in rows],
        "values": [count for _, count in rows],
        "text": [fmt.number(count) for _, count in rows],
    }


@router.get("/status", openapi_extra=requires(Action.VIEW_DATA_STATUS))
def data_status(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Loads, row counts, freshness per table, and rows per period of one table."""
    context = web_context(request)
    table = request.query_params.get("table") or DEFAULT_VOLUME_TABLE
    if table not in VOLUME_TABLES:
        raise InvalidViewParam("table", table, ", ".join(VOLUME_TABLES))
    with open_warehouse(context.settings) as warehouse:
        choices = load_filter_choices(warehouse)
        view = parse_view_params(
            request.query_params,
            role=principal.user.role.role,
            today=context.today(),
            choices=choices,
        )
        status = read_data_status(warehouse, context.today())
        volume = rows_by_period(warehouse, table, view.grain, view.start, view.end)
    fmt = locale_format(request)
    return render(
        request,
        "status.html",
        {
            "status": status,
            "view": view,
            "choices": choices,
            "volume_table": table,
            "volume_tables": VOLUME_TABLES,
            "volume": volume,
            "chart": volume_chart(volume, view.grain, table, fmt),
            "today": context.today(),
        },
    )
