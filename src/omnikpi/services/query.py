"""The one way to ask for KPI values: a `KpiRequest` run through the KPI engine.

`omnikpi kpi query`, `GET /api/v1/kpis/{id}/series` and every CSV download of KPI values
call `query_kpis`, so one request gives the same rows, or the same error, everywhere. The
rows have the columns of the engine's long table:
kpi, period_start, <dimensions>, value, comparison_value, change, change_type, target, status,
base (the units a rate is taken over: its sample size); for a role without customer-level
access also suppressed and comparison_suppressed (why a value is withheld, see
`omnikpi.services.suppression`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pandas as pd

from omnikpi.auth import UserRole
from omnikpi.kpi import KpiSpec
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.spec import ChangeType, ShareMeasure
from omnikpi.services.access import check_kpi_visible
from omnikpi.services.export import csv_chunks
from omnikpi.services.limits import check_request_size
from omnikpi.services.reader import KpiReader
from omnikpi.services.suppression import Reason, read_answer, sees_customers

Status = Literal["green", "amber", "red"]
STATUSES: tuple[Status, ...] = ("green", "amber", "red")
VALUE_COLUMNS = ("value", "comparison_value", "change", "change_type", "target", "status", "base")
#: The columns a request for parts adds after `value`.
PART_COLUMNS = ("numerator", "denominator")
#: The columns saying why a value or its comparison is withheld (small-cell suppression).
SUPPRESSION_COLUMNS = ("suppressed", "comparison_suppressed")


@dataclass(frozen=True)
class KpiRow:
    """One KPI for one period (and dimension values)."""

    kpi: str
    period_start: date
    keys: tuple[str | None, ...]
    value: float | None
    comparison_value: float | None
    #: Relative change, or the difference in points (see `change_type`).
    change: float | None
    change_type: ChangeType
    target: float | None
    status: Status | None
    #: For rates over counted units: how many (visits, answers); None for other KPIs.
    base: float | None = None
    #: For ratio KPIs, when asked for: the summed parts the value is the ratio of.
    numerator: float | None = None
    denominator: float | None = None
    #: Why the value (with its parts, base, change and status) is withheld from this role,
    #: and why the compared value is: None when shown (`omnikpi.services.suppression`).
    suppressed: Reason | None = None
    comparison_suppressed: Reason | None = None

    @property
    def withheld(self) -> bool:
        """Whether the row has a value and a target but no status: too small a base, or a
        partial period the KPI cannot be paced in ("Not rated", not "No target")."""
        return self.value is not None and self.target is not None and self.status is None

    def small_base(self, minimum: int) -> bool:
        """Whether the row's rate is over fewer than `minimum` units (see `too_few`)."""
        return too_few(self.value, self.base, minimum)


@dataclass(frozen=True)
class KpiResult:
    """The rows a request gives, with the KPIs and dimension columns they have."""

    request: KpiRequest
    kpis: tuple[KpiSpec, ...]
    #: Dimension columns: the breakdown, then the dimension of any share KPI.
    dimensions: tuple[str, ...]
    rows: tuple[KpiRow, ...]
    #: The fewest customers a value shown describes, when the rows were checked for small
    #: cells (a role without customer-level access); None: every value is shown.
    min_customers: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of the CSV, the JSON and `omnikpi kpi query`."""
        parts = PART_COLUMNS if self.request.parts else ()
        marks = SUPPRESSION_COLUMNS if self.min_customers is not None else ()
        return (
            "kpi", "period_start", *self.dimensions, "value", *parts, *VALUE_COLUMNS[1:], *marks,
        )  # fmt: skip

    def records(self) -> list[dict[str, object]]:
        """The rows as plain values by column (dates as YYYY-MM-DD; None = no data)."""
        return list(self.iter_records())

    def iter_records(self) -> Iterator[dict[str, object]]:
        """`records` one at a time (a streamed download holds one row in hand, not all)."""
        for row in self.rows:
            yield {
                "kpi": row.kpi,
                "period_start": row.period_start.isoformat(),
                **dict(zip(self.dimensions, row.keys, strict=True)),
                "value": row.value,
                **(
                    {"numerator": row.numerator, "denominator": row.denominator}
                    if self.request.parts
                    else {}
                ),
                "comparison_value": row.comparison_value,
                "change": row.change,
                "change_type": row.change_type,
                "target": row.target,
                "status": row.status,
                "base": row.base,
                **(
                    {
                        "suppressed": row.suppressed,
                        "comparison_suppressed": row.comparison_suppressed,
                    }
                    if self.min_customers is not None
                    else {}
                ),
            }

    def csv(self) -> str:
        """The rows as CSV (an empty cell is no data)."""
        return "".join(self.csv_chunks())

    def csv_chunks(self) -> Iterator[str]:
        """The rows as CSV a piece at a time, for a download that streams."""
        return csv_chunks(self.columns, self.iter_records())


def too_few(value: float | None, base: float | None, minimum: int) -> bool:
    """Whether a value is a rate over fewer than `minimum` units (`Settings.min_base`): no
    status, and the page says how many. A value without data is not flagged.

    >>> too_few(0.6, 5.0, 30), too_few(None, 0.0, 30), too_few(1200.0, None, 30)
    (True, False, False)
    """
    return value is not None and base is not None and base < minimum


def share_dimension(kpi: KpiSpec) -> str | None:
    """The dimension a share KPI splits into (payment_type_share → payment_method)."""
    return kpi.measure.of if isinstance(kpi.measure, ShareMeasure) else None


def row_dimensions(request: KpiRequest, kpis: Sequence[KpiSpec]) -> tuple[str, ...]:
    """The dimension columns of a request's rows: its breakdown, then the dimension each
    share KPI splits into (payment_type_share: payment_method)."""
    shares = [d for d in (share_dimension(k) for k in kpis) if d and d not in request.by]
    return (*request.by, *dict.fromkeys(shares))


def number(value: object) -> float | None:
    """A result cell as a float; None for no data."""
    if value is None:
        return None
    result = float(value)  # type: ignore[arg-type]
    return None if math.isnan(result) else result


def status_of(value: object) -> Status | None:
    """A result cell as a status."""
    return next((status for status in STATUSES if value == status), None)


def reason_of(value: object) -> Reason | None:
    """A result cell as a reason a value is withheld."""
    if value == "small_cell":
        return "small_cell"
    return "complementary" if value == "complementary" else None


def change_between(
    value: float | None, comparison: float | None, change_type: ChangeType
) -> float | None:
    """The change from `comparison` to `value` as the KPI engine computes `change`: the
    difference for points, else relative to |comparison| (None without both, or from 0).

    >>> change_between(0.147, 0.134, "points"), change_between(110.0, 100.0, "relative")
    (0.013000000000000012, 0.1)
    """
    if value is None or comparison is None:
        return None
    if change_type == "points":
        return value - comparison
    return None if comparison == 0 else (value - comparison) / abs(comparison)


def result_rows(frame: pd.DataFrame, dimensions: Sequence[str]) -> tuple[KpiRow, ...]:
    """Engine result rows as KpiRows (read column by column)."""
    present = [d for d in dimensions if d in frame.columns]
    columns = {name: frame[name].tolist() for name in ["kpi", "period_start", *present]}
    values = {
        name: frame[name].tolist()
        for name in (*VALUE_COLUMNS, *PART_COLUMNS, *SUPPRESSION_COLUMNS)
        if name in frame
    }
    rows = []
    for index, kpi in enumerate(columns["kpi"]):
        keys = tuple(
            None if d not in columns or columns[d][index] is None else str(columns[d][index])
            for d in dimensions
        )
        rows.append(
            KpiRow(
                kpi=str(kpi),
                period_start=columns["period_start"][index],
                keys=keys,
                value=number(values["value"][index]),
                comparison_value=number(values["comparison_value"][index]),
                change=number(values["change"][index]),
                change_type="points" if values["change_type"][index] == "points" else "relative",
                target=number(values["target"][index]),
                status=status_of(values["status"][index]),
                base=number(values["base"][index]) if "base" in values else None,
                numerator=number(values["numerator"][index]) if "numerator" in values else None,
                denominator=(
                    number(values["denominator"][index]) if "denominator" in values else None
                ),
                suppressed=(
                    reason_of(values["suppressed"][index]) if "suppressed" in values else None
                ),
                comparison_suppressed=(
                    reason_of(values["comparison_suppressed"][index])
                    if "comparison_suppressed" in values
                    else None
                ),
            )
        )
    return tuple(rows)


def query_kpis(reader: KpiReader, request: KpiRequest, role: UserRole | None = None) -> KpiResult:
    """The values `request` asks for. With a `role`, each KPI must be one it may open
    (KpiDenied otherwise); without one (the CLI on the warehouse owner's machine) every KPI
    may be read; a role without customer-level access gets values describing too few
    customers withheld (`omnikpi.services.suppression`). Unknown KPIs, dimensions a KPI
    does not allow, grains finer than a KPI is reported at and filter values that do not
    exist are errors, never a silent change;
    so is a request larger than the settings allow (`check_request_size`), before it runs.
    """
    kpis = tuple(
        check_kpi_visible(reader.catalog, role, kpi_id)
        if role is not None
        else reader.catalog.get(kpi_id)
        for kpi_id in request.kpis
    )
    dimensions = row_dimensions(request, kpis)
    check_request_size(reader, request, dimensions)
    frame = read_answer(reader, request, role)
    checked = None if sees_customers(role) else reader.settings.min_cell_customers
    return KpiResult(request, kpis, dimensions, result_rows(frame, dimensions), checked)
