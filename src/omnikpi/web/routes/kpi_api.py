"""The KPI API (v1): the catalog, a KPI's series and a tier's scorecard.

Same services as the pages, same sign-in (session cookie or bearer token with the
`read_kpis` scope); which KPIs and tiers a caller may read follows `omnikpi.auth.TIERS`.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from omnikpi.auth import Action
from omnikpi.services import (
    CatalogSearch,
    Change,
    KpiCard,
    KpiSpec,
    allowed_dimensions,
    build_dashboard,
    channel_dimension,
    check_kpi_visible,
    default_tier,
    query_kpis,
    search_catalog,
    share_dimension,
    tier_grain,
)
from omnikpi.services.suppression import reason_text
from omnikpi.web.context import web_context
from omnikpi.web.kpi_reader import kpi_reader
from omnikpi.web.routes.api import PROBLEMS
from omnikpi.web.routes.kpi_pages import read_view, series_request
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(prefix="/api/v1", tags=["kpis"], responses=PROBLEMS)
READ = requires(Action.READ_KPIS)


class Names(BaseModel):
    """A text in English and Korean."""

    en: str
    ko: str


class KpiBody(BaseModel):
    """A KPI of the catalog."""

    id: str
    name: Names
    definition: Names
    stage: str = Field(description="awareness, browsing, purchase, delivery, after_sales, ...")
    function: str
    race: str = Field(description="reach, act, convert, engage, or - (none)")
    unit: str = Field(description="count, percent (as a fraction), currency, ratio, ...")
    direction: str = Field(description="up: higher is better; down: lower is better")
    tiers: list[str] = Field(description="Dashboards it is on: cxo, lead, member:<role>")
    min_grain: str = Field(description="The finest grain it is reported at")
    breakdown: str | None = Field(description="The dimension it is usually read by")


class KpiDetailBody(KpiBody):
    """A KPI with the dimensions it can be broken down and filtered by."""

    dimensions: list[str]
    channel_dimension: str | None = Field(description="Its channel dimension, if any")
    share_of: str | None = Field(description="For share KPIs: the dimension it splits into")


class SeriesRowBody(BaseModel):
    period_start: date
    dimensions: dict[str, str | None] = Field(description="Breakdown values of this row")
    value: float | None = Field(description="null: no data (never 0 for missing data)")
    comparison_value: float | None
    change: float | None = Field(
        description="relative: (value - comparison) / |comparison|; points: value - comparison"
    )
    change_type: str = Field(description="relative, or points for percents and scores")
    target: float | None
    status: str | None = Field(
        description="green, amber, red, or null: no target, or too small a base to rate"
    )
    base: float | None = Field(
        description="For rates: the units it is taken over (visits, answers), its sample size"
    )
    numerator: float | None = Field(
        None, description="With parts=true, for ratio KPIs: the summed numerator"
    )
    denominator: float | None = Field(
        None, description="With parts=true, for ratio KPIs: the summed denominator"
    )
    suppressed: bool = Field(
        False,
        description="The value (and its parts, base, change and status) is withheld: it "
        "describes fewer customers than the threshold, or would give such a value back "
        "(small-cell suppression; analysts and admins see every value)",
    )
    reason: str | None = Field(None, description="Why the value is withheld")
    comparison_suppressed: bool = Field(
        False, description="The compared value (and the change) is withheld likewise"
    )


class SeriesBody(BaseModel):
    """A KPI's values by period (and dimensions): the rows of `omnikpi kpi query`."""

    kpi: str
    grain: str
    start: date
    end: date
    compare: str | None
    dimensions: list[str]
    filters: dict[str, list[str]] = Field(description="The filters applied")
    columns: list[str] = Field(description="The columns of the same data as CSV")
    rows: list[SeriesRowBody]


class ChangeBody(BaseModel):
    comparison: str = Field(
        description="previous, yoy (same period last year), last_week (same day last week) "
        "or weekday_last_year (same weekday 52 weeks earlier)"
    )
    period_start: date = Field(description="The earlier period compared with")
    value: float | None
    change: float | None
    suppressed: bool = Field(False, description="The earlier value is withheld (too few customers)")


class PointBody(BaseModel):
    period_start: date
    value: float | None
    target: float | None
    suppressed: bool = Field(False, description="The value is withheld (too few customers)")


class ShareBody(BaseModel):
    key: str | None = Field(description="The value of the share dimension")
    value: float | None
    changes: list[ChangeBody]
    suppressed: bool = Field(False, description="The share is withheld (too few customers)")


class CardBody(BaseModel):
    """A KPI of a scorecard: value, target, status, changes and trend."""

    kpi: str
    name: Names
    unit: str
    direction: str
    stage: str
    value: float | None = Field(description="null: no data, or a share KPI (see shares)")
    target: float | None
    status: str | None
    changes: list[ChangeBody]
    trend: list[PointBody]
    share_of: str | None
    shares: list[ShareBody]
    unfiltered_by: list[str] = Field(
        description="Filters of the view it cannot take: the total is shown, without status"
    )
    unavailable: str | None = Field(
        description="grain: not reported at this grain; missing: tables it reads have no data"
    )
    missing_tables: list[str] = Field(description="The tables without data it waits for")
    base: float | None = Field(description="For rates: the units it is taken over")
    small_base: bool = Field(description="Whether the base is too small for a status")
    suppressed: bool = Field(
        False,
        description="The value is withheld: it describes fewer customers than the threshold "
        "(small-cell suppression; analysts and admins see every value)",
    )
    reason: str | None = Field(None, description="Why the value is withheld")


class ScorecardBody(BaseModel):
    """The KPIs of one tier for the last period of the view."""

    tier: str
    grain: str
    period_start: date
    period_end: date
    trend_start: date
    data_through: date
    filters: dict[str, list[str]]
    kpis: list[CardBody]


def view_parameters(
    grain: str | None = Query(None, description="day, week, month, quarter or year"),
    start: str | None = Query(None, description="First day, YYYY-MM-DD"),
    end: str | None = Query(None, description="Last day, YYYY-MM-DD (default: latest data)"),
    period: str | None = Query(
        None,
        description="Instead of start and end, a period relative to the latest data: "
        "last-complete-week, week-to-date or last-13-weeks (any grain)",
    ),
    compare: str | None = Query(
        None, description="none, previous, yoy, last_week (days, weeks), weekday_last_year (days)"
    ),
    channel: str | None = Query(None, description="Sales channel filter"),
    store: str | None = Query(None, description="Store id filter"),
    region: str | None = Query(None, description="Region filter"),
    member: str | None = Query(None, description="all, member or non_member"),
) -> None:
    """Documents the view parameters shared with the pages (read by `parse_view_params`)."""


def _kpi_body(kpi: KpiSpec) -> KpiBody:
    return KpiBody(
        id=kpi.id,
        name=Names(en=kpi.name.en, ko=kpi.name.ko),
        definition=Names(en=kpi.definition.en, ko=kpi.definition.ko),
        stage=kpi.stage,
        function=kpi.function,
        race=kpi.race,
        unit=kpi.unit,
        direction=kpi.direction,
        tiers=list(kpi.tiers),
        min_grain=kpi.min_grain.value,
        breakdown=kpi.breakdown,
    )


def _changes(changes: tuple[Change, ...]) -> list[ChangeBody]:
    return [
        ChangeBody(
            comparison=c.comparison,
            period_start=c.period_start,
            value=c.value,
            change=c.change,
            suppressed=c.suppressed,
        )
        for c in changes
    ]


def _card_body(card: KpiCard, minimum: int) -> CardBody:
    return CardBody(
        kpi=card.kpi.id,
        name=Names(en=card.kpi.name.en, ko=card.kpi.name.ko),
        unit=card.kpi.unit,
        direction=card.kpi.direction,
        stage=card.kpi.stage,
        value=card.value,
        target=card.target,
        status=card.status,
        changes=_changes(card.changes),
        trend=[
            PointBody(
                period_start=p.period_start, value=p.value, target=p.target, suppressed=p.suppressed
            )
            for p in card.trend
        ],
        share_of=card.share_of,
        shares=[
            ShareBody(
                key=s.key, value=s.value, changes=_changes(s.changes), suppressed=s.suppressed
            )
            for s in card.shares
        ],
        unfiltered_by=list(card.unfiltered_by),
        unavailable=card.unavailable,
        missing_tables=list(card.missing_tables),
        base=card.base,
        small_base=card.small_base,
        suppressed=card.suppressed,
        reason=reason_text("small_cell", minimum) if card.suppressed else None,
    )


@router.get("/kpis", summary="KPI catalog", openapi_extra=READ)
def list_kpis(
    request: Request,
    tier: str | None = Query(None, description="cxo, lead, member:<role> or none"),
    stage: str | None = Query(None, description="awareness, browsing, purchase, ..."),
    function: str | None = Query(None, description="marketing, sales, service, ..."),
    race: str | None = Query(None, description="reach, act, convert, engage or -"),
    q: str = Query("", description="Words to find in the id or the English or Korean name"),
    principal: Principal = Depends(signed_in),
) -> list[KpiBody]:
    """The KPIs the caller may read, in shopping-stage order."""
    search = CatalogSearch(text=q, stage=stage, function=function, race=race, tier=tier)
    found = search_catalog(web_context(request).catalog, principal.user.role, search)
    return [_kpi_body(kpi) for kpi in found.kpis]


@router.get("/kpis/{kpi_id}", summary="One KPI", openapi_extra=READ)
def get_kpi(
    request: Request, kpi_id: str, principal: Principal = Depends(signed_in)
) -> KpiDetailBody:
    """A KPI's definition and the dimensions it can be broken down by."""
    with kpi_reader(request) as reader:
        kpi = check_kpi_visible(reader.catalog, principal.user.role, kpi_id)
        body = _kpi_body(kpi).model_dump()
        return KpiDetailBody(
            **body,
            dimensions=list(allowed_dimensions(reader, kpi_id)),
            channel_dimension=channel_dimension(reader, kpi_id),
            share_of=share_dimension(kpi),
        )


@router.get(
    "/kpis/{kpi_id}/series",
    summary="A KPI's values by period",
    openapi_extra=READ,
    dependencies=[Depends(view_parameters)],
)
def kpi_series(
    request: Request,
    kpi_id: str,
    # `by`, `filter` and `parts` are documented here and read with the view by
    # `series_request`.
    by: list[str] = Query([], description="Dimensions to break down by (repeatable)"),
    filter: list[str] = Query([], description="More filters, DIM=VALUE (repeatable)"),
    parts: bool = Query(False, description="Also the numerator and denominator of ratios"),
    principal: Principal = Depends(signed_in),
) -> SeriesBody:
    """Values, comparison, change, target and status by period: the rows of
    `omnikpi kpi query` and of the KPI's CSV for the same request. A filter, breakdown or
    grain the KPI does not allow is refused (400), a filter value that does not exist too
    (422), naming what would work."""
    with kpi_reader(request) as reader:
        wanted = series_request(request, principal, reader, kpi_id)
        result = query_kpis(reader, wanted, principal.user.role)
    return SeriesBody(
        kpi=kpi_id,
        grain=wanted.grain.value,
        start=wanted.start,
        end=wanted.end,
        compare=wanted.compare,
        dimensions=list(result.dimensions),
        filters=wanted.filter_map,
        columns=list(result.columns),
        rows=[
            SeriesRowBody(
                period_start=row.period_start,
                dimensions=dict(zip(result.dimensions, row.keys, strict=True)),
                value=row.value,
                comparison_value=row.comparison_value,
                change=row.change,
                change_type=row.change_type,
                target=row.target,
                status=row.status,
                base=row.base,
                numerator=row.numerator,
                denominator=row.denominator,
                suppressed=row.suppressed is not None,
                reason=reason_text(row.suppressed, result.min_customers or 0),
                comparison_suppressed=row.comparison_suppressed is not None,
            )
            for row in result.rows
        ],
    )


@router.get(
    "/scorecard",
    summary="A tier's scorecard",
    openapi_extra=READ,
    dependencies=[Depends(view_parameters)],
)
def scorecard(
    request: Request,
    tier: str | None = Query(None, description="cxo, lead or member:<role> (default: yours)"),
    principal: Principal = Depends(signed_in),
) -> ScorecardBody:
    """The KPIs of a tier for the last period of the view: value, target, status, changes
    against the previous period and a year earlier (members: the same day last week), and
    the trend. Grain by default: cxo monthly, lead weekly, members daily."""
    role = principal.user.role
    chosen = tier or default_tier(role)
    with kpi_reader(request) as reader:
        view = read_view(request, principal, reader, tier_grain(chosen))
        board = build_dashboard(
            reader, role, chosen, view.grain, view.start, view.end, view.filters, view.comparison
        )
    return ScorecardBody(
        tier=board.tier,
        grain=board.grain.value,
        period_start=board.period_start,
        period_end=board.period_end,
        trend_start=board.trend_start,
        data_through=board.data_through,
        filters=board.filters,
        kpis=[_card_body(card, board.min_customers) for card in board.cards],
    )
