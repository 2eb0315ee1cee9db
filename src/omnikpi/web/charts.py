"""Chart specs for `static/app.js`: labels, series and their formatted text, in the page's
language. The browser only draws them (ECharts); every number shown is formatted here.

A spec is `{"kind": "spark" | "line" | "bar" | "hbar", "axis": "percent" | "currency" |
"number", "currency": "KRW", "labels": [...], "series": [{"name", "role", "values",
"text"}]}`; a series' role ("value", "target", "comparison", "share") picks its style.
A value withheld from the role (small-cell suppression) is not plotted (null) and its text
is the marker ("<10").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from omnikpi.i18n import LocaleFormat, t
from omnikpi.services import Breakdown, KpiCard, KpiSeries, KpiSpec
from omnikpi.services.suppression import withheld_marker
from omnikpi.web.labels import Labels

Spec = dict[str, Any]


def axis_of(kpi: KpiSpec) -> str:
    """How the value axis is labelled: percent, currency or plain numbers."""
    return kpi.unit if kpi.unit in ("percent", "currency") else "number"


def _series(
    name: str,
    role: str,
    values: Sequence[float | None],
    kpi: KpiSpec,
    fmt: LocaleFormat,
    withheld: Sequence[str | None] = (),
) -> dict[str, Any]:
    """A series; `withheld[i]` is the marker of a value withheld from the role."""
    marks = list(withheld) or [None] * len(values)
    return {
        "name": name,
        "role": role,
        "values": [None if mark else v for v, mark in zip(values, marks, strict=True)],
        "text": [mark or fmt.value(v, kpi.unit) for v, mark in zip(values, marks, strict=True)],
    }


def _spec(kind: str, kpi: KpiSpec, fmt: LocaleFormat, labels: list[str], series: list[Any]) -> Spec:
    return {
        "kind": kind,
        "axis": axis_of(kpi),
        "currency": fmt.currency,
        "labels": labels,
        "series": series,
    }


def sparkline(card: KpiCard, fmt: LocaleFormat, labels: Labels, minimum: int = 0) -> Spec | None:
    """The small trend of a card (None when it has no trend or no data at all); points
    withheld from the role show as "<`minimum`"."""
    if not card.trend or all(point.value is None for point in card.trend):
        return None
    periods = [fmt.period(point.period_start, card.grain) for point in card.trend]
    values = [point.value for point in card.trend]
    marker = withheld_marker(fmt.locale, minimum)
    withheld = [marker if point.suppressed else None for point in card.trend]
    return _spec(
        "spark",
        card.kpi,
        fmt,
        periods,
        [_series(labels.kpi(card.kpi), "value", values, card.kpi, fmt, withheld)],
    )


def spark_label(card: KpiCard, fmt: LocaleFormat, labels: Labels, minimum: int = 0) -> str:
    """What the sparkline shows, for screen readers."""
    first, last = card.trend[0], card.trend[-1]
    latest = (
        withheld_marker(fmt.locale, minimum)
        if last.suppressed
        else fmt.value(last.value, card.kpi.unit)
    )
    return t(
        "kpi.spark_label",
        fmt.locale,
        name=labels.kpi(card.kpi),
        start=fmt.period(first.period_start, card.grain),
        end=fmt.period(last.period_start, card.grain),
        value=latest,
    )


def trend_chart(series: KpiSeries, fmt: LocaleFormat, labels: Labels, minimum: int = 0) -> Spec:
    """The KPI detail's trend: the value, its target and comparison; a line per share
    (values withheld from the role are not plotted: "<`minimum`")."""
    kpi = series.kpi
    marker = withheld_marker(fmt.locale, minimum)
    starts = series.period_starts()
    periods = [fmt.period(start, series.grain) for start in starts]
    lines: list[Any] = []
    if series.dimensions:
        dimension = series.dimensions[-1]
        keys = sorted({row.keys[-1] for row in series.rows}, key=lambda k: str(k))
        for key in keys:
            by_period = {row.period_start: row for row in series.rows if row.keys[-1] == key}
            found = [by_period.get(start) for start in starts]
            values = [row.value if row else None for row in found]
            withheld = [marker if row and row.suppressed else None for row in found]
            name = labels.value(dimension, key)
            lines.append(_series(name, "share", values, kpi, fmt, withheld))
        return _spec("line", kpi, fmt, periods, lines)
    rows = {row.period_start: row for row in series.rows}

    def column(name: str) -> list[float | None]:
        return [getattr(rows[start], name) if start in rows else None for start in starts]

    def marks(name: str) -> list[str | None]:
        return [
            marker if start in rows and getattr(rows[start], name) else None for start in starts
        ]

    value = column("value")
    lines.append(_series(labels.kpi(kpi), "value", value, kpi, fmt, marks("suppressed")))
    if any(value is not None for value in column("target")):
        lines.append(
            _series(t("detail.target_line", fmt.locale), "target", column("target"), kpi, fmt)
        )
    if series.compare is not None:
        name = t(f"comparisons.{series.compare}", fmt.locale)
        compared = column("comparison_value")
        lines.append(
            _series(name, "comparison", compared, kpi, fmt, marks("comparison_suppressed"))
        )
    return _spec("line", kpi, fmt, periods, lines)


def breakdown_chart(breakdown: Breakdown, fmt: LocaleFormat, labels: Labels) -> Spec | None:
    """Horizontal bars of the breakdown's values (one bar per dimension value), if any."""
    rows = [row for row in breakdown.rows if row.value is not None]
    if not rows or len(breakdown.series.dimensions) != 1:
        return None
    kpi = breakdown.series.kpi
    names = [labels.value(breakdown.dimension, row.keys[0]) for row in rows]
    values = [row.value for row in rows]
    return _spec("hbar", kpi, fmt, names, [_series(labels.kpi(kpi), "value", values, kpi, fmt)])


def volume_chart(
    rows: Sequence[tuple[date, int]], grain: str, name: str, fmt: LocaleFormat
) -> Spec:
    """Bars of rows per period (the data status page)."""
    return {
        "kind": "bar",
        "axis": "number",
        "currency": fmt.currency,
        "labels": [fmt.period(start, grain) for start, _ in rows],
        "series": [
            {
                "name": name,
                "role": "value",
                "values": [count for _, count in rows],
                "text": [fmt.number(count) for _, count in rows],
            }
        ],
    }
