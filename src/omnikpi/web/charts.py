"""Chart specs for `static/app.js`: labels, series and their formatted text, in the page's
language. The browser only draws them (ECharts); every number shown is formatted here.

A spec is `{"kind": "spark" | "line" | "bar" | "hbar", "axis": "percent" | "currency" |
"number", "currency": "KRW", "labels": [...], "series": [{"name", "role", "values",
"text"}]}`; a series' role ("value", "target", "comparison", "share") picks its style.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from omnikpi.i18n import LocaleFormat, t
from omnikpi.services import Breakdown, KpiCard, KpiSeries, KpiSpec
from omnikpi.web.labels import Labels

Spec = dict[str, Any]


def axis_of(kpi: KpiSpec) -> str:
    """How the value axis is labelled: percent, currency or plain numbers."""
    return kpi.unit if kpi.unit in ("percent", "currency") else "number"


def _series(
    name: str, role: str, values: Sequence[float | None], kpi: KpiSpec, fmt: LocaleFormat
) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "values": list(values),
        "text": [fmt.value(v, kpi.unit) for v in values],
    }


def _spec(kind: str, kpi: KpiSpec, fmt: LocaleFormat, labels: list[str], series: list[Any]) -> Spec:
    return {
        "kind": kind,
        "axis": axis_of(kpi),
        "currency": fmt.currency,
        "labels": labels,
        "series": series,
    }


def sparkline(card: KpiCard, fmt: LocaleFormat, labels: Labels) -> Spec | None:
    """The small trend of a card (None when it has no trend or no data at all)."""
    if not card.trend or all(point.value is None for point in card.trend):
        return None
    periods = [fmt.period(point.period_start, card.grain) for point in card.trend]
    values = [point.value for point in card.trend]
    return _spec(
        "spark",
        card.kpi,
        fmt,
        periods,
        [_series(labels.kpi(card.kpi), "value", values, card.kpi, fmt)],
    )


def spark_label(card: KpiCard, fmt: LocaleFormat, labels: Labels) -> str:
    """What the sparkline shows, for screen readers."""
    first, last = card.trend[0], card.trend[-1]
    return t(
        "kpi.spark_label",
        fmt.locale,
        name=labels.kpi(card.kpi),
        start=fmt.period(first.period_start, card.grain),
        end=fmt.period(last.period_start, card.grain),
        value=fmt.value(last.value, card.kpi.unit),
    )


def trend_chart(series: KpiSeries, fmt: LocaleFormat, labels: Labels) -> Spec:
    """The KPI detail's trend: the value, its target and comparison; a line per share."""
    kpi = series.kpi
    starts = series.period_starts()
    periods = [fmt.period(start, series.grain) for start in starts]
    lines: list[Any] = []
    if series.dimensions:
        dimension = series.dimensions[-1]
        keys = sorted({row.keys[-1] for row in series.rows}, key=lambda k: str(k))
        for key in keys:
            by_period = {row.period_start: row.value for row in series.rows if row.keys[-1] == key}
            values = [by_period.get(start) for start in starts]
            lines.append(_series(labels.value(dimension, key), "share", values, kpi, fmt))
        return _spec("line", kpi, fmt, periods, lines)
    rows = {row.period_start: row for row in series.rows}

    def column(name: str) -> list[float | None]:
        return [getattr(rows[start], name) if start in rows else None for start in starts]

    lines.append(_series(labels.kpi(kpi), "value", column("value"), kpi, fmt))
    if any(value is not None for value in column("target")):
        lines.append(
            _series(t("detail.target_line", fmt.locale), "target", column("target"), kpi, fmt)
        )
    if series.compare is not None:
        name = t(f"comparisons.{series.compare}", fmt.locale)
        lines.append(_series(name, "comparison", column("comparison_value"), kpi, fmt))
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
