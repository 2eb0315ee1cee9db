"""The view every page shares, kept in the URL: period (grain + range), filters, comparison.

`parse_view_params` reads and checks the query string once, so a bookmarked or shared URL
opens the same view, and a bad value gets one clear message instead of a wrong page. The
range is either fixed dates or a period relative to the latest data, which a bookmark keeps
current (`omnikpi.services.periods.RelativePeriod`):

    /status?grain=week&start=2025-10-01&end=2025-12-31&channel=app&member=member&compare=yoy
    /stages?grain=week&period=last-complete-week&store=S001
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal, TypeVar, get_args
from urllib.parse import urlencode

from omnikpi.auth import Role
from omnikpi.errors import InvalidChoice
from omnikpi.services import (
    DEFAULT_PERIODS,
    Comparison,
    Grain,
    KpiRequest,
    check_range,
    comparisons_at,
    latest_complete_end,
    parse_compare,
    parse_day,
    parse_grain,
    period_start,
    periods_back,
)
from omnikpi.services.periods import RelativePeriod

#: The KPI engine's comparisons, or "none" for no comparison.
ViewComparison = Literal["none", "previous", "yoy", "last_week", "weekday_last_year"]
MemberFilter = Literal["all", "member", "non_member"]
GRAINS: tuple[Grain, ...] = tuple(Grain)
MEMBER_FILTERS: tuple[MemberFilter, ...] = get_args(MemberFilter)
#: The pages a KPI detail can be opened from (menu keys): its breadcrumb and menu lead back.
ORIGINS: tuple[str, ...] = ("my_kpis", "scorecard", "stages", "kpis")
#: The query-string parameters of a view ("from": the page a drill-down came from).
VIEW_PARAMS = (
    "grain", "period", "start", "end", "compare", "channel", "store", "region", "member", "from",
)  # fmt: skip
#: The range parameters: a relative period, or fixed dates (never both).
RANGE_PARAMS = frozenset({"period", "start", "end"})
#: What to do when an address names both a relative period and dates.
BOTH_RANGES = (
    "no start= or end= beside it: remove them to keep the relative period, "
    "or remove period= to keep the dates"
)

T = TypeVar("T", bound=str)
D = TypeVar("D", bound=str | None)

#: The grain each role's pages open with (DESIGN §1: CxO monthly, leads weekly, members daily).
DEFAULT_GRAIN: Mapping[Role, Grain] = {
    Role.EXECUTIVE: Grain.MONTH,
    Role.TEAM_LEAD: Grain.WEEK,
    Role.MEMBER: Grain.DAY,
    Role.ANALYST: Grain.MONTH,
    Role.BU_USER: Grain.MONTH,
    Role.ADMIN: Grain.MONTH,
}


@dataclass(frozen=True)
class ViewParams:
    """A checked view: period, comparison and filters (None: no filter). `start` and `end`
    are the days shown; `period`, when the address names one, is what they were resolved
    from, and links repeat it rather than the dates."""

    grain: Grain
    start: date
    end: date
    #: The last day with data, which relative periods are resolved against.
    latest: date
    period: RelativePeriod | None = None
    compare: ViewComparison = "none"
    channel: str | None = None
    store: str | None = None
    region: str | None = None
    member: MemberFilter = "all"
    #: The menu page a drill-down came from (`from=scorecard`), kept while the view changes.
    origin: str | None = None
    #: Parameters that were given in the URL (only these are repeated in links).
    given: frozenset[str] = field(default_factory=frozenset, compare=False)

    @property
    def comparison(self) -> Comparison | None:
        """The comparison as the KPI query takes it (None: no comparison)."""
        return None if self.compare == "none" else self.compare

    @property
    def comparison_choices(self) -> tuple[ViewComparison, ...]:
        """What the view's grain may be compared with ("none" first)."""
        return ("none", *comparisons_at(self.grain))

    @property
    def relative_period(self) -> RelativePeriod | None:
        """The relative period the view shows: the one asked for, or, when the address
        names no range, the default one (DEFAULT_PERIODS of the grain); None for dates.

        >>> parse_view_params({}, role=Role.TEAM_LEAD, today=date(2026, 1, 1)).relative_period
        RelativePeriod(kind='last', grain=<Grain.WEEK: 'week'>, count=13)
        """
        if self.period is not None or RANGE_PARAMS & self.given:
            return self.period
        return RelativePeriod("last", self.grain, DEFAULT_PERIODS[self.grain])

    def period_choices(self, grain: Grain | None = None) -> tuple[RelativePeriod, ...]:
        """The relative periods a view form offers at `grain` (default: the view's): the
        last complete period, the default span of them, the current one to date (not for
        days: today so far is the last complete day); the view's own period first when it
        is none of them."""
        grain = grain or self.grain
        offered = (
            RelativePeriod("last_complete", grain),
            RelativePeriod("last", grain, DEFAULT_PERIODS[grain]),
            *([RelativePeriod("to_date", grain)] if grain is not Grain.DAY else []),
        )
        own = self.relative_period
        return offered if own is None or own in offered or grain != self.grain else (own, *offered)

    def resolve(self, period: RelativePeriod) -> tuple[date, date]:
        """First and last day of `period` with this view's data (what a choice means today)."""
        return period.resolve(self.latest)

    @property
    def filters(self) -> dict[str, list[str]]:
        """The dimension filters as the KPI query takes them."""
        chosen = {"channel": self.channel, "store": self.store, "region": self.region}
        filters = {name: [value] for name, value in chosen.items() if value is not None}
        if self.member != "all":
            filters["member"] = [self.member]
        return filters

    def query(self) -> dict[str, str]:
        """The view as query-string parameters (the ones given, plus any changed)."""
        values: dict[str, str | None] = {
            "grain": self.grain,
            "period": self.period.name if self.period else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "compare": self.compare,
            "channel": self.channel,
            "store": self.store,
            "region": self.region,
            "member": self.member,
            "from": self.origin,
        }
        return {k: v for k, v in values.items() if k in self.given and v is not None}

    def with_changes(self, **changes: object) -> ViewParams:
        """This view with some fields changed (they count as given); a relative period
        replaces the dates, dates replace the relative period."""
        changed = replace(self, **changes)  # type: ignore[arg-type]
        names = {"from" if name == "origin" else name for name in changes}
        if "start" in names or "end" in names:
            changed = replace(changed, period=None)
        if RANGE_PARAMS & names:
            names |= RANGE_PARAMS
            names -= {"period"} if changed.period is None else {"start", "end"}
            return replace(changed, given=(self.given - RANGE_PARAMS) | frozenset(names))
        return replace(changed, given=self.given | frozenset(names))

    def kpi_request(
        self, kpi_id: str, by: Sequence[str] = (), filters: Sequence[str] = ()
    ) -> KpiRequest:
        """The request for `kpi_id` in this view, with more `by` dimensions and `DIM=VALUE`
        filters, read as every KPI request is (`KpiRequest.parse`)."""
        own = [f"{name}={value}" for name, values in self.filters.items() for value in values]
        return KpiRequest.parse(
            kpi_id,
            self.grain,
            self.start,
            self.end,
            by=by,
            filters=[*own, *filters],
            compare=self.comparison,
        )

    def drill_query(self, origin: str, compare: str | None) -> str:
        """The query of a drill-down from page `origin` to a KPI's detail: this whole view
        (grain, range, filters, whether given or defaults) compared as `origin` compares,
        so the detail opens on the same period, and its breadcrumb leads back. A relative
        period stays relative. The comparison is written when the user chose it, or when
        it is not the detail's own default (the previous period), so the breadcrumb leads
        back to the comparison the user chose and to the page's default otherwise.

        >>> view.drill_query("my_kpis", "last_week")  # doctest: +SKIP
        '?grain=day&start=2025-12-02&end=2025-12-31&compare=last_week&from=my_kpis'
        """
        span: dict[str, object] = (
            {"period": self.period} if self.period else {"start": self.start, "end": self.end}
        )
        chosen = compare or "none"
        if "compare" in self.given or chosen != "previous":
            span["compare"] = chosen
        return self.query_string(grain=self.grain, **span, origin=origin)

    def without_origin(self) -> ViewParams:
        """This view as the page it came from shows it (no `from`)."""
        return replace(self, origin=None, given=self.given - {"from"})

    def query_string(self, **changes: object) -> str:
        """`?grain=...` for a link to this view, optionally changed."""
        view = self.with_changes(**changes) if changes else self
        encoded = urlencode(view.query())
        return f"?{encoded}" if encoded else ""


def pick_choice(params: Mapping[str, str], name: str, choices: tuple[T, ...], default: D) -> T | D:
    """The choice a query parameter names (`default` when it is empty); InvalidChoice
    naming the choices when it names none of them.

    >>> pick_choice({"format": "xlsx"}, "format", ("csv", "xlsx"), "csv")
    'xlsx'
    """
    value = params.get(name, "").strip()
    if not value:
        return default
    for choice in choices:
        if choice == value:
            return choice
    raise InvalidChoice(name, value, ", ".join(choices))


def _text(params: Mapping[str, str], name: str) -> str | None:
    return params.get(name, "").strip() or None


def parse_view_params(
    params: Mapping[str, str],
    *,
    role: Role,
    today: date,
    latest: date | None = None,
    grain: Grain | None = None,
) -> ViewParams:
    """The view asked for by a query string, with defaults for what it leaves out.

    The range is a relative `period` (`last-complete-week`, `week-to-date`,
    `last-13-weeks`) resolved against `latest`, the last day with data (default:
    yesterday; `today` is injected so this is testable), or `start` and `end` (never
    both); by default the latest complete periods (DEFAULT_PERIODS of them). The default
    grain is the period's, else the page's `grain`, else the role's. Grain, dates and
    comparison are read as every KPI request reads them (`omnikpi.kpi.request`);
    whether a channel, store or region exists is checked when the KPIs are read.
    """
    given_period = _text(params, "period")
    given_end, given_start = _text(params, "end"), _text(params, "start")
    period = RelativePeriod.parse(given_period) if given_period else None
    if given_period and (given_start or given_end):
        raise InvalidChoice("period", given_period, BOTH_RANGES)
    chosen = _text(params, "grain")
    page_grain = period.grain if period else grain
    grain = parse_grain(chosen) if chosen else page_grain or DEFAULT_GRAIN[role]
    newest = latest or today - timedelta(days=1)
    if period is not None:
        start, end = period.resolve(newest)
    else:
        end = parse_day(given_end, "end") if given_end else latest_complete_end(grain, newest)
        start = (
            parse_day(given_start, "start")
            if given_start
            else periods_back(period_start(end, grain), grain, DEFAULT_PERIODS[grain] - 1)
        )
    check_range(start, end)
    comparison = parse_compare(_text(params, "compare"), grain)
    return ViewParams(
        grain=grain,
        start=start,
        end=end,
        latest=newest,
        period=period,
        compare=comparison or "none",
        channel=_text(params, "channel"),
        store=_text(params, "store"),
        region=_text(params, "region"),
        member=pick_choice(params, "member", MEMBER_FILTERS, "all"),
        origin=pick_choice(params, "from", ORIGINS, None),
        given=frozenset(name for name in VIEW_PARAMS if params.get(name, "").strip()),
    )
