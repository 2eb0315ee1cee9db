"""The analysts' customer pages: lifecycle segments and their flows (`/customers`),
acquisition cohorts (`/customers/cohorts`), CLV (`/customers/clv`), the top customers
(`/customers/top`) and one customer's 360 (`/customers/{customer_id}`).

Thin handlers over `omnikpi.services.customers` (and `clv_scores`, `clv_holdout`,
`customer_insights`): the services check the permission table, withhold small cells from
roles without customer-level access and audit every customer-level read. Aggregate pages
are for the roles that read the whole business (VIEW_CUSTOMER_AGGREGATES), customer-level
pages for analysts and admins (VIEW_CUSTOMER_LEVEL, 403 otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from omnikpi.auth import Action
from omnikpi.errors import ConfigError, DataError, InvalidChoice
from omnikpi.i18n import Locale, LocaleFormat, has_message, t
from omnikpi.services.clv import PURCHASE_MODELS
from omnikpi.services.clv_holdout import ClvHoldout, check_clv_holdout
from omnikpi.services.clv_scores import HistogramBin, clv_distribution
from omnikpi.services.customer_insights import (
    DEFAULT_WINDOW,
    TopCustomerAnswer,
    top_customer_profile,
)
from omnikpi.services.customer_insights import NONE_LABEL as NO_VALUE
from omnikpi.services.customers import (
    COHORT_BY,
    NOT_YET,
    CustomerTable,
    cohorts,
    customer_profile,
    rfm_groups,
    segment_sizes,
    segment_transition_matrix,
)
from omnikpi.services.reader import data_version
from omnikpi.services.suppression import sees_customers, withheld_marker
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)

#: The customer pages' own menu, in order: (key, path, action).
SECTIONS: tuple[tuple[str, str, Action], ...] = (
    ("segments", "/customers", Action.VIEW_CUSTOMER_AGGREGATES),
    ("cohorts", "/customers/cohorts", Action.VIEW_CUSTOMER_AGGREGATES),
    ("clv", "/customers/clv", Action.VIEW_CUSTOMER_LEVEL),
    ("top", "/customers/top", Action.VIEW_CUSTOMER_AGGREGATES),
    ("catchment", "/customers/catchment", Action.VIEW_CUSTOMER_AGGREGATES),
)

Spec = dict[str, Any]
#: A colour per packaged lifecycle segment (more segments than the chart palette has
#: colours; each says something: red for bad experiences, grey for gone).
SEGMENT_COLOURS = {
    "negative_experience": "#dc2626",
    "hero": "#0f766e",
    "new": "#15803d",
    "active": "#0b5cad",
    "cart_abandoner": "#7c3aed",
    "at_risk": "#db2777",
    "lapsed": "#64748b",
    "prospect": "#cbd5e1",
}
T = TypeVar("T")


# -- labels and shared pieces ----------------------------------------------------------------
#: Where else a value's label may be: the KPI pages' labels of channels and regions.
_ALSO = {
    "channels": (
        "channels",
        "dimension_values.traffic_source",
        "dimension_values.marketing_channel",
    ),
    "regions": ("dimension_values.region",),
}


def label(group: str, value: object, locale: Locale) -> str:
    """The label of `value` in `customers.<group>` (a segment, an RFM group, a channel), or
    the value itself when the catalog has none (segments and groups are overridable)."""
    text = "not_yet" if value == NOT_YET else str(value)
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    for prefix in (f"customers.{group}", *_ALSO.get(group, ())):
        for name in dict.fromkeys((text, slug, text.title())):
            if has_message(f"{prefix}.{name}", locale):
                return t(f"{prefix}.{name}", locale)
    return str(value)


def sections(principal: Principal) -> list[tuple[str, str]]:
    """The customer pages `principal` may open: (key, path)."""
    return [(key, path) for key, path, action in SECTIONS if principal.may(action)]


def heat_style(share: float | None) -> str:
    """A heatmap cell's inline style: the accent colour at an opacity following `share`
    (0..1), light text on dark cells. CSP allows inline styles, not scripts."""
    if share is None:
        return ""
    alpha = max(0.0, min(1.0, float(share)))
    text = "color: #fff; " if alpha > 0.55 else ""
    return f"{text}background-color: rgb(11 92 173 / {0.06 + 0.84 * alpha:.3f})"


def _values(request: Request, principal: Principal, section: str) -> dict[str, Any]:
    """What every customer page's template gets: its sub-menu and the search box."""
    return {
        "sections": sections(principal),
        "section": section,
        "may_view_customers": principal.may(Action.VIEW_CUSTOMER_LEVEL),
        "label": lambda group, value: label(group, value, locale_format(request).locale),
        "heat_style": heat_style,
    }


def cached_aggregate(request: Request, name: str, compute: Callable[[], T]) -> T:
    """An aggregate answer (no customer-level rows, so nothing to audit) kept for the data's
    version and for whether the role sees small cells: the segment pages recompute every
    customer's features at each month end, which takes seconds."""
    context = web_context(request)
    sees = sees_customers(signed_in(request).user.role)
    key = (data_version(context.settings.warehouse), "customer_pages", name, sees)
    return context.results.get_or_compute(key, compute)


def _is_withheld(row: Mapping[str, Any]) -> bool:
    return bool(row.get("suppressed"))


# -- /customers: segments and their flows ----------------------------------------------------
def segment_chart(table: CustomerTable, fmt: LocaleFormat, minimum: int | None) -> Spec:
    """Stacked bars: customers per segment at each month end (withheld sizes are not
    plotted and read "<10")."""
    marker = withheld_marker(fmt.locale, minimum or 0)
    dates = sorted({row["as_of"] for row in table.rows})
    segments = list(dict.fromkeys(row["segment"] for row in table.rows))
    cells = {(row["as_of"], row["segment"]): row for row in table.rows}
    series = []
    for segment in segments:
        found = [cells.get((day, segment)) for day in dates]
        values = [None if row is None or _is_withheld(row) else row["customers"] for row in found]
        text = [
            marker
            if row is not None and _is_withheld(row)
            else _count_share(fmt, row["customers"], row["share"])
            if row is not None
            else "—"
            for row in found
        ]
        name = label("segments", segment, fmt.locale)
        line = {"name": name, "role": "share", "values": values, "text": text}
        if segment in SEGMENT_COLOURS:
            line["color"] = SEGMENT_COLOURS[segment]
        series.append(line)
    return {
        "kind": "bar",
        "stacked": True,
        "axis": "number",
        "currency": fmt.currency,
        "labels": [fmt.day(day) for day in dates],
        "series": series,
    }


def _count_share(fmt: LocaleFormat, customers: int | None, share: float | None) -> str:
    if customers is None:
        return "—"
    if share is None:
        return fmt.number(customers)
    return f"{fmt.number(customers)} ({fmt.percent(share)})"


def latest_sizes(table: CustomerTable) -> list[dict[str, Any]]:
    """The last date's segments with the change in customers since the date before
    (None where either is withheld)."""
    dates = sorted({row["as_of"] for row in table.rows})
    if not dates:
        return []
    before = {
        row["segment"]: row for row in table.rows if len(dates) > 1 and row["as_of"] == dates[-2]
    }
    rows = []
    for row in table.rows:
        if row["as_of"] != dates[-1]:
            continue
        previous = before.get(row["segment"])
        change = None
        if previous is not None and None not in (row["customers"], previous["customers"]):
            change = row["customers"] - previous["customers"]
        rows.append(
            {**row, "change": change, "previous_date": dates[-2] if len(dates) > 1 else None}
        )
    return rows


def transition_grid(table: CustomerTable) -> dict[str, Any]:
    """The transition matrix as a grid: from-segments (rows), to-segments (columns) and
    each cell's row."""
    sources = list(dict.fromkeys(row["from_segment"] for row in table.rows))
    targets = list(dict.fromkeys(row["to_segment"] for row in table.rows))
    cells = {(row["from_segment"], row["to_segment"]): row for row in table.rows}
    totals: dict[str, int | None] = {}
    for source in sources:
        counts = [cells[(source, target)]["customers"] for target in targets]
        totals[source] = None if any(c is None for c in counts) else sum(counts)
    first = table.rows[0] if table.rows else {}
    return {
        "sources": sources,
        "targets": targets,
        "cells": cells,
        "totals": totals,
        "from_date": first.get("from_date"),
        "to_date": first.get("to_date"),
    }


@router.get("/customers", openapi_extra=requires(Action.VIEW_CUSTOMER_AGGREGATES))
def segments_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Segment sizes over the last 13 month ends (stacked bars), the latest sizes, the
    month-to-month transition matrix and the RFM groups; `?customer=ID` opens a 360."""
    wanted = (request.query_params.get("customer") or "").strip()
    if wanted:
        return RedirectResponse(f"/customers/{quote(wanted, safe='')}", status_code=303)
    context = web_context(request)
    actor = request_actor(request)
    fmt = locale_format(request)
    settings = context.settings
    sizes = cached_aggregate(request, "sizes", lambda: segment_sizes(settings, actor))
    moves = cached_aggregate(
        request, "transitions", lambda: segment_transition_matrix(settings, actor)
    )
    groups = cached_aggregate(request, "rfm", lambda: rfm_groups(settings, actor))
    values = _values(request, principal, "segments")
    values.update(
        sizes=sizes,
        chart=segment_chart(sizes, fmt, sizes.minimum),
        latest=latest_sizes(sizes),
        grid=transition_grid(moves),
        moves=moves,
        groups=groups,
        dates=sorted({row["as_of"] for row in sizes.rows}),
        withheld_cells=sizes.withheld + moves.withheld + groups.withheld,
    )
    return render(request, "customers/segments.html", values)


# -- /customers/cohorts: acquisition cohorts -------------------------------------------------
#: What a cohort heatmap can show: metric → how its values are formatted.
COHORT_METRICS = {
    "retention": "percent",
    "revenue_per_customer": "currency",
    "cumulative_revenue_per_customer": "currency",
}
#: The group of a cohort table without `by`.
_ALL = "__all__"


def _metric_text(value: float | None, unit: str, fmt: LocaleFormat) -> str:
    if value is None:
        return "—"
    return fmt.percent(value) if unit == "percent" else fmt.money(value)


def cohort_grids(
    table: CustomerTable, by: str | None, metric: str, fmt: LocaleFormat
) -> list[dict[str, Any]]:
    """One heatmap per value of `by` (one in all without): cohorts (rows) × months since
    acquisition (columns), each cell the metric's value, text, heat and whether the month
    is complete; withheld cells carry their reason."""
    unit = COHORT_METRICS[metric]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table.rows:
        groups.setdefault(str(row[by]) if by else _ALL, []).append(row)
    grids = []
    for group, rows in groups.items():
        months = max(row["months_since"] for row in rows) + 1
        # Month 0's retention is 100 % by definition: the colours spread the later months.
        later = [row[metric] for row in rows if row["months_since"] > 0 and row[metric] is not None]
        low, high = min(later, default=0.0), max(later, default=0.0)
        cohorts: dict[Any, dict[str, Any]] = {}
        for row in rows:
            cohort = cohorts.setdefault(
                row["cohort"],
                {"cohort": row["cohort"], "customers": row["cohort_customers"], "cells": {}},
            )
            if row["cohort_customers"] is None:
                cohort["customers"] = None
            value = row[metric]
            heat = None
            if (
                value is not None
                and high > low
                and not (unit == "percent" and row["months_since"] == 0)
            ):
                heat = 0.1 + 0.9 * max(0.0, min(1.0, (value - low) / (high - low)))
            cohort["cells"][row["months_since"]] = {
                "value": value,
                "text": _metric_text(value, unit, fmt),
                "heat": heat,
                "complete": bool(row["complete"]),
                "suppressed": row.get("suppressed"),
            }
        grids.append(
            {
                "group": group,
                "months": list(range(months)),
                "cohorts": [cohorts[key] for key in sorted(cohorts)],
                "curve": cohort_curve(rows, metric, months),
            }
        )
    return grids


def cohort_curve(rows: Sequence[Mapping[str, Any]], metric: str, months: int) -> list[float | None]:
    """The metric over months since acquisition across the cohorts, weighted by cohort size:
    complete, shown cells only (a withheld or partial month is left out)."""
    curve: list[float | None] = []
    for month in range(months):
        cells = [
            row
            for row in rows
            if row["months_since"] == month
            and row["complete"]
            and row[metric] is not None
            and row["cohort_customers"] is not None
        ]
        size = sum(row["cohort_customers"] for row in cells)
        if not size:
            curve.append(None)
            continue
        curve.append(sum(row[metric] * row["cohort_customers"] for row in cells) / size)
    return curve


def cohort_chart(grids: Sequence[Mapping[str, Any]], metric: str, fmt: LocaleFormat) -> Spec:
    """Lines: the size-weighted metric by months since acquisition, one per group; the
    retention curve starts at month 1 (month 0 is 100 % by definition)."""
    unit = COHORT_METRICS[metric]
    months = max((len(grid["months"]) for grid in grids), default=0)
    first = 1 if metric == "retention" and months > 1 else 0
    series = []
    for grid in grids:
        name = (
            t("customers.cohorts_page.all_customers", fmt.locale)
            if grid["group"] == _ALL
            else label("channels", grid["group"], fmt.locale)
        )
        values = [*grid["curve"], *([None] * (months - len(grid["curve"])))][first:]
        text = [_metric_text(value, unit, fmt) for value in values]
        series.append({"name": name, "role": "share", "values": values, "text": text})
    return {
        "kind": "line",
        "axis": unit,
        "currency": fmt.currency,
        "labels": [
            t("customers.cohorts_page.month_n", fmt.locale, n=m) for m in range(first, months)
        ],
        "series": series,
    }


@router.get("/customers/cohorts", openapi_extra=requires(Action.VIEW_CUSTOMER_AGGREGATES))
def cohorts_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Acquisition cohorts (first-order month) × months since: retention or revenue per
    customer as a heatmap, `?by=` acquisition channel, first channel or first store."""
    params = request.query_params
    by = params.get("by") or None
    metric = params.get("metric") or "retention"
    if by is not None and by not in COHORT_BY:
        raise InvalidChoice("by", by, ", ".join(COHORT_BY))
    if metric not in COHORT_METRICS:
        raise InvalidChoice("metric", metric, ", ".join(COHORT_METRICS))
    context = web_context(request)
    fmt = locale_format(request)
    actor = request_actor(request)
    table = cached_aggregate(
        request, f"cohorts:{by}", lambda: cohorts(context.settings, actor, by=by)
    )
    grids = cohort_grids(table, by, metric, fmt)
    values = _values(request, principal, "cohorts")
    values.update(
        table=table,
        by=by or "",
        by_choices=COHORT_BY,
        metric=metric,
        metrics=tuple(COHORT_METRICS),
        grids=grids,
        chart=cohort_chart(grids, metric, fmt),
        all_group=_ALL,
    )
    return render(request, "customers/cohorts.html", values)


# -- /customers/clv: CLV distribution and the holdout check ----------------------------------
#: The holdout period the CLV page checks the purchase model on, unless the URL says.
HOLDOUT_DAYS = 182


def histogram_chart(
    bins: Sequence[HistogramBin], name: str, fmt: LocaleFormat, *, money: bool
) -> Spec:
    """Bars: customers per bin, labelled with the bin's bounds (the open top bin "≥ x")."""

    def bound(value: float) -> str:
        return fmt.money(value) if money else fmt.percent(value, 0)

    labels = [
        f"{bound(b.lower)}–{bound(b.upper)}" if b.upper is not None else f"≥ {bound(b.lower)}"
        for b in bins
    ]
    counts = [b.customers for b in bins]
    return {
        "kind": "bar",
        "axis": "number",
        "currency": fmt.currency,
        "labels": labels,
        "series": [
            {
                "name": name,
                "role": "value",
                "values": counts,
                "text": [fmt.number(count) for count in counts],
            }
        ],
    }


def holdout_chart(holdout: ClvHoldout, fmt: LocaleFormat) -> Spec:
    """Bars: mean actual vs predicted repeat purchases in the holdout per calibration
    frequency."""
    buckets = holdout.report.buckets.to_dict(orient="records")
    series = []
    for column in ("actual", "predicted"):
        values = [float(row[column]) for row in buckets]
        series.append(
            {
                "name": t(f"customers.clv_page.{column}", fmt.locale),
                "role": "share",
                "values": values,
                "text": [fmt.number(value, 2) for value in values],
            }
        )
    return {
        "kind": "bar",
        "axis": "number",
        "currency": fmt.currency,
        "labels": [str(row["frequency"]) for row in buckets],
        "series": series,
    }


def _calibration_end(text: str | None, as_of: date) -> date:
    if not text:
        return as_of - timedelta(days=HOLDOUT_DAYS)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidChoice("calibration_end", text, "YYYY-MM-DD") from None


@router.get("/customers/clv", openapi_extra=requires(Action.VIEW_CUSTOMER_LEVEL))
def clv_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The distribution of the stored CLV and P(alive) and, for the fitted purchase model,
    predicted vs actual repeat purchases in a holdout (`?calibration_end=`, default
    26 weeks before the scores' day); without a fit, how to fit one."""
    context = web_context(request)
    actor = request_actor(request)
    fmt = locale_format(request)
    overview = clv_distribution(context.settings, context.store, actor)
    values = _values(request, principal, "clv")
    values.update(overview=overview, holdout=None, holdout_error=None)
    if overview is None:
        return render(request, "customers/clv.html", values)
    purchase = next((m for m in overview.models if m.model in PURCHASE_MODELS), None)
    model = purchase.model if purchase else overview.model.split("+")[0]
    unit = purchase.time_unit if purchase else "week"
    end = _calibration_end(request.query_params.get("calibration_end"), overview.as_of)
    values.update(
        purchase_model=purchase,
        calibration_end=end,
        clv_chart=histogram_chart(
            overview.clv_bins, t("customers.columns.customers", fmt.locale), fmt, money=True
        ),
        alive_chart=histogram_chart(
            overview.p_alive_bins, t("customers.columns.customers", fmt.locale), fmt, money=False
        ),
    )
    try:
        holdout = check_clv_holdout(
            context.settings,
            context.store,
            actor,
            model=model,
            calibration_end=end,
            holdout_end=overview.as_of,
            time_unit=unit,
        )
    except (ConfigError, DataError) as exc:
        values["holdout_error"] = str(exc)
    else:
        values.update(holdout=holdout, holdout_chart=holdout_chart(holdout, fmt))
    return render(request, "customers/clv.html", values)


# -- /customers/top: the top customers against the rest -------------------------------------
#: The windows the top-customer page offers (the service takes any `Nd`, `Nm`, `Ny`).
TOP_WINDOWS = ("90d", "6m", "12m", "2y")
#: How each profile facet's values are labelled: facet → label group.
_FACET_LABELS = {
    "channel": "channels",
    "acquisition_channel": "channels",
    "first_channel": "channels",
    "region": "regions",
    "tenure": "tenure",
}


def facet_value(facet: str, value: object, locale: Locale) -> str:
    """A profile value's label: channels, regions, tenure bands and membership in the
    page's language; categories as the data names them."""
    text = str(value)
    if text == NO_VALUE:
        return t("customers.top_page.none", locale)
    if facet == "membership":
        if text.startswith("member: "):
            return t("customers.top_page.member", locale, tier=text.removeprefix("member: "))
        return t("customers.top_page.non_member", locale)
    if facet in _FACET_LABELS:
        return label(_FACET_LABELS[facet], text, locale)
    return text


def top_profile_facets(
    answer: TopCustomerAnswer, fmt: LocaleFormat, minimum: int | None
) -> list[dict[str, Any]]:
    """The profile per facet: its rows (values labelled) and a chart of the share of top
    and other customers having each value (withheld shares read "<10")."""
    marker = withheld_marker(fmt.locale, minimum or 0)
    facets: dict[str, list[dict[str, Any]]] = {}
    for row in answer.rows:
        facets.setdefault(row["facet"], []).append(
            {**row, "label": facet_value(row["facet"], row["value"], fmt.locale)}
        )
    result = []
    for facet, rows in facets.items():
        series = []
        for group in ("top", "rest"):
            shares = [row[f"{group}_share"] for row in rows]
            series.append(
                {
                    "name": t(f"customers.top_page.{group}", fmt.locale),
                    "role": "share",
                    "values": shares,
                    "text": [marker if v is None else fmt.percent(v) for v in shares],
                }
            )
        chart = {
            "kind": "hbar",
            "axis": "percent",
            "currency": fmt.currency,
            "labels": [row["label"] for row in rows],
            "series": series,
        }
        result.append({"facet": facet, "rows": rows, "chart": chart, "height": 60 + 34 * len(rows)})
    return result


@router.get("/customers/top", openapi_extra=requires(Action.VIEW_CUSTOMER_AGGREGATES))
def top_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The top 20 % of a window's buyers by gross profit against the rest: channels,
    categories, region, acquisition, tenure and membership (`?window=`, default 12m)."""
    window = request.query_params.get("window") or DEFAULT_WINDOW
    context = web_context(request)
    actor = request_actor(request)
    fmt = locale_format(request)
    answer = cached_aggregate(
        request,
        f"top:{window}",
        lambda: top_customer_profile(context.settings, actor, window=window),
    )
    values = _values(request, principal, "top")
    values.update(
        answer=answer,
        summary=answer.summary,
        window=window,
        windows=TOP_WINDOWS if window in TOP_WINDOWS else (*TOP_WINDOWS, window),
        facets=top_profile_facets(answer, fmt, answer.minimum),
    )
    return render(request, "customers/top.html", values)


# -- /customers/{customer_id}: one customer's 360 ---------------------------------------------
#: Orders the 360 page lists.
RECENT_ORDERS = 20
#: The 360's facts, in groups: (group key, ((column, kind), ...)); `kind` picks the format.
PROFILE_FACTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "value",
        (
            ("segment", "segment"),
            ("rfm_group", "rfm_group"),
            ("rfm_scores", "rfm_scores"),
            ("clv", "money"),
            ("p_alive", "percent"),
        ),
    ),
    (
        "orders",
        (
            ("orders", "number"),
            ("revenue", "money"),
            ("gross_profit", "money"),
            ("average_order_value", "money"),
            ("first_order_at", "moment"),
            ("last_order_at", "moment"),
            ("days_since_last_order", "days"),
            ("orders_window", "number"),
            ("revenue_window", "money"),
        ),
    ),
    (
        "channels",
        (
            ("acquisition_channel", "channel"),
            ("first_channel", "channel"),
            ("channels", "channels"),
            ("first_store_id", "text"),
            ("stores", "list"),
            ("home_store_id", "text"),
            ("region", "region"),
            ("categories", "list"),
        ),
    ),
    (
        "engagement",
        (
            ("signed_up_at", "moment"),
            ("days_since_signup", "days"),
            ("visits", "number"),
            ("visits_recent", "number"),
            ("last_visit_at", "moment"),
            ("last_cart_at", "moment"),
            ("cart_abandoned", "bool"),
        ),
    ),
    (
        "service",
        (
            ("tickets", "number"),
            ("complaints", "number"),
            ("complaints_recent", "number"),
            ("late_deliveries", "number"),
            ("late_deliveries_recent", "number"),
            ("reviews", "number"),
            ("average_rating", "rating"),
            ("bad_reviews_recent", "number"),
            ("last_nps_score", "number"),
            ("last_nps_at", "moment"),
            ("detractor_recent", "bool"),
        ),
    ),
    (
        "loyalty",
        (
            ("is_member", "bool"),
            ("member_tier", "text"),
            ("points_balance", "number"),
            ("email_consent", "bool"),
            ("sms_consent", "bool"),
            ("push_consent", "bool"),
        ),
    ),
)


def profile_text(profile: Mapping[str, Any], column: str, kind: str, fmt: LocaleFormat) -> str:
    """One fact of the 360, formatted ("—" when the data has none)."""
    locale = fmt.locale
    if kind == "rfm_scores":
        scores = [profile.get(f"{part}_score") for part in ("recency", "frequency", "monetary")]
        return "—" if any(s is None for s in scores) else "·".join(str(s) for s in scores)
    value = profile.get(column)
    if value is None or value == "":
        return "—"
    if kind == "money":
        return fmt.money(value)
    if kind == "percent":
        return fmt.percent(value)
    if kind == "number":
        return fmt.number(value)
    if kind == "rating":
        return fmt.number(value, digits=1)
    if kind == "days":
        return fmt.days(int(value))
    if kind == "moment":
        return fmt.moment(value) if hasattr(value, "hour") else fmt.day(value)
    if kind == "bool":
        return t("customers.profile.yes" if value else "customers.profile.no", locale)
    if kind in ("segment", "rfm_group"):
        return label("segments" if kind == "segment" else "rfm_groups", value, locale)
    if kind == "region":
        return label("regions", value, locale)
    if kind == "channel":
        return label("channels", value, locale)
    if kind == "channels":
        return ", ".join(label("channels", part, locale) for part in _parts(value))
    if kind == "list":
        return ", ".join(_parts(value))
    return str(value)


def _parts(value: object) -> Iterable[str]:
    return (part.strip() for part in str(value).split(",") if part.strip())


@router.get("/customers/{customer_id}", openapi_extra=requires(Action.VIEW_CUSTOMER_LEVEL))
def customer_page(
    request: Request, customer_id: str, principal: Principal = Depends(signed_in)
) -> Response:
    """One customer's 360 as of the data's latest day; the read is audited (404 for an
    unknown customer, 403 for roles without customer-level access)."""
    context = web_context(request)
    fmt = locale_format(request)
    profile = customer_profile(
        context.settings, context.store, request_actor(request), customer_id, orders=RECENT_ORDERS
    )
    orders = [
        {
            **order,
            "placed_at": fmt.moment(order["placed_at"]),
            "channel": label("channels", order["channel"], fmt.locale),
            "store_id": order["store_id"] or "—",
            "status": label("order_statuses", order["status"], fmt.locale),
            "net_amount": "—" if order["net_amount"] is None else fmt.money(order["net_amount"]),
            "items": "—" if order["items"] is None else fmt.number(order["items"]),
        }
        for order in profile.pop("recent_orders")
    ]
    groups = [
        (group, [(column, profile_text(profile, column, kind, fmt)) for column, kind in facts])
        for group, facts in PROFILE_FACTS
    ]
    values = _values(request, principal, "profile")
    values.update(customer_id=customer_id, profile=profile, groups=groups, orders=orders)
    return render(request, "customers/profile.html", values)
