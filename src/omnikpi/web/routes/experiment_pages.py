"""The experiments pages: the stored experiments (`/experiments`), one experiment's readout
with a plain-language verdict per treatment, the sample-ratio check and, for a campaign
holdout, its conversion lift (`/experiments/{experiment_id}`), and brand lift from the
brand-lift surveys (`/experiments/brand-lift`).

Thin handlers over `omnikpi.services.experiment_pages`, which checks `VIEW_EXPERIMENTS`
and withholds small groups from roles without customer-level access.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.i18n import LocaleFormat, t
from omnikpi.services.experiment_pages import (
    Verdict,
    brand_lift_page,
    experiment_page,
    list_experiments,
)
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.routes.customer_pages import cached_aggregate
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)

#: The experiments pages' own menu, in order: (key, path).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("list", "/experiments"),
    ("brand_lift", "/experiments/brand-lift"),
)


def points(fmt: LocaleFormat, value: float | None) -> str:
    """A difference of two rates in percentage points ("+2.1 pp"), "—" when unknown."""
    return "—" if value is None else fmt.change(value, "points", "percent")


def probability(fmt: LocaleFormat, value: float) -> str:
    """A probability in whole percent; above 99.5 % ">99%" (never a certain "100%")."""
    if value >= 0.995:
        return t("experiments.more_than", fmt.locale, value=fmt.percent(0.99, 0))
    return fmt.percent(value, 0)


def verdict_text(verdict: Verdict, fmt: LocaleFormat) -> str:
    """The verdict in words: "treatment beats control with 97% probability; lift +2.1 pp
    [+0.3 pp, +3.9 pp]"."""
    winner, other = verdict.treatment, verdict.control
    if verdict.kind == "control_wins":
        winner, other = other, winner
    return t(
        f"experiments.verdict.{verdict.kind}",
        fmt.locale,
        winner=winner,
        other=other,
        treatment=verdict.treatment,
        control=verdict.control,
        probability=probability(fmt, verdict.probability),
        difference=points(fmt, verdict.difference),
        low=points(fmt, verdict.ci_low),
        high=points(fmt, verdict.ci_high),
    )


def _values(section: str) -> dict[str, Any]:
    return {"sections": SECTIONS, "section": section}


@router.get("/experiments", openapi_extra=requires(Action.VIEW_EXPERIMENTS))
def experiments_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The stored experiments, newest first, each linking to its readout."""
    settings = web_context(request).settings
    actor = request_actor(request)
    experiments = cached_aggregate(
        request, "experiments", lambda: list_experiments(settings, actor)
    )
    values = _values("list")
    values.update(experiments=experiments)
    return render(request, "experiments/list.html", values)


@router.get("/experiments/brand-lift", openapi_extra=requires(Action.VIEW_EXPERIMENTS))
def brand_lift(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Brand lift per question of a campaign's brand-lift survey (`?campaign=`, default the
    latest surveyed): exposed against control, in points with intervals."""
    settings = web_context(request).settings
    actor = request_actor(request)
    campaign = request.query_params.get("campaign") or None
    page = cached_aggregate(
        request,
        f"brand_lift:{campaign}",
        lambda: brand_lift_page(settings, actor, campaign),
    )
    values = _values("brand_lift")
    fmt = locale_format(request)
    values.update(
        page=page,
        points=lambda value: points(fmt, value),
        chance=lambda value: probability(fmt, value),
    )
    return render(request, "experiments/brand_lift.html", values)


@router.get("/experiments/{experiment_id}", openapi_extra=requires(Action.VIEW_EXPERIMENTS))
def experiment_readout(
    request: Request, experiment_id: str, principal: Principal = Depends(signed_in)
) -> Response:
    """One experiment's readout: variants, verdicts, tests, revenue per unit after CUPED,
    the sample-ratio check and (campaign holdouts) the conversion lift."""
    settings = web_context(request).settings
    actor = request_actor(request)
    fmt = locale_format(request)
    page = cached_aggregate(
        request,
        f"experiment:{experiment_id}",
        lambda: experiment_page(settings, actor, experiment_id),
    )
    values = _values("list")
    values.update(
        page=page,
        verdicts=[(v, verdict_text(v, fmt)) for v in page.verdicts],
        points=lambda value: points(fmt, value),
        ratio=lambda value: fmt.number(value, 2),
        chance=lambda value: probability(fmt, value),
    )
    return render(request, "experiments/readout.html", values)
