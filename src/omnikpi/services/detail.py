"""The KPI detail page: the trend with target, the latest period, a breakdown by any
allowed dimension, and what the KPI means."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.kpi import KpiSpec
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.breakdown import (
    Breakdown,
    allowed_dimensions,
    breakdown_views,
    build_breakdown,
    channel_dimension,
)
from omnikpi.services.query import KpiRow
from omnikpi.services.reader import KpiReader, read_ahead
from omnikpi.services.series import KpiSeries, reported_grain, series_request, view_series


@dataclass(frozen=True)
class KpiDetail:
    """Everything the KPI detail page shows but the compiled query."""

    kpi: KpiSpec
    series: KpiSeries
    breakdown: Breakdown | None
    #: Dimensions the KPI may be broken down by (catalog order), and the one it usually is.
    dimensions: tuple[str, ...]
    suggested_dimension: str | None
    data_through: date

    @property
    def latest(self) -> list[KpiRow]:
        """The rows of the last period (one, or one per share)."""
        periods = self.series.period_starts()
        return self.series.at(periods[-1]) if periods else []

    @property
    def has_targets(self) -> bool:
        """Whether any period has a target."""
        return any(row.target is not None for row in self.series.rows)


def build_kpi_detail(
    reader: KpiReader, role: UserRole, asked: KpiRequest, breakdown_by: str | None = None
) -> KpiDetail:
    """The detail of the KPI `asked` for (if `role` may open it) over the view's range.

    `breakdown_by` splits the last period by a dimension the KPI allows.

    >>> asked = KpiRequest.parse("revenue", "month", "2025-01-01", "2025-12-31",
    ...                          compare="previous")
    >>> build_kpi_detail(reader, role, asked, breakdown_by="channel")  # doctest: +SKIP
    """
    trend = replace(asked, by=(), parts=False)
    if breakdown_by:  # the trend and the breakdown's periods read in one pass
        kpi = reader.catalog.get(asked.kpis[0])
        views = breakdown_views(
            reader,
            role,
            kpi.id,
            breakdown_by,
            reported_grain(kpi, asked.grain),
            asked.end,
            asked.filter_map,
            asked.compare or "previous",
        )
        wanted = [trend, *(v for v in views if v is not None)]
        read_ahead(reader, [series_request(reader, role, v)[0] for v in wanted])
    series = view_series(reader, role, trend)
    kpi = series.kpi
    kpi_id = kpi.id
    breakdown = None
    if breakdown_by:
        breakdown = build_breakdown(
            reader,
            role,
            kpi_id,
            breakdown_by,
            series.grain,
            asked.end,
            asked.filter_map,
            asked.compare or "previous",
        )
    return KpiDetail(
        kpi=kpi,
        series=series,
        breakdown=breakdown,
        dimensions=allowed_dimensions(reader, kpi_id),
        suggested_dimension=kpi.breakdown or channel_dimension(reader, kpi_id),
        data_through=reader.data_through(),
    )
