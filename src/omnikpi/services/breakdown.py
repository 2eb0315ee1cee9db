"""A KPI split by one dimension for one period: the stage dashboard's "by channel" and the
KPI detail page's breakdown by any dimension the KPI allows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from omnikpi.auth import UserRole
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Grain
from omnikpi.kpi.periods import period_start
from omnikpi.services.query import KpiRow
from omnikpi.services.reader import Filters, KpiReader
from omnikpi.services.series import KpiSeries, view_series

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
    """One period of a KPI by the values of `dimension`, largest first."""

    series: KpiSeries
    dimension: str
    period_start: date

    @property
    def rows(self) -> tuple[KpiRow, ...]:
        """The rows, largest value first, no data last (ties: rows with a dimension
        value before those without, such as orders of no campaign)."""
        return tuple(
            sorted(
                self.series.rows,
                key=lambda row: (
                    row.value is None,
                    -(row.value or 0.0),
                    tuple((key is None, key or "") for key in row.keys),
                ),
            )
        )


def build_breakdown(
    reader: KpiReader,
    role: UserRole,
    kpi_id: str,
    dimension: str,
    grain: Grain,
    end: date,
    filters: Filters | None = None,
    compare: str | None = "previous",
) -> Breakdown:
    """`kpi_id` by `dimension` for the period of `grain` ending the view on `end`."""
    if dimension not in reader.dimensions(kpi_id):
        raise InvalidChoice("by", dimension, ", ".join(allowed_dimensions(reader, kpi_id)) or "-")
    first = period_start(end, grain)
    series = view_series(
        reader, role, kpi_id, grain, first, end, by=[dimension], filters=filters, compare=compare
    )
    return Breakdown(series, dimension, period_start(end, series.grain))
