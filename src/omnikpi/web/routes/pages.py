"""Pages: home and data status (the KPI pages are in `kpi_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.i18n import t
from omnikpi.web.charts import volume_chart
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
    series_name = t("status.volume.series", fmt.locale, table=t(f"tables.{table}", fmt.locale))
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
            "chart": volume_chart(volume, view.grain, series_name, fmt),
            "today": context.today(),
        },
    )
