"""`/customers/catchment`: a new store's catchment — the customers living within a radius
(or a drive-time proxy) of a location or a store against all customers, as side-by-side
bar charts and tables (no map).

A thin handler over `omnikpi.services.catchment`, which checks the permission
(VIEW_CUSTOMER_AGGREGATES) and withholds small cells below analysts. Registered before the
customer pages' router: `/customers/{customer_id}` would otherwise take the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.errors import ConfigError, DataError, InvalidChoice, NotFound, UnknownValue
from omnikpi.i18n import LocaleFormat, t
from omnikpi.services.catchment import (
    DEFAULT_CATCHMENT_WINDOW,
    CatchmentAnswer,
    CatchmentRequest,
    catchment_analysis,
    store_choices,
)
from omnikpi.services.suppression import withheld_marker
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.routes.customer_pages import cached_aggregate, heat_style, label, sections
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)

#: The form's fields, as the URL names them.
FIELDS = ("store", "lat", "lon", "radius_km", "drive_minutes", "speed_kmh", "window")
#: Windows the form offers (the service takes any `Nd`, `Nm`, `Ny` or a date range).
WINDOWS = ("90d", "180d", "365d", "2y")
#: The summary's rows: figure → how it is formatted.
SUMMARY_ROWS = {
    "customers": "number",
    "buyers": "number",
    "orders_per_customer": "decimal",
    "orders_per_buyer": "decimal",
    "average_order_value": "money",
    "revenue_per_customer": "money",
    "clv_per_customer": "money",
    "lifetime_revenue_per_customer": "money",
}
#: The charts, in order: (facet, share figure, how its values are labelled).
CHARTS: tuple[tuple[str, str, str | None], ...] = (
    ("channels", "order_share", "channels"),
    ("channels", "revenue_share", "channels"),
    ("categories", "revenue_share", None),
    ("segments", "share", "segments"),
    ("distance_bands", "share", "bands"),
)


def _number(name: str, text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise InvalidChoice(name, text, "a number") from None


def catchment_request(form: Mapping[str, str]) -> CatchmentRequest:
    """The request the form describes (InvalidChoice for a value that is not a number)."""
    speed = _number("speed-kmh", form["speed_kmh"])
    return CatchmentRequest(
        latitude=_number("latitude", form["lat"]),
        longitude=_number("longitude", form["lon"]),
        radius_km=_number("radius-km", form["radius_km"]),
        store_id=form["store"] or None,
        drive_minutes=_number("drive-minutes", form["drive_minutes"]),
        **({"speed_kmh": speed} if speed is not None else {}),
        window=form["window"] or None,
    )


def value_label(kind: str | None, value: str, fmt: LocaleFormat) -> str:
    """A mix value's label: channels and segments in the page's language, distance bands
    in km, categories as the data names them."""
    if kind == "bands":
        return t("customers.catchment_page.band_km", fmt.locale, band=value)
    if kind is not None:
        return label(kind, value, fmt.locale)
    return value


def share_chart(
    rows: Sequence[Mapping[str, Any]],
    figure: str,
    fmt: LocaleFormat,
    minimum: int | None,
) -> dict[str, Any]:
    """Horizontal bars: the catchment's and all customers' share of each value (rows with
    their `label`), side by side (a withheld share is not plotted and reads "<10")."""
    marker = withheld_marker(fmt.locale, minimum or 0)
    series = []
    for group in ("catchment", "all"):
        values = [row[f"{group}_{figure}"] for row in rows]
        series.append(
            {
                "name": t(f"customers.catchment_page.groups.{group}", fmt.locale),
                "role": "share",
                "values": values,
                "text": [
                    marker
                    if row.get(f"{group}_suppressed")
                    else fmt.percent(v)
                    if v is not None
                    else "—"
                    for v, row in zip(values, rows, strict=True)
                ],
            }
        )
    return {
        "kind": "hbar",
        "axis": "percent",
        "currency": fmt.currency,
        "labels": [row["label"] for row in rows],
        "series": series,
    }


def summary_text(figure: str, value: Any, fmt: LocaleFormat) -> str:
    """A summary figure, formatted ("—" when there is none)."""
    if value is None:
        return "—"
    unit = SUMMARY_ROWS[figure]
    if unit == "money":
        return fmt.money(value)
    if unit == "decimal":
        return fmt.number(value, 2)
    return fmt.number(value)


def page_charts(answer: CatchmentAnswer, fmt: LocaleFormat) -> list[dict[str, Any]]:
    """Each chart of CHARTS with its rows (labelled) and height."""
    charts = []
    for facet, figure, kind in CHARTS:
        rows = [
            {**row, "label": value_label(kind, str(row["value"]), fmt)}
            for row in answer.facets[facet]
        ]
        chart = share_chart(rows, figure, fmt, answer.minimum)
        charts.append(
            {
                "facet": facet,
                "figure": figure,
                "rows": rows,
                "chart": chart,
                "height": 70 + 40 * len(rows),
            }
        )
    return charts


@router.get("/customers/catchment", openapi_extra=requires(Action.VIEW_CUSTOMER_AGGREGATES))
def catchment_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The form (a store or a latitude and longitude; a radius or drive minutes; the
    window) and, once asked, the catchment against all customers; an error in the form
    is said on the page."""
    context = web_context(request)
    fmt = locale_format(request)
    actor = request_actor(request)
    settings = context.settings
    form = {name: (request.query_params.get(name) or "").strip() for name in FIELDS}
    stores = cached_aggregate(request, "catchment:stores", lambda: store_choices(settings))
    answer: CatchmentAnswer | None = None
    error: str | None = None
    if form["store"] or form["lat"] or form["lon"]:
        try:
            asked = catchment_request(form)
            key = "catchment:" + "&".join(f"{n}={form[n]}" for n in FIELDS)
            answer = cached_aggregate(
                request, key, lambda: catchment_analysis(settings, actor, asked)
            )
        except (ConfigError, DataError, NotFound, UnknownValue) as exc:
            error = str(exc)
    window = form["window"] or DEFAULT_CATCHMENT_WINDOW
    named = [(store_id, name.in_language(fmt.locale)) for store_id, name in stores]
    values: dict[str, Any] = {
        "sections": sections(principal),
        "section": "catchment",
        "may_view_customers": principal.may(Action.VIEW_CUSTOMER_LEVEL),
        "label": lambda group, value: label(group, value, fmt.locale),
        "heat_style": heat_style,
        "form": form,
        "stores": named,
        "store_label": dict(named).get(answer.store_id or "") if answer else None,
        "windows": WINDOWS if window in WINDOWS else (*WINDOWS, window),
        "window": window,
        "answer": answer,
        "error": error,
        "summary_rows": tuple(SUMMARY_ROWS),
        "summary_text": lambda figure, value: summary_text(figure, value, fmt),
        "charts": page_charts(answer, fmt) if answer else [],
    }
    return render(request, "customers/catchment.html", values)
