"""The KPI detail page: the trend with target, the latest period, a breakdown by any
allowed dimension, and what the KPI means."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.kpi import KpiSpec
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.access import check_kpi_visible
from omnikpi.services.breakdown import (
    Breakdown,
    allowed_dimensions,
    build_breakdown,
    channel_dimension,
)
from omnikpi.services.query import KpiRow
from omnikpi.services.reader import KpiReader
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
    # Refused before anything is read; the breakdown's numerator and denominator KPIs are
    # inputs of this one, which `role` reads only if it reads them too (services.access).
    kpi_spec = check_kpi_visible(reader.catalog, role, asked.kpis[0])
    breakdown = None
    if breakdown_by:  # read with the trend in one pass
        breakdown = build_breakdown(
            reader,
            role,
            kpi_spec.id,
            breakdown_by,
            reported_grain(kpi_spec, asked.grain),
            asked.end,
            asked.filter_map,
            asked.compare or "previous",
            read_with=[series_request(reader, role, trend)[0]],
        )
    series = view_series(reader, role, trend)
    kpi = series.kpi
    kpi_id = kpi.id
    return KpiDetail(
        kpi=kpi,
        series=series,
        breakdown=breakdown,
        dimensions=allowed_dimensions(reader, kpi_id),
        suggested_dimension=kpi.breakdown or channel_dimension(reader, kpi_id),
        data_through=reader.data_through(),
    )
