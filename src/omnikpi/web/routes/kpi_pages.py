"""KPI pages: the executive scorecard, the stage dashboard, "my KPIs", the KPI detail (with
its CSV) and the catalog explorer. Each parses the view, calls a dashboard service and
renders; what a role may see is decided by the permission table and the services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from starlette.responses import Response, StreamingResponse

from omnikpi.auth import Action
from omnikpi.errors import InvalidChoice
from omnikpi.i18n import t
from omnikpi.services import (
    CachedKpiReader,
    CatalogSearch,
    Dashboard,
    Grain,
    KpiRequest,
    build_breakdown,
    build_dashboard,
    build_kpi_detail,
    channel_dimension,
    channel_dimensions,
    check_kpi_visible,
    default_tier,
    kpi_definition,
    period_end,
    period_start,
    query_kpis,
    search_catalog,
    tier_kpis,
)
from omnikpi.services.dashboard_download import dashboard_download
from omnikpi.services.downloads import kpi_rows_download, kpi_rows_file_name
from omnikpi.services.suppression import sees_customers
from omnikpi.web.charts import breakdown_chart, spark_label, sparkline, trend_chart
from omnikpi.web.context import web_context
from omnikpi.web.kpi_reader import filter_choices, kpi_reader
from omnikpi.web.labels import Labels
from omnikpi.web.navigation import nav_item
from omnikpi.web.rendering import locale_format, render, render_fragment
from omnikpi.web.security import Principal, request_locale, requires, signed_in
from omnikpi.web.view_params import ViewParams, parse_view_params, pick_choice

router = APIRouter(include_in_schema=False)


def read_view(
    request: Request, principal: Principal, reader: CachedKpiReader, grain: Grain | None = None
) -> ViewParams:
    """The view of the URL; by default the latest complete periods with data."""
    return parse_view_params(
        request.query_params,
        role=principal.user.role.role,
        today=web_context(request).today(),
        latest=reader.data_through(),
        grain=grain,
    )


def page_labels(request: Request, reader: CachedKpiReader) -> Labels:
    """Label lookups in the request's language, with the warehouse's stores and currency."""
    stores = dict(filter_choices(reader).stores)
    currency = web_context(request).data_settings().currency
    return Labels(request_locale(request), reader.catalog, stores, currency)


def _dashboard_values(
    request: Request, reader: CachedKpiReader, view: ViewParams, board: Dashboard
) -> dict[str, Any]:
    labels = page_labels(request, reader)
    fmt = locale_format(request)
    minimum = reader.settings.min_cell_customers
    sparks = {card.kpi.id: sparkline(card, fmt, labels, minimum) for card in board.cards}
    spark_labels = {
        card.kpi.id: spark_label(card, fmt, labels, minimum) for card in board.cards if card.trend
    }
    return {
        "board": board,
        "origin": DASHBOARD_ORIGINS[board.tier.split(":")[0]],
        "view": view,
        "choices": filter_choices(reader),
        "labels": labels,
        "sparks": sparks,
        "spark_labels": spark_labels,
    }


#: The menu page of each dashboard (a drill-down's `from`).
DASHBOARD_ORIGINS = {"cxo": "scorecard", "lead": "stages", "member": "my_kpis"}
#: Each dashboard page: its content template, its title, whether it draws charts.
DASHBOARD_PAGES = {
    "cxo": ("dashboards/scorecard.html", "scorecard.title", True),
    "lead": ("dashboards/stages.html", "stageboard.title", False),
    "member": ("dashboards/my_kpis.html", "my_kpis.title", True),
}


#: How the stage board lists each stage's KPIs: as the catalog does, or off target first.
STAGE_ORDERS = ("catalog", "status")


def _stage_order(request: Request) -> str:
    return pick_choice(request.query_params, "order", STAGE_ORDERS, "catalog")


def view_dashboard(
    request: Request, principal: Principal, reader: CachedKpiReader, tier: str, grain: Grain
) -> tuple[ViewParams, Dashboard]:
    """The view of the URL and the dashboard of `tier` in it: what a dashboard page shows
    and what its downloads hold (`grain`: the page's own)."""
    view = read_view(request, principal, reader, grain)
    board = build_dashboard(
        reader,
        principal.user.role,
        tier,
        view.grain,
        view.start,
        view.end,
        view.filters,
        view.comparison,
    )
    return view, board


def _dashboard_page(request: Request, principal: Principal, tier: str, grain: Grain) -> Response:
    """A dashboard of `tier`. Its content depends only on the data, the tier, the view, the
    language and whether the role sees values of few customers (small-cell suppression),
    so it is kept for the data version: the same view is rendered once."""
    template, title, charts = DASHBOARD_PAGES[tier.split(":")[0]]
    locale = request_locale(request)
    with kpi_reader(request) as reader:
        tier_kpis(reader.catalog, principal.user.role, tier)  # refused before anything cached

        def content() -> str:
            view, board = view_dashboard(request, principal, reader, tier, grain)
            values = _dashboard_values(request, reader, view, board)
            if tier == "lead":
                values["channels"] = channel_dimensions(reader, [c.kpi.id for c in board.cards])
                values["worst_first"] = _stage_order(request) == "status"
            return str(render_fragment(request, template, values))

        every_value = sees_customers(principal.user.role)
        html = reader.remember(("page", tier, locale, request.url.query, every_value), content)
    values = {"content": Markup(html), "title": t(title, locale), "charts": charts}
    return render(request, "dashboard_page.html", values)


@router.get("/scorecard", openapi_extra=requires(Action.VIEW_SCORECARD))
def scorecard(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The executive scorecard: the ten CxO KPIs for the latest complete month."""
    return _dashboard_page(request, principal, "cxo", Grain.MONTH)


@router.get("/stages", openapi_extra=requires(Action.VIEW_STAGE_DASHBOARD))
def stage_dashboard(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The stage dashboard: the lead KPIs by shopping stage for the latest complete week."""
    return _dashboard_page(request, principal, "lead", Grain.WEEK)


@router.get("/stages/{kpi_id}/channels", openapi_extra=requires(Action.VIEW_STAGE_DASHBOARD))
def stage_channels(
    request: Request, kpi_id: str, principal: Principal = Depends(signed_in)
) -> Response:
    """A KPI of the stage dashboard by its channel dimension (loaded on demand)."""
    with kpi_reader(request) as reader:
        check_kpi_visible(reader.catalog, principal.user.role, kpi_id)
        view = read_view(request, principal, reader, Grain.WEEK)
        dimension = channel_dimension(reader, kpi_id)
        breakdown = None
        if dimension is not None:
            breakdown = build_breakdown(
                reader,
                principal.user.role,
                kpi_id,
                dimension,
                view.grain,
                view.end,
                view.filters,
                view.comparison or "previous",
            )
        labels = page_labels(request, reader)
    values = {"breakdown": breakdown, "kpi": reader.catalog.get(kpi_id), "labels": labels}
    return render(request, "fragments/breakdown.html", {**values, "view": view})


@router.get("/my-kpis", openapi_extra=requires(Action.VIEW_MY_KPIS))
def my_kpis(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """A member's KPIs for the latest day with data, against the same day last week."""
    tier = default_tier(principal.user.role)
    return _dashboard_page(request, principal, tier, Grain.DAY)


#: The files a dashboard downloads as (`format=`), with their media types.
DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def csv_response(chunks: Iterable[str], headers: Mapping[str, str]) -> StreamingResponse:
    """A CSV download streamed a piece at a time (the rows are read before it starts, so
    an error is still a whole error page, never a file cut short)."""
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in chunks),
        media_type=DOWNLOAD_TYPES["csv"],
        headers=headers,
    )


def attachment(name: str) -> dict[str, str]:
    """The Content-Disposition of a download called `name` (RFC 6266: an ASCII name, and
    the name in UTF-8 too when it has other letters)."""
    plain = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    value = f'attachment; filename="{plain}"'
    if plain != name:
        value += f"; filename*=UTF-8''{quote(name)}"
    return {"Content-Disposition": value}


def _dashboard_download(
    request: Request, principal: Principal, tier: str, grain: Grain
) -> Response:
    """The dashboard of `tier` in the URL's view as CSV or Excel: the same dashboard the
    page shows (`view_dashboard`), labelled in the page's language."""
    chosen = pick_choice(request.query_params, "format", tuple(DOWNLOAD_TYPES), "csv")
    origin = DASHBOARD_ORIGINS[tier.split(":")[0]]
    _, title, _ = DASHBOARD_PAGES[tier.split(":")[0]]
    with kpi_reader(request) as reader:
        _, board = view_dashboard(request, principal, reader, tier, grain)
        labels = page_labels(request, reader)
    download = dashboard_download(
        board,
        locale_format(request),
        labels,
        page=nav_item(origin).path.strip("/"),
        title=t(title, labels.locale),
        worst_first=tier == "lead" and _stage_order(request) == "status",
    )
    headers = attachment(download.file_name(chosen))
    if chosen == "csv":
        return csv_response(download.csv_chunks(), headers)
    return Response(download.xlsx(), media_type=DOWNLOAD_TYPES[chosen], headers=headers)


@router.get("/scorecard/export", openapi_extra=requires(Action.VIEW_SCORECARD))
def scorecard_download(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The scorecard of the URL's view as CSV (`format=csv`, default) or Excel (`xlsx`)."""
    return _dashboard_download(request, principal, "cxo", Grain.MONTH)


@router.get("/stages/export", openapi_extra=requires(Action.VIEW_STAGE_DASHBOARD))
def stage_dashboard_download(
    request: Request, principal: Principal = Depends(signed_in)
) -> Response:
    """The stage dashboard of the URL's view (and order) as CSV or Excel (`format=`)."""
    return _dashboard_download(request, principal, "lead", Grain.WEEK)


@router.get("/my-kpis/export", openapi_extra=requires(Action.VIEW_MY_KPIS))
def my_kpis_download(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """A member's KPIs in the URL's view as CSV or Excel (`format=`)."""
    return _dashboard_download(request, principal, default_tier(principal.user.role), Grain.DAY)


@router.get("/kpis", openapi_extra=requires(Action.EXPLORE_KPI_CATALOG))
def kpi_catalog(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Every KPI the role may open, searchable and filterable."""
    params = request.query_params
    search = CatalogSearch(
        text=params.get("q", ""),
        stage=params.get("stage") or None,
        function=params.get("function") or None,
        race=params.get("race") or None,
        tier=params.get("tier") or None,
    )
    context = web_context(request)
    found = search_catalog(context.catalog, principal.user.role, search)
    currency = context.data_settings().currency
    labels = Labels(request_locale(request), context.catalog, currency=currency)
    return render(request, "catalog.html", {"found": found, "labels": labels})


def _breakdown_param(
    request: Request, allowed: tuple[str, ...], default: str | None = None
) -> str | None:
    """The `by` dimension of the URL: absent → `default`, empty → none."""
    if "by" not in request.query_params:
        return default
    chosen = request.query_params["by"].strip()
    if not chosen:
        return None
    if chosen not in allowed:
        raise InvalidChoice("by", chosen, ", ".join(allowed) or "-")
    return chosen


@router.get("/kpis/{kpi_id}", openapi_extra=requires(Action.VIEW_KPI_DETAIL))
def kpi_detail(
    request: Request, kpi_id: str, principal: Principal = Depends(signed_in)
) -> Response:
    """A KPI's trend with target, breakdown, values, definition and compiled query."""
    with kpi_reader(request) as reader:
        kpi = check_kpi_visible(reader.catalog, principal.user.role, kpi_id)
        view = read_view(request, principal, reader)
        allowed = tuple(sorted(reader.dimensions(kpi_id)))
        usual = kpi.breakdown or channel_dimension(reader, kpi_id)
        breakdown_by = _breakdown_param(request, allowed, usual)
        if "compare" not in view.given:
            # The detail opens compared with the previous period (a drill-down says how
            # the page it came from compares).
            view = replace(view, compare="previous")
        detail = build_kpi_detail(
            reader, principal.user.role, view.kpi_request(kpi_id), breakdown_by
        )
        # The query of the whole month the view ends in: the same for every day of it.
        month = period_start(view.end, Grain.MONTH)
        explanation = reader.read(
            ("explain", kpi_id, month),
            lambda warehouse: kpi_definition(
                reader.catalog, kpi_id, warehouse, today=period_end(month, Grain.MONTH)
            ),
        )
        labels = page_labels(request, reader)
        choices = filter_choices(reader)
    fmt = locale_format(request)
    values = {
        "back": back_link(view),
        "csv_url": csv_url(detail.series.request),
        "breakdown_csv_url": csv_url(detail.breakdown.series.request) if detail.breakdown else None,
        "kpi": kpi,
        "detail": detail,
        "explanation": explanation,
        "view": view,
        "choices": choices,
        "labels": labels,
        "trend": trend_chart(detail.series, fmt, labels, reader.settings.min_cell_customers),
        "breakdown_chart": (
            breakdown_chart(detail.breakdown, fmt, labels) if detail.breakdown else None
        ),
    }
    return render(request, "kpi_detail.html", values)


def back_link(view: ViewParams) -> tuple[str, str] | None:
    """The menu page a drill-down came from and its address in the same view (period,
    filters and a comparison the address names), for the detail's breadcrumb."""
    if view.origin is None:
        return None
    return view.origin, nav_item(view.origin).path + view.without_origin().query_string()


def csv_url(request: KpiRequest) -> str:
    """The address of the CSV of `request`'s rows (one KPI) as the detail page offers it:
    laid out for people (`layout=sheet`, see `kpi_csv`)."""
    return f"/kpis/{request.kpis[0]}/csv?{urlencode([*request.query(), ('layout', 'sheet')])}"


def series_request(
    request: Request, principal: Principal, reader: CachedKpiReader, kpi_id: str
) -> KpiRequest:
    """The KPI request of a series address (`GET /api/v1/kpis/{id}/series`, the CSV
    download): the view's period, comparison and filters, `by=` and `filter=DIM=VALUE`
    parameters — read exactly as `omnikpi kpi query` reads its options."""
    params = request.query_params
    view = read_view(request, principal, reader)
    asked = view.kpi_request(kpi_id, params.getlist("by"), params.getlist("filter"))
    parts = params.get("parts", "").strip().lower() or "false"
    if parts not in ("true", "1", "false", "0"):
        raise InvalidChoice("parts", parts, "true, false")
    return replace(asked, parts=parts in ("true", "1"))


#: How a KPI's CSV is laid out: the engine's rows, or the rows for people (see `kpi_csv`).
CSV_LAYOUTS = ("rows", "sheet")


@router.get("/kpis/{kpi_id}/csv", openapi_extra=requires(Action.VIEW_KPI_DETAIL))
def kpi_csv(request: Request, kpi_id: str, principal: Principal = Depends(signed_in)) -> Response:
    """A KPI's values as CSV: the rows of `GET /api/v1/kpis/{id}/series` and of
    `omnikpi kpi query --format csv` for the same request. With `layout=sheet` (the KPI
    detail page's downloads), the same rows for people: names, periods and values also
    formatted in the page's language, the view in columns, and a file name saying what
    the rows are (`kpi_rows_download`)."""
    layout = pick_choice(request.query_params, "layout", CSV_LAYOUTS, "rows")
    with kpi_reader(request) as reader:
        wanted = series_request(request, principal, reader, kpi_id)
        result = query_kpis(reader, wanted, principal.user.role)
        if layout == "sheet":
            labels = page_labels(request, reader)
            table = kpi_rows_download(result, locale_format(request), labels)
            return csv_response(
                table.csv_chunks(for_spreadsheets=True), attachment(kpi_rows_file_name(result))
            )
    by = "_by_" + "_".join(wanted.by) if wanted.by else ""
    name = f"{kpi_id}_{wanted.grain}{by}_{wanted.start.isoformat()}_{wanted.end.isoformat()}.csv"
    return csv_response(result.csv_chunks(), attachment(name))
