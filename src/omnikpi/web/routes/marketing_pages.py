"""The marketing pages: the RACE view per marketing channel (`/marketing`) and the
attribution models side by side with the journey explorer and offline matching
(`/marketing/attribution`).

Thin handlers over `omnikpi.services.marketing_pages`, which checks `VIEW_MARKETING` and
withholds small path groups from roles without customer-level access. Attribution over the
warehouse's journeys takes seconds: its answer is kept per data version.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.i18n import LocaleFormat, t
from omnikpi.services import Grain
from omnikpi.services.marketing_pages import (
    LOOKBACK_CHOICES,
    AttributionPage,
    attribution_page,
    parse_attribution_query,
    race_view,
)
from omnikpi.web.context import web_context
from omnikpi.web.kpi_reader import filter_choices, kpi_reader
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.routes.customer_pages import cached_aggregate, label
from omnikpi.web.routes.kpi_pages import page_labels, read_view
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)

Spec = dict[str, Any]
#: The marketing pages' own menu, in order: (key, path, action).
SECTIONS: tuple[tuple[str, str, Action], ...] = (
    ("race", "/marketing", Action.VIEW_MARKETING),
    ("attribution", "/marketing/attribution", Action.VIEW_MARKETING),
    ("experiments", "/experiments", Action.VIEW_EXPERIMENTS),
)
#: A colour per model (more models than the chart palette has colours): rule-based models
#: in blues and greens, the data-driven ones (Markov, Shapley) in warm colours.
MODEL_COLOURS = {
    "first": "#93c5fd",
    "last": "#3b82f6",
    "last_non_direct": "#1e40af",
    "linear": "#6ee7b7",
    "time_decay": "#10b981",
    "position": "#047857",
    "markov": "#f59e0b",
    "shapley": "#dc2626",
}


def _sections(principal: Principal) -> list[tuple[str, str]]:
    return [(key, path) for key, path, action in SECTIONS if principal.may(action)]


def attribution_chart(page: AttributionPage, fmt: LocaleFormat) -> Spec:
    """Grouped bars: each channel's share of the attributed conversions under each model."""
    labels = [label("channels", channel, fmt.locale) for channel in page.channels]
    series = []
    for model in page.models:
        credits = [page.credit(channel, model) for channel in page.channels]
        series.append(
            {
                "name": fmt_model(model, fmt),
                "values": [0.0 if c is None else c.share for c in credits],
                "text": [
                    fmt.percent(0.0 if c is None else c.share)
                    + ("" if c is None else f" ({fmt.number(c.conversions, 1)})")
                    for c in credits
                ],
                "color": MODEL_COLOURS.get(model),
            }
        )
    return {
        "kind": "bar",
        "axis": "percent",
        "currency": fmt.currency,
        "labels": labels,
        "series": series,
    }


def path_label(path: str, fmt: LocaleFormat) -> str:
    """A path ("search > email > direct") in the page's words, arrows between touches."""
    return " → ".join(label("channels", part, fmt.locale) for part in path.split(" > "))


def fmt_model(model: str, fmt: LocaleFormat) -> str:
    """A model's name in the page's language."""
    return t(f"marketing.models.{model}", fmt.locale)


@router.get("/marketing/attribution", openapi_extra=requires(Action.VIEW_MARKETING))
def attribution(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The attribution models side by side per channel for a period (`start`, `end`, default
    the last 90 days with orders), `lookback` days and `offline=include|exclude`; the
    journey explorer and the offline matching."""
    settings = web_context(request).settings
    query = parse_attribution_query(request.query_params)
    role = principal.user.role
    page = cached_aggregate(
        request, f"attribution:{query.key()}", lambda: attribution_page(settings, role, query)
    )
    fmt = locale_format(request)
    values = {
        "sections": _sections(principal),
        "section": "attribution",
        "page": page,
        "chart": attribution_chart(page, fmt),
        "lookbacks": LOOKBACK_CHOICES,
        "model_name": lambda model: fmt_model(model, fmt),
        "label": lambda group, value: label(group, value, fmt.locale),
        "path_label": lambda path: path_label(path, fmt),
    }
    return render(request, "marketing/attribution.html", values)


@router.get("/marketing", openapi_extra=requires(Action.VIEW_MARKETING))
def marketing(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The RACE view: the reach, act, convert and engage KPIs per marketing channel for the
    view's period (default the latest complete month)."""
    with kpi_reader(request) as reader:
        view = read_view(request, principal, reader, Grain.MONTH)
        race = race_view(reader, principal.user.role, view.grain, view.start, view.end)
        labels = page_labels(request, reader)
        choices = filter_choices(reader)
    values = {
        "sections": _sections(principal),
        "section": "race",
        "race": race,
        "view": view,
        "choices": choices,
        "labels": labels,
        "channel_label": lambda channel: label("channels", channel, locale_format(request).locale),
    }
    return render(request, "marketing/race.html", values)
