"""Pages: each role's start, home and data status (the KPI pages are in `kpi_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from omnikpi.auth import Action
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import t
from omnikpi.services import VOLUME_TABLES, table_volume, warehouse_status
from omnikpi.web.charts import volume_chart
from omnikpi.web.context import web_context
from omnikpi.web.kpi_reader import filter_choices, kpi_reader
from omnikpi.web.navigation import landing_page, navigation_for
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.security import Principal, requires, signed_in
from omnikpi.web.view_params import parse_view_params

router = APIRouter(include_in_schema=False)

#: The table whose volume the status page charts unless the URL names another.
DEFAULT_VOLUME_TABLE = "orders"


@router.get("/", openapi_extra=requires(Action.VIEW_HOME))
def start(principal: Principal = Depends(signed_in)) -> Response:
    """Each role's own page: the scorecard, the stages, My KPIs or the KPI catalog."""
    return RedirectResponse(landing_page(principal.user.role).path, status_code=303)


@router.get("/home", openapi_extra=requires(Action.VIEW_HOME))
def home(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Who you are, what you may open, where you start and how fresh the data is. The pages
    listed are the menu's (those the permission table lets the role open), nothing more."""
    context = web_context(request)
    status = warehouse_status(context.settings, context.today())
    pages = [item for item in navigation_for(principal) if item.key != "home"]
    values = {
        "pages": pages,
        "landing": landing_page(principal.user.role),
        "latest_data": status.latest_data,
    }
    return render(request, "home.html", values)


@router.get("/status", openapi_extra=requires(Action.VIEW_DATA_STATUS))
def data_status(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Loads, row counts, freshness per table, and rows per period of one table."""
    context = web_context(request)
    table = request.query_params.get("table") or DEFAULT_VOLUME_TABLE
    if table not in VOLUME_TABLES:
        raise InvalidChoice("table", table, ", ".join(VOLUME_TABLES))
    view = parse_view_params(
        request.query_params, role=principal.user.role.role, today=context.today()
    )
    status = warehouse_status(context.settings, context.today())
    volume = table_volume(context.settings, table, view.grain, view.start, view.end)
    with kpi_reader(request) as reader:
        choices = filter_choices(reader)
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
