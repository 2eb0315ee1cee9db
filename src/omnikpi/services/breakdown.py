"""A KPI split by one dimension for one period: the stage dashboard's "by channel" and the
KPI detail page's breakdown by any dimension the KPI allows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Catalog, Grain, KpiSpec
from omnikpi.kpi.periods import Comparison, compared_range, period_start
from omnikpi.kpi.request import KpiRequest, parse_filters
from omnikpi.kpi.spec import RatioMeasure
from omnikpi.services.contribution import Contribution, Segment, contributions
from omnikpi.services.limits import check_request_size
from omnikpi.services.query import KpiRow, row_dimensions
from omnikpi.services.reader import Filters, KpiReader, read_ahead
from omnikpi.services.series import KpiSeries, series_request, view_series
from omnikpi.services.suppression import checked_request

#: The channel dimensions, most specific to the sale first: a KPI is broken down "by channel"
#: by the first of these it allows (sales channel for sales and web KPIs, marketing channel
#: for media, service channel for tickets, message channel for CRM, social platform).
CHANNEL_DIMENSIONS: tuple[str, ...] = (
    "channel",
    "marketing_channel",
    "service_channel",
    "message_channel",
    "social_platform",
)


def channel_dimension(reader: KpiReader, kpi_id: str) -> str | None:
    """The channel dimension `kpi_id` is broken down by, or None if it has none."""
    allowed = reader.dimensions(kpi_id)
    return next((d for d in CHANNEL_DIMENSIONS if d in allowed), None)


def channel_dimensions(reader: KpiReader, kpi_ids: Iterable[str]) -> dict[str, str | None]:
    """The channel dimension of each KPI (None: it has none)."""
    return {kpi_id: channel_dimension(reader, kpi_id) for kpi_id in kpi_ids}


def allowed_dimensions(reader: KpiReader, kpi_id: str) -> tuple[str, ...]:
    """The dimensions `kpi_id` may be broken down by, in the catalog's order."""
    allowed = reader.dimensions(kpi_id)
    return tuple(d for d in reader.catalog.dimensions if d in allowed)


@dataclass(frozen=True)
class Breakdown:
    """One period of a KPI by the values of `dimension`: each value's number (with its
    numerator and denominator for ratios) and, against the compared period, its
    contribution to the change of the total."""

    series: KpiSeries
    dimension: str
    period_start: date
    #: Each value's part of the total's change, largest first (empty without comparison).
    contributions: tuple[Contribution, ...] = ()
    #: The natural order of an ordinal dimension's values (hours): rows follow it.
    order: tuple[str, ...] = ()
    #: The KPIs a ratio is the quotient of (conversion rate: orders, visits), where the
    #: catalog names them (None: a part the KPI defines in place).
    numerator: KpiSpec | None = None
    denominator: KpiSpec | None = None

    @property
    def rows(self) -> tuple[KpiRow, ...]:
        """The rows in the dimension's natural order if it has one (hours 00 to 23), else
        by contribution to the change when compared, else largest value first; no data
        last (ties: rows with a dimension value before those without, such as orders of
        no campaign)."""
        if self.order:
            position = {value: number for number, value in enumerate(self.order)}
            return tuple(
                sorted(
                    self.series.rows,
                    key=lambda row: position.get(str(row.keys[0]), len(position)),
                )
            )
        rank = {c.key: number for number, c in enumerate(self.contributions)}
        return tuple(
            sorted(
                self.series.rows,
                key=lambda row: (
                    rank.get(row.keys[0], len(rank)),
                    row.value is None,
                    -(row.value or 0.0),
                    tuple((key is None, key or "") for key in row.keys),
                ),
            )
        )

    def contribution(self, key: str | None) -> Contribution | None:
        """The contribution of one value of the dimension."""
        return next((c for c in self.contributions if c.key == key), None)

    @property
    def is_ratio(self) -> bool:
        """Whether the KPI is a ratio: its rows have a numerator and a denominator, and a
        change splits into rate and mix effects."""
        return any(row.denominator is not None for row in self.series.rows)


def build_breakdown(
    reader: KpiReader,
    role: UserRole,
    kpi_id: str,
    dimension: str,
    grain: Grain,
    end: date,
    filters: Filters | None = None,
    compare: Comparison | None = "previous",
    read_with: Sequence[KpiRequest] = (),
) -> Breakdown:
    """`kpi_id` by `dimension` for the period of `grain` ending the view on `end`; the
    period, the period it is compared with and the requests `read_with` (a detail's trend)
    are read in one pass when the reader caches answers."""
    if dimension not in reader.dimensions(kpi_id):
        raise InvalidChoice("by", dimension, ", ".join(allowed_dimensions(reader, kpi_id)) or "-")
    asked = KpiRequest(
        kpis=(kpi_id,),
        grain=grain,
        start=period_start(end, grain),
        end=end,
        by=(dimension,),
        filters=parse_filters(filters or {}),
        compare=compare,
        parts=True,
    )
    request, _ = series_request(reader, role, asked)
    kpi = reader.catalog.get(kpi_id)
    check_request_size(reader, request, row_dimensions(request, [kpi]))  # before reading ahead
    before_asked = None
    if request.compare is not None:
        start, last = compared_range(request.start, request.end, request.grain, request.compare)
        before_asked = replace(asked, grain=request.grain, start=start, end=last, compare=None)
    views = [asked, *(() if before_asked is None else [before_asked])]
    ahead = [*read_with, *(series_request(reader, role, v)[0] for v in views)]
    read_ahead(reader, [checked_request(r, role) for r in ahead])
    series = view_series(reader, role, asked)
    found: tuple[Contribution, ...] = ()
    if before_asked is not None:
        before = view_series(reader, role, before_asked)
        found = tuple(contributions(_segments(series, before)))
    spec = reader.catalog.dimensions.get(dimension)
    order = tuple(spec.values or ()) if spec is not None and spec.ordinal else ()
    numerator, denominator = _part_kpis(reader.catalog, series.kpi)
    return Breakdown(
        series, dimension, period_start(end, series.grain), found, order, numerator, denominator
    )


def _part_kpis(catalog: Catalog, kpi: KpiSpec) -> tuple[KpiSpec | None, KpiSpec | None]:
    """The catalog KPIs a ratio KPI divides (None for a part defined in place)."""
    measure = kpi.measure
    if not isinstance(measure, RatioMeasure):
        return None, None
    numerator, denominator = measure.numerator, measure.denominator
    return (
        catalog.kpis.get(numerator) if isinstance(numerator, str) else None,
        catalog.kpis.get(denominator) if isinstance(denominator, str) else None,
    )


def _segments(now: KpiSeries, before: KpiSeries) -> list[Segment]:
    """Each value of the dimension now and in the compared period (a share KPI: none).
    A value withheld from the role (small-cell suppression) has no contribution, and a
    ratio with one has none at all: its weights would need the withheld parts."""
    if len(now.dimensions) != 1:
        return []
    withheld = {r.keys[0] for r in (*now.rows, *before.rows) if r.suppressed is not None}
    if withheld and any(r.suppressed is None and r.denominator is not None for r in now.rows):
        return []
    earlier = {row.keys[0]: row for row in before.rows}
    segments = []
    for key in dict.fromkeys([*(r.keys[0] for r in now.rows), *earlier]):
        if key in withheld:
            continue
        row = next((r for r in now.rows if r.keys[0] == key), None)
        old = earlier.get(key)
        ratio = any(r is not None and r.denominator is not None for r in (row, old))
        segments.append(
            Segment(
                key,
                _part(row, "numerator" if ratio else "value"),
                _part(row, "denominator") if ratio else None,
                _part(old, "numerator" if ratio else "value"),
                _part(old, "denominator") if ratio else None,
            )
        )
    return segments


def _part(row: KpiRow | None, name: str) -> float | None:
    value = getattr(row, name) if row is not None else None
    return float(value) if value is not None else None
