"""How much one KPI request may ask for, checked before the engine reads anything.

A request may break down by at most `Settings.max_by` dimensions (OMNIKPI_MAX_BY, 3) and
ask for at most `Settings.max_cells` values (OMNIKPI_MAX_CELLS, 1,000,000). A value is one
KPI for one period and one combination of dimension values: a row of the engine's long
table. How many a request may give is estimated from what is known without running it:

    periods of the range × KPIs × (for each dimension of the rows) its values

where a dimension filtered on has the values named in the filter and any other has the
values the catalog declares for it (or, when it declares none, those the rows carry),
plus one for rows without a value ("Not set"). The estimate is an upper bound: a
breakdown by two dimensions rarely has every pair of values, but it never has more.

>>> estimate = CellEstimate(periods=31, grain=Grain.DAY, kpis=2, values={"channel": 6})
>>> estimate.cells, estimate.describe()
(372, '31 days × 2 KPIs × 6 channel values')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from omnikpi.kpi import Catalog, Grain, KpiQuery
from omnikpi.kpi.domains import declared_values
from omnikpi.kpi.periods import periods
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.choices import offered_values
from omnikpi.services.errors import RequestTooLarge
from omnikpi.services.reader import CachedKpiReader, KpiReader
from omnikpi.settings import Settings
from omnikpi.warehouse import Tables

#: What to do when a request asks for too many values.
NARROW_CELLS = (
    "ask for a coarser grain, a shorter range, fewer KPIs or fewer dimensions, "
    "or filter on a dimension"
)


@dataclass(frozen=True)
class CellEstimate:
    """The most values a request can give: its periods × KPIs × each dimension's values."""

    periods: int
    grain: Grain
    kpis: int
    #: Dimension → how many values its rows may have (including "Not set").
    values: Mapping[str, int] = field(default_factory=dict)

    @property
    def cells(self) -> int:
        """The product of the factors."""
        total = self.periods * self.kpis
        for count in self.values.values():
            total *= count
        return total

    def describe(self) -> str:
        """The factors in words: `31 days × 2 KPIs × 6 channel values`."""
        parts = [
            f"{self.periods:,} {self.grain.value}{'s' if self.periods != 1 else ''}",
            f"{self.kpis:,} KPI{'s' if self.kpis != 1 else ''}",
            *(f"{count:,} {name} values" for name, count in self.values.items()),
        ]
        return " × ".join(parts)


def count_values(catalog: Catalog, tables: Tables, dimension: str) -> int:
    """How many values a row's `dimension` may have: those the catalog declares (a fixed
    list, an enum or a reference table), else those the KPIs' rows carry; plus one for a
    row without a value."""
    declared = declared_values(catalog, tables, dimension)
    found = declared if declared is not None else offered_values(catalog, tables, dimension)
    return len(found) + 1


def dimension_values(reader: KpiReader, dimension: str) -> int:
    """`count_values` of `dimension` on the reader's warehouse (kept for the data version
    when the reader caches)."""
    if isinstance(reader, CachedKpiReader):
        return reader.read(
            ("dimension_values", dimension),
            lambda warehouse: count_values(reader.catalog, warehouse, dimension),
        )
    if isinstance(reader, KpiQuery):
        return count_values(reader.catalog, reader.engine, dimension)
    raise TypeError(f"cannot count the values of {dimension!r} through {type(reader).__name__}")


def estimate_cells(
    reader: KpiReader, request: KpiRequest, dimensions: Sequence[str]
) -> CellEstimate:
    """The most values `request` can give in rows with columns of `dimensions` (its
    breakdown and any share KPI's dimension, see `omnikpi.services.query.row_dimensions`).
    A dimension the catalog does not know counts once here: the engine refuses it when the
    request runs."""
    filtered = dict(request.filters)
    values: dict[str, int] = {}
    for dimension in dimensions:
        if dimension in filtered:
            values[dimension] = len(filtered[dimension])
        elif dimension in reader.catalog.dimensions:
            values[dimension] = dimension_values(reader, dimension)
    count = len(periods(request.start, request.end, request.grain))
    return CellEstimate(count, request.grain, len(request.kpis), values)


def check_request_size(
    reader: KpiReader, request: KpiRequest, dimensions: Sequence[str] | None = None
) -> CellEstimate:
    """RequestTooLarge unless `request` breaks down by at most `max_by` dimensions and can
    give at most `max_cells` values in rows with columns of `dimensions` (default: its
    breakdown) — see the module's docstring; else its estimate."""
    settings = reader.settings
    if len(request.by) > settings.max_by:
        raise RequestTooLarge(
            f"by asks for {len(request.by)} dimensions ({', '.join(request.by)}), more than "
            f"the limit of {settings.max_by} (OMNIKPI_MAX_BY): break down by fewer "
            "dimensions, or filter on some of them instead",
            asked=len(request.by),
            limit=settings.max_by,
            dimensions=True,
        )
    estimate = estimate_cells(reader, request, request.by if dimensions is None else dimensions)
    _check_cells(settings, estimate.cells, estimate.describe())
    return estimate


def check_requests_size(
    reader: KpiReader, shapes: Iterable[tuple[KpiRequest, Sequence[str]]]
) -> int:
    """RequestTooLarge unless the requests of a page (a dashboard: one per KPI, with the
    dimension a share KPI splits into) can give at most `max_cells` values together; else
    how many they can give."""
    estimates = [estimate_cells(reader, request, dimensions) for request, dimensions in shapes]
    total = sum(estimate.cells for estimate in estimates)
    longest = max((estimate.periods for estimate in estimates), default=0)
    grain = estimates[0].grain.value if estimates else "period"
    _check_cells(
        reader.settings, total, f"{len(estimates):,} KPIs, up to {longest:,} {grain}s each"
    )
    return total


def _check_cells(settings: Settings, cells: int, factors: str) -> None:
    if cells > settings.max_cells:
        raise RequestTooLarge(
            f"this request asks for up to {cells:,} values ({factors}), more than the limit "
            f"of {settings.max_cells:,} (OMNIKPI_MAX_CELLS): {NARROW_CELLS}",
            asked=cells,
            limit=settings.max_cells,
            dimensions=False,
        )
