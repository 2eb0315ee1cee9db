"""A KPI's values over a range — the rows behind the KPI detail page, the API's series and
the CSV download, with exactly the columns of `omnikpi kpi query`:
kpi, period_start, <dimensions>, value, comparison_value, change, target, status.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from omnikpi.auth import UserRole
from omnikpi.kpi import Grain, KpiSpec
from omnikpi.services.access import check_kpi_visible
from omnikpi.services.cards import Status, applicable_filters, share_dimension
from omnikpi.services.reader import Filters, KpiReader

VALUE_COLUMNS = ("value", "comparison_value", "change", "target", "status")


@dataclass(frozen=True)
class SeriesRow:
    """One period (and dimension values) of a KPI."""

    period_start: date
    keys: tuple[str | None, ...]
    value: float | None
    comparison_value: float | None
    change: float | None
    target: float | None
    status: Status | None


@dataclass(frozen=True)
class KpiSeries:
    """A KPI's values by period and dimensions, as the engine returned them."""

    kpi: KpiSpec
    grain: Grain
    start: date
    end: date
    compare: str | None
    #: Dimension columns of the rows: the breakdown, then a share KPI's own dimension.
    dimensions: tuple[str, ...]
    rows: tuple[SeriesRow, ...]
    #: Filters asked for that this KPI cannot be cut by (left out).
    unfiltered_by: tuple[str, ...] = ()
    #: The grain asked for, when the KPI is only reported at a coarser one.
    requested_grain: Grain | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the CSV and of `omnikpi kpi query`."""
        return ("kpi", "period_start", *self.dimensions, *VALUE_COLUMNS)

    def period_starts(self) -> list[date]:
        """Every period of the rows, in order."""
        return sorted({row.period_start for row in self.rows})

    def at(self, period: date) -> list[SeriesRow]:
        """The rows of one period."""
        return [row for row in self.rows if row.period_start == period]


def _value(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def series_rows(frame: pd.DataFrame, dimensions: Sequence[str]) -> tuple[SeriesRow, ...]:
    """Engine result rows as SeriesRows."""
    rows = []
    for record in frame.to_dict("records"):
        keys = tuple(None if record.get(d) is None else str(record[d]) for d in dimensions)
        status = record.get("status")
        rows.append(
            SeriesRow(
                period_start=record["period_start"],
                keys=keys,
                value=_value(record.get("value")),
                comparison_value=_value(record.get("comparison_value")),
                change=_value(record.get("change")),
                target=_value(record.get("target")),
                status=status if status in ("green", "amber", "red") else None,
            )
        )
    return tuple(rows)


def reported_grain(kpi: KpiSpec, grain: Grain) -> Grain:
    """`grain`, or the KPI's coarsest-allowed grain if it is not reported that finely."""
    return kpi.min_grain if kpi.min_grain.order > grain.order else grain


def query_series(
    reader: KpiReader,
    role: UserRole,
    kpi_id: str,
    grain: Grain,
    start: date,
    end: date,
    by: Sequence[str] = (),
    filters: Filters | None = None,
    compare: str | None = None,
) -> KpiSeries:
    """The values of `kpi_id` (if `role` may open it) by period and `by` dimensions.

    Unknown dimensions in `by` are errors (ConfigError naming the allowed ones); filters
    the KPI cannot be cut by are left out and named in `unfiltered_by`.
    """
    kpi = check_kpi_visible(reader.catalog, role, kpi_id)
    used_grain = reported_grain(kpi, grain)
    kept, dropped = applicable_filters(reader, kpi_id, filters or {})
    frame = reader.run([kpi_id], used_grain, start, end, by=list(by), filters=kept, compare=compare)
    share = share_dimension(kpi)
    dimensions = (*by, *((share,) if share and share not in by else ()))
    return KpiSeries(
        kpi=kpi,
        grain=used_grain,
        start=start,
        end=end,
        compare=compare,
        dimensions=tuple(dimensions),
        rows=series_rows(frame, dimensions),
        unfiltered_by=dropped,
        requested_grain=grain if used_grain is not grain else None,
    )


def series_csv(series: KpiSeries) -> str:
    """The series as CSV, as `omnikpi kpi query --format csv` writes it (empty = no data)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(series.columns)
    for row in series.rows:
        values = (row.value, row.comparison_value, row.change, row.target, row.status)
        writer.writerow(
            [
                series.kpi.id,
                row.period_start.isoformat(),
                *("" if key is None else key for key in row.keys),
                *("" if value is None else value for value in values),
            ]
        )
    return buffer.getvalue()
