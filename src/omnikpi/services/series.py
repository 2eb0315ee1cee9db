"""A KPI's values over a page's view — the rows behind the KPI detail page and a
breakdown.

A page's view (grain, range, filters) is shared by every KPI it shows, so a KPI may not
allow all of it: the series then uses what applies — the KPI's own grain when the view's is
finer, the filters it can be cut by — and says what it left out, on the page. The request
it ran (`KpiSeries.request`) is what the page's CSV link asks for, so the download has the
rows the page shows. An explicit request (CLI, API) is never adapted: see `query_kpis`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.kpi import Grain, KpiSpec
from omnikpi.kpi.periods import Comparison, nearest_comparison, shift
from omnikpi.kpi.request import KpiRequest, parse_filters
from omnikpi.services.access import check_kpi_visible
from omnikpi.services.query import KpiResult, KpiRow, query_kpis
from omnikpi.services.reader import Filters, KpiReader


@dataclass(frozen=True)
class KpiSeries:
    """One KPI's values by period (and dimensions) for a page."""

    result: KpiResult
    #: Filters of the view this KPI cannot be cut by (left out).
    unfiltered_by: tuple[str, ...] = ()
    #: The view's grain, when the KPI is only reported at a coarser one.
    requested_grain: Grain | None = None
    #: Tables without data the KPI reads, when no period has a value (why there is none).
    missing_tables: tuple[str, ...] = ()
    #: The fewest units a rate needs for a status (`Settings.min_base`).
    min_base: int = 0

    @property
    def kpi(self) -> KpiSpec:
        return self.result.kpis[0]

    @property
    def request(self) -> KpiRequest:
        """The request that gave these rows (what the page's CSV link asks for)."""
        return self.result.request

    @property
    def grain(self) -> Grain:
        return self.request.grain

    @property
    def start(self) -> date:
        return self.request.start

    @property
    def end(self) -> date:
        return self.request.end

    @property
    def compare(self) -> Comparison | None:
        return self.request.compare

    @property
    def dimensions(self) -> tuple[str, ...]:
        return self.result.dimensions

    @property
    def rows(self) -> tuple[KpiRow, ...]:
        return self.result.rows

    @property
    def columns(self) -> tuple[str, ...]:
        return self.result.columns

    def period_starts(self) -> list[date]:
        """Every period of the rows, in order."""
        return sorted({row.period_start for row in self.rows})

    def compared_start(self, period: date) -> date | None:
        """The start of the period that `period` is compared with (None: no comparison)."""
        return shift(period, self.grain, self.compare) if self.compare else None

    @property
    def has_bases(self) -> bool:
        """Whether the KPI is a rate over counted units (its rows say how many)."""
        return any(row.base is not None for row in self.rows)

    def small_base(self, row: KpiRow) -> bool:
        """Whether `row`'s rate is over too few units for a status."""
        return row.small_base(self.min_base)

    def at(self, period: date) -> list[KpiRow]:
        """The rows of one period."""
        return [row for row in self.rows if row.period_start == period]


def reported_grain(kpi: KpiSpec, grain: Grain) -> Grain:
    """`grain`, or the KPI's coarsest-allowed grain if it is not reported that finely."""
    return kpi.min_grain if kpi.min_grain.order > grain.order else grain


def applicable_filters(
    reader: KpiReader, kpi_id: str, filters: Filters
) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """The view's filters `kpi_id` can be cut by, and the names of those it cannot."""
    allowed = reader.dimensions(kpi_id)
    kept = {name: list(values) for name, values in filters.items() if name in allowed}
    return kept, tuple(name for name in filters if name not in allowed)


def series_request(
    reader: KpiReader, role: UserRole, asked: KpiRequest
) -> tuple[KpiRequest, tuple[str, ...]]:
    """The request `view_series` asks the engine for `asked` (the KPI's own grain, the
    filters it can take, the nearest comparison) and the filters it leaves out."""
    (kpi_id,) = asked.kpis
    kpi = check_kpi_visible(reader.catalog, role, kpi_id)
    used_grain = reported_grain(kpi, asked.grain)
    kept, dropped = applicable_filters(reader, kpi_id, asked.filter_map)
    compare = asked.compare and nearest_comparison(asked.compare, used_grain)
    request = replace(asked, grain=used_grain, filters=parse_filters(kept), compare=compare)
    return request, dropped


def view_series(reader: KpiReader, role: UserRole, asked: KpiRequest) -> KpiSeries:
    """The values of the one KPI `asked` for (if `role` may open it) over a page's view: at
    the KPI's own grain when the view's is finer (with the nearest comparison it has),
    cut by the filters it can take (the others are named on the series)."""
    (kpi_id,) = asked.kpis
    request, dropped = series_request(reader, role, asked)
    result = query_kpis(reader, request, role)
    if dropped:  # the total is not held to the filtered view's targets
        rows = tuple(replace(row, target=None, status=None) for row in result.rows)
        result = replace(result, rows=rows)
    empty = all(row.value is None and row.suppressed is None for row in result.rows)
    return KpiSeries(
        result=result,
        unfiltered_by=dropped,
        requested_grain=asked.grain if request.grain is not asked.grain else None,
        missing_tables=reader.missing_tables(kpi_id) if empty else (),
        min_base=reader.settings.min_base,
    )
