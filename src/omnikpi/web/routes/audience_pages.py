"""The audience pages: saved audiences (`/audiences`), the builder with its live size
preview (`/audiences/new`), one audience (`/audiences/{audience_id}`: definition,
versions, build with a holdout, aggregate profile, exports, campaign readout), and the
business units' requests (`/audiences/requests`), whose page shows a business unit its
audience in aggregate only.

Thin handlers over `services.audiences`, `services.audience_pages` and
`services.audience_requests`, which check the permission table: the builder and audience
pages are MANAGE_AUDIENCES (analysts, admins); building is VIEW_CUSTOMER_LEVEL and
exporting EXPORT_CUSTOMER_LEVEL (audited); requests are REQUEST_AUDIENCES (a business-unit
user sees their own unit's only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.errors import ConfigError, DataError, InvalidChoice, NotFound
from omnikpi.i18n import LocaleFormat
from omnikpi.services import parse_day
from omnikpi.services.audience_pages import (
    CHANNELS,
    COMBINE,
    FIELDS,
    OPERATORS,
    STRATA,
    BuilderForm,
    CampaignReadout,
    ConditionRow,
    build_with_holdout,
    form_from_info,
    preview_sizes,
    read_form,
    readout_verdict,
)
from omnikpi.services.audience_requests import (
    attach_audience,
    file_request,
    get_request,
    list_requests,
    request_view,
)
from omnikpi.services.audiences import (
    AudienceInfo,
    audience_profile,
    campaign_readout,
    definition_data,
    export_audience,
    list_audiences,
    save_audience,
    show_audience,
)
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render, render_fragment
from omnikpi.web.routes.customer_pages import label
from omnikpi.web.routes.kpi_pages import attachment, csv_response
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

#: Condition rows the builder shows (empty rows are left out of the rule).
ROWS = 4
#: The audience pages' own menu: (key, path, action).
SECTIONS: tuple[tuple[str, str, Action], ...] = (
    ("list", "/audiences", Action.MANAGE_AUDIENCES),
    ("new", "/audiences/new", Action.MANAGE_AUDIENCES),
    ("requests", "/audiences/requests", Action.REQUEST_AUDIENCES),
)
#: The builder's first rows when it opens empty: an example to change.
EXAMPLE_ROWS = (
    ConditionRow("days_since_last_order", ">", "90"),
    ConditionRow("orders", ">=", "2"),
)


def _sections(principal: Principal) -> list[tuple[str, str]]:
    return [(key, path) for key, path, action in SECTIONS if principal.may(action)]


def _values(principal: Principal, section: str, **more: Any) -> dict[str, Any]:
    return {"sections": _sections(principal), "section": section, **more}


def _day(text: str, name: str) -> date | None:
    """A form's day (`parse_day`: YYYY-MM-DD within the days any request may name); None
    when left empty."""
    return parse_day(text, name) if text.strip() else None


def _amount(text: str, name: str) -> float | None:
    if not text.strip():
        return None
    try:
        amount = float(text.strip().replace(",", ""))
    except ValueError:
        raise InvalidChoice(name, text, "a number") from None
    if not math.isfinite(amount):
        raise InvalidChoice(name, text, "a finite number")
    return amount


# -- the list and the builder ----------------------------------------------------------------
@router.get("/audiences", openapi_extra=requires(Action.MANAGE_AUDIENCES))
def audiences_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Every saved audience (its latest version): channel, sizes, when it was built."""
    audiences = list_audiences(web_context(request).settings, request_actor(request))
    return render(request, "audiences/list.html", _values(principal, "list", audiences=audiences))


def builder_form(form: FormData) -> BuilderForm:
    """The builder's fields from a posted form."""

    def text(name: str, default: str = "") -> str:
        value = form.get(name, default)
        return value if isinstance(value, str) else default

    rows = tuple(
        ConditionRow(text(f"field_{n}"), text(f"op_{n}", "="), text(f"value_{n}"))
        for n in range(1, ROWS + 1)
    )
    return BuilderForm(
        name=text("name"),
        description=text("description"),
        channel=text("channel", "email"),
        combine=text("combine", "all"),
        negate=bool(text("negate")),
        rows=rows,
        rule_text=text("rule_text"),
        fraction=text("fraction", "0.1"),
        seed=text("seed", "42"),
        stratify_by=text("stratify_by"),
    )


def _builder(
    request: Request,
    principal: Principal,
    form: BuilderForm,
    *,
    preview: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rows = list(form.rows) + [ConditionRow("", "=", "")] * (ROWS - len(form.rows))
    values = _values(
        principal,
        "new",
        form=form,
        rows=rows[:ROWS],
        fields=FIELDS,
        operators=OPERATORS,
        combine_choices=COMBINE,
        channels=CHANNELS,
        strata=STRATA,
        preview=preview or {},
    )
    return render(request, "audiences/builder.html", values, status_code=status_code)


def _preview(request: Request, form: BuilderForm) -> dict[str, Any]:
    """The preview's values: sizes and the definition, or the error in the rule."""
    context = web_context(request)
    try:
        text, definition = read_form(context.settings, form)
        sizes = preview_sizes(context.settings, request_actor(request), definition)
    except (ConfigError, DataError) as exc:
        return {"error": str(exc)}
    return {"sizes": sizes, "text": text, "audience_id": definition.audience_id}


@router.get("/audiences/new", openapi_extra=requires(Action.MANAGE_AUDIENCES))
def builder_page(
    request: Request,
    principal: Principal = Depends(signed_in),
) -> Response:
    """The builder: empty (an example rule), or a saved audience to change (`?from=ID`),
    or named after a request (`?request=N`)."""
    context = web_context(request)
    actor = request_actor(request)
    source = request.query_params.get("from")
    asked = request.query_params.get("request")
    if source:
        form = form_from_info(show_audience(context.settings, actor, source))
    elif asked and asked.isdigit():
        wanted = get_request(context.store, actor, int(asked))
        form = BuilderForm(
            name=wanted.goal[:80], description=wanted.audience_idea[:500], rows=EXAMPLE_ROWS
        )
    else:
        form = BuilderForm(rows=EXAMPLE_ROWS)
    return _builder(request, principal, form, preview=_preview(request, form))


@router.post("/audiences/preview", openapi_extra=requires(Action.MANAGE_AUDIENCES))
async def preview_fragment(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The live preview (HTMX): the rule's size and its consent-filtered size, or what is
    wrong with the rule."""
    form = builder_form(await request.form())
    preview = await run_in_threadpool(_preview, request, form)
    html = render_fragment(request, "audiences/_preview.html", {"preview": preview})
    return Response(html, media_type="text/html")


@router.post("/audiences/new", openapi_extra=requires(Action.MANAGE_AUDIENCES))
async def builder_submit(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """Preview the form again (the form without script), or with `do=save` save it — a new
    version when the rule changed — and go to the audience's page."""
    posted = await request.form()
    form = builder_form(posted)
    if posted.get("do") != "save":
        preview = await run_in_threadpool(_preview, request, form)
        return _builder(request, principal, form, preview=preview)
    context = web_context(request)
    actor = request_actor(request)

    def save() -> AudienceInfo:
        _, definition = read_form(context.settings, form)
        return save_audience(context.settings, actor, definition, now=context.now())

    try:
        saved = await run_in_threadpool(save)
    except ConfigError as exc:
        return _builder(request, principal, form, preview={"error": str(exc)}, status_code=400)
    return Response(status_code=303, headers={"Location": f"/audiences/{saved.audience_id}"})


# -- requests --------------------------------------------------------------------------------
def _requests_page(
    request: Request,
    principal: Principal,
    *,
    error: str | None = None,
    filed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = web_context(request)
    requests = list_requests(context.store, request_actor(request))
    values = _values(
        principal,
        "requests",
        requests=requests,
        error=error,
        filed=filed or {},
        may_manage=principal.may(Action.MANAGE_AUDIENCES),
    )
    return render(request, "audiences/requests.html", values, status_code=status_code)


@router.get("/audiences/requests", openapi_extra=requires(Action.REQUEST_AUDIENCES))
def requests_page(request: Request, principal: Principal = Depends(signed_in)) -> Response:
    """The requests the user may follow (a business unit's own; every one for analysts)
    and the form to file one."""
    return _requests_page(request, principal)


@router.post("/audiences/requests", openapi_extra=requires(Action.REQUEST_AUDIENCES))
def file_request_form(
    request: Request,
    goal: str = Form(""),
    idea: str = Form(""),
    desired_size: str = Form(""),
    timing: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """File the request and show it; the form again with what is missing (400)."""
    context = web_context(request)
    fields = {"goal": goal, "idea": idea, "desired_size": desired_size, "timing": timing}
    try:
        size = _amount(desired_size, "desired size")
        filed = file_request(
            context.store,
            request_actor(request),
            goal=goal,
            idea=idea,
            desired_size=int(size) if size is not None else None,
            timing=timing,
            now=context.now(),
        )
    except ConfigError as exc:
        return _requests_page(request, principal, error=str(exc), filed=fields, status_code=400)
    return _request_page(request, principal, filed.request_id, notice="filed")


def _request_page(
    request: Request,
    principal: Principal,
    request_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = web_context(request)
    actor = request_actor(request)
    view = request_view(context.settings, context.store, actor, request_id)
    may_manage = principal.may(Action.MANAGE_AUDIENCES)
    built = (
        [a for a in list_audiences(context.settings, actor) if a.built_at is not None]
        if may_manage
        else []
    )
    values = _values(
        principal,
        "requests",
        view=view,
        notice=notice,
        error=error,
        may_manage=may_manage,
        built_audiences=built,
        **_readout_values(view.readout, locale_format(request)),
    )
    return render(request, "audiences/request.html", values, status_code=status_code)


@router.get("/audiences/requests/{request_id}", openapi_extra=requires(Action.REQUEST_AUDIENCES))
def request_page(
    request: Request, request_id: int, principal: Principal = Depends(signed_in)
) -> Response:
    """One request; once an audience is attached, its size, aggregate profile and readout
    (small cells withheld below analysts; never its customers)."""
    return _request_page(request, principal, request_id)


@router.post(
    "/audiences/requests/{request_id}/attach", openapi_extra=requires(Action.MANAGE_AUDIENCES)
)
def attach_form(
    request: Request,
    request_id: int,
    audience_id: str = Form(""),
    campaign_start: str = Form(""),
    campaign_end: str = Form(""),
    cost: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Attach a built audience (and the campaign window) to the request."""
    context = web_context(request)
    try:
        attach_audience(
            context.settings,
            context.store,
            request_actor(request),
            request_id,
            audience_id,
            campaign_start=_day(campaign_start, "campaign start"),
            campaign_end=_day(campaign_end, "campaign end"),
            cost=_amount(cost, "cost"),
            note=note,
            now=context.now(),
        )
    except (ConfigError, NotFound) as exc:  # NotFound: no such audience (the form's choice)
        return _request_page(request, principal, request_id, error=str(exc), status_code=400)
    return _request_page(request, principal, request_id, notice="attached")


@router.get(
    "/api/v1/audiences/requests/{request_id}", openapi_extra=requires(Action.REQUEST_AUDIENCES)
)
def request_api(request: Request, request_id: int) -> JSONResponse:
    """A request and its audience in aggregate (profile, readout): no customer rows."""
    context = web_context(request)
    view = request_view(context.settings, context.store, request_actor(request), request_id)
    profile = view.profile
    return JSONResponse(
        {
            "request": view.request.as_json(),
            "profile": None
            if profile is None
            else {
                "audience_id": profile.audience_id,
                "version": profile.version,
                "as_of": profile.as_of.isoformat(),
                "groups": profile.means,
                "segments": profile.segments,
                "withheld": profile.withheld,
                "min_cell_customers": profile.minimum,
            },
            "readout": view.readout.as_json() if view.readout else None,
            "readout_error": view.readout_error,
        }
    )


# -- one audience ----------------------------------------------------------------------------
def _readout_values(readout: CampaignReadout | None, fmt: LocaleFormat) -> dict[str, Any]:
    """The readout's rows and verdict as the pages show them."""
    if readout is None:
        return {"readout": None}
    return {
        "readout": readout,
        "readout_rows": readout.rows(),
        "verdict": readout_verdict(readout),
        "points": lambda value: "—" if value is None else fmt.change(value, "points", "percent"),
    }


def _guarded(compute: Callable[[], T]) -> tuple[T | None, str | None]:
    try:
        return compute(), None
    except (ConfigError, DataError) as exc:
        return None, str(exc)


def _audience_page(
    request: Request,
    principal: Principal,
    audience_id: str,
    *,
    version: int | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = web_context(request)
    settings = context.settings
    actor = request_actor(request)
    fmt = locale_format(request)
    info = show_audience(settings, actor, audience_id, version)
    versions = [show_audience(settings, actor, audience_id, n) for n in range(1, info.versions + 1)]
    query = request.query_params
    window = {name: (query.get(name) or "").strip() for name in ("start", "end", "cost")}
    profile, profile_error = (None, None)
    readout, readout_error = (None, None)
    if info.built_at is not None:
        profile, profile_error = _guarded(
            lambda: audience_profile(settings, actor, audience_id, info.version)
        )
        if window["start"] and window["end"]:
            readout, readout_error = _guarded(
                lambda: campaign_readout(
                    settings,
                    actor,
                    audience_id,
                    start=_day(window["start"], "start") or date.min,
                    end=_day(window["end"], "end") or date.min,
                    version=info.version,
                    cost=_amount(window["cost"], "cost"),
                )
            )
    values = _values(
        principal,
        "list",
        info=info,
        versions=versions,
        definition=yaml.safe_dump(definition_data(info), sort_keys=False, allow_unicode=True),
        profile=profile,
        profile_error=profile_error,
        readout_error=readout_error,
        window=window,
        strata=STRATA,
        notice=notice,
        error=error,
        may_build=principal.may(Action.VIEW_CUSTOMER_LEVEL),
        may_export=principal.may(Action.EXPORT_CUSTOMER_LEVEL),
        segment_label=lambda value: label("segments", value, fmt.locale),
        **_readout_values(readout, fmt),
    )
    return render(request, "audiences/detail.html", values, status_code=status_code)


@router.get("/audiences/{audience_id}", openapi_extra=requires(Action.MANAGE_AUDIENCES))
def audience_page(
    request: Request,
    audience_id: str,
    version: int | None = None,
    principal: Principal = Depends(signed_in),
) -> Response:
    """One audience: definition, versions, build, profile, exports and (`?start=&end=`,
    optional `cost`) the campaign readout."""
    return _audience_page(request, principal, audience_id, version=version)


@router.post("/audiences/{audience_id}/build", openapi_extra=requires(Action.VIEW_CUSTOMER_LEVEL))
def build_form(
    request: Request,
    audience_id: str,
    version: int | None = Form(None),
    fraction: str = Form(""),
    seed: str = Form(""),
    stratify_by: str = Form(""),
    replace_list: str = Form(""),
    confirm: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Build the target list with this holdout (a changed holdout is a new version);
    without `confirm=yes` only say what would be built."""
    context = web_context(request)
    if confirm != "yes":
        return _audience_page(request, principal, audience_id, version=version, notice="confirm")
    try:
        built = build_with_holdout(
            context.settings,
            context.store,
            request_actor(request),
            audience_id,
            version=version,
            fraction=_amount(fraction, "fraction") or 0.0,
            seed=int(_amount(seed, "seed") or 0),
            stratify_by=stratify_by or None,
            replace_list=replace_list == "yes",
            now=context.now(),
        )
    except ConfigError as exc:
        return _audience_page(
            request, principal, audience_id, version=version, error=str(exc), status_code=400
        )
    return _audience_page(request, principal, audience_id, version=built.version, notice="built")


@router.post(
    "/audiences/{audience_id}/export", openapi_extra=requires(Action.EXPORT_CUSTOMER_LEVEL)
)
def export_form(
    request: Request,
    audience_id: str,
    version: int | None = Form(None),
    group: str = Form("treated"),
    purpose: str = Form(""),
    principal: Principal = Depends(signed_in),
) -> Response:
    """The group's customer ids as CSV (audited with the purpose); the page with what is
    missing (400) otherwise."""
    context = web_context(request)
    try:
        exported = export_audience(
            context.settings,
            context.store,
            request_actor(request),
            audience_id,
            purpose=purpose.strip() or None,
            version=version,
            group=group,
        )
    except ConfigError as exc:
        return _audience_page(
            request, principal, audience_id, version=version, error=str(exc), status_code=400
        )
    name = f"{audience_id}-{group}.csv"
    return csv_response([exported.csv], attachment(name))
