"""The view every page shares, kept in the URL: period (grain + range), filters, comparison.

`parse_view_params` reads and checks the query string once, so a bookmarked or shared URL
opens the same view, and a bad value gets one clear message instead of a wrong page.

    /status?grain=week&start=2025-10-01&end=2025-12-31&channel=app&member=member&compare=yoy
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar, get_args
from urllib.parse import urlencode

from omnikpi.auth import Role
from omnikpi.kpi.periods import Grain, period_start
from omnikpi.model.enums import SalesChannel
from omnikpi.services.errors import InvalidChoice
from omnikpi.services.periods import DEFAULT_PERIODS, latest_complete_end, periods_back
from omnikpi.warehouse import Warehouse

# The KPI engine's comparisons use the same values ("none" is no comparison).
Comparison = Literal["none", "previous", "yoy"]
MemberFilter = Literal["all", "member", "non_member"]
GRAINS: tuple[Grain, ...] = tuple(Grain)
COMPARISONS: tuple[Comparison, ...] = get_args(Comparison)
MEMBER_FILTERS: tuple[MemberFilter, ...] = get_args(MemberFilter)
CHANNELS: tuple[str, ...] = tuple(channel.value for channel in SalesChannel)
#: The query-string parameters of a view.
VIEW_PARAMS = ("grain", "start", "end", "compare", "channel", "store", "region", "member")

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
#: The longest range a view may ask for.
MAX_SPAN_DAYS = 3660


class InvalidViewParam(InvalidChoice):
    """A query-string parameter has a value the view cannot use."""


@dataclass(frozen=True)
class FilterChoices:
    """The values the filters offer: stores (id, name) and regions from the warehouse."""

    stores: tuple[tuple[str, str], ...] = ()
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = CHANNELS


@dataclass(frozen=True)
class ViewParams:
    """A checked view: period, comparison and filters (None: no filter)."""

    grain: Grain
    start: date
    end: date
    compare: Comparison = "none"
    channel: str | None = None
    store: str | None = None
    region: str | None = None
    member: MemberFilter = "all"
    #: Parameters that were given in the URL (only these are repeated in links).
    given: frozenset[str] = field(default_factory=frozenset, compare=False)

    @property
    def comparison(self) -> Literal["previous", "yoy"] | None:
        """The comparison as the KPI query takes it (None: no comparison)."""
        return None if self.compare == "none" else self.compare

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
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "compare": self.compare,
            "channel": self.channel,
            "store": self.store,
            "region": self.region,
            "member": self.member,
        }
        return {k: v for k, v in values.items() if k in self.given and v is not None}

    def with_changes(self, **changes: object) -> ViewParams:
        """This view with some fields changed (they count as given)."""
        changed = replace(self, **changes)  # type: ignore[arg-type]
        return replace(changed, given=self.given | frozenset(changes))

    def query_string(self, **changes: object) -> str:
        """`?grain=...` for a link to this view, optionally changed."""
        view = self.with_changes(**changes) if changes else self
        encoded = urlencode(view.query())
        return f"?{encoded}" if encoded else ""


def _pick(params: Mapping[str, str], name: str, choices: tuple[T, ...], default: D) -> T | D:
    value = params.get(name, "").strip()
    if not value:
        return default
    for choice in choices:
        if choice == value:
            return choice
    raise InvalidViewParam(name, value, ", ".join(choices))


def _date(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidViewParam(name, value, "YYYY-MM-DD") from None


def parse_view_params(
    params: Mapping[str, str],
    *,
    role: Role,
    today: date,
    choices: FilterChoices,
    latest: date | None = None,
    grain: Grain | None = None,
) -> ViewParams:
    """The view asked for by a query string, with defaults for what it leaves out.

    The default range is the latest complete periods (DEFAULT_PERIODS of them) up to
    `latest`, the last day with data (default: yesterday; `today` is injected so this is
    testable). The default grain is the page's `grain`, else the role's. Store and region
    are checked against `choices`.
    """
    grain = _pick(params, "grain", GRAINS, grain or DEFAULT_GRAIN[role])
    newest = latest or today - timedelta(days=1)
    end = _date(params, "end") or latest_complete_end(grain, newest)
    start = _date(params, "start") or periods_back(
        period_start(end, grain), grain, DEFAULT_PERIODS[grain] - 1
    )
    if start > end:
        raise InvalidViewParam("start", start.isoformat(), f"≤ {end.isoformat()}")
    if (end - start).days >= MAX_SPAN_DAYS:
        earliest = end - timedelta(days=MAX_SPAN_DAYS - 1)
        raise InvalidViewParam("start", start.isoformat(), f"≥ {earliest.isoformat()}")
    return ViewParams(
        grain=grain,
        start=start,
        end=end,
        compare=_pick(params, "compare", COMPARISONS, "none"),
        channel=_pick(params, "channel", choices.channels, None),
        store=_pick(params, "store", tuple(store_id for store_id, _ in choices.stores), None),
        region=_pick(params, "region", choices.regions, None),
        member=_pick(params, "member", MEMBER_FILTERS, "all"),
        given=frozenset(name for name in VIEW_PARAMS if params.get(name, "").strip()),
    )


def load_filter_choices(warehouse: Warehouse) -> FilterChoices:
    """Stores and regions the filters offer, read from the warehouse's `stores` table."""
    if "stores" not in warehouse.table_set():
        return FilterChoices()
    stores = warehouse.raw.execute(
        "SELECT store_id, name FROM stores ORDER BY name, store_id"
    ).fetchall()
    regions = warehouse.raw.execute(
        "SELECT DISTINCT region FROM stores WHERE region IS NOT NULL ORDER BY region"
    ).fetchall()
    return FilterChoices(
        stores=tuple((str(store_id), str(name)) for store_id, name in stores),
        regions=tuple(str(region) for (region,) in regions),
    )
