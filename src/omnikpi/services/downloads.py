"""What people download from the pages, labelled and formatted in the page's language as the
page shows it, with the raw numbers beside the formatted ones and the view (grain, range,
comparison, filters) it was made in: here a KPI's rows and what every download shares; a
dashboard's cards are in `omnikpi.services.dashboard_download`.

Nothing is computed here: a KPI download is the `KpiResult` of its request (`query_kpis`);
this module only labels and formats it (`omnikpi.i18n`) and lays it out as a table for
`omnikpi.services.export` to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from omnikpi.i18n import LocaleFormat, t
from omnikpi.kpi import Grain, KpiSpec
from omnikpi.kpi.periods import Comparison
from omnikpi.services.export import Cell, Table, file_name
from omnikpi.services.query import KpiResult
from omnikpi.services.suppression import withheld_marker

#: The view settings every download carries, in the order of the pages' view form.
VIEW_SETTINGS = ("grain", "start", "end", "compare", "channel", "store", "region", "member")
#: The filters of the view form and the text of "no filter" for each.
_NO_FILTER = {
    "channel": "view.all_channels",
    "store": "view.all_stores",
    "region": "view.all_regions",
}


class PageLabels(Protocol):
    """How a page names KPIs, stages, units, dimensions and their values in its language
    (`omnikpi.web.labels.Labels` is the pages' one)."""

    def kpi(self, kpi: KpiSpec) -> str: ...
    def stage(self, stage: str) -> str: ...
    def unit(self, unit: str) -> str: ...
    def dimension(self, dimension: str) -> str: ...
    def dimensions(self, names: Iterable[str]) -> str: ...
    def value(self, dimension: str, value: str | None) -> str: ...


@dataclass(frozen=True)
class ViewSetting:
    """One setting of the view a download was made in: its key, its name and value as the
    page's view form shows them, and its value as the page's address writes it."""

    key: str
    name: str
    shown: str
    code: str


def view_settings(
    fmt: LocaleFormat,
    labels: PageLabels,
    grain: Grain,
    start: date,
    end: date,
    comparisons: Sequence[Comparison],
    filters: Mapping[str, Sequence[str]],
) -> tuple[ViewSetting, ...]:
    """The view's grain, range, comparison and filters (every one of the view form, "all"
    when not set, then any other dimension filtered on).

    >>> [s.shown for s in view_settings(fmt, labels, Grain.WEEK, monday, sunday, (),
    ...                                 {"channel": ["app"]})][:5]  # doctest: +SKIP
    ['Week', '2025-12-22', '2025-12-28', 'No comparison', 'App']
    """
    locale = fmt.locale
    compared = " + ".join(t(f"comparisons.{c}", locale) for c in comparisons)
    settings = [
        ViewSetting("grain", t("view.grain", locale), t(f"grains.{grain}", locale), grain),
        ViewSetting("start", t("view.start", locale), start.isoformat(), start.isoformat()),
        ViewSetting("end", t("view.end", locale), end.isoformat(), end.isoformat()),
        ViewSetting(
            "compare",
            t("view.compare", locale),
            compared or t("comparisons.none", locale),
            "+".join(comparisons) or "none",
        ),
    ]
    for name, every in _NO_FILTER.items():
        chosen = list(filters.get(name, ()))
        shown = ", ".join(labels.value(name, v) for v in chosen) or t(every, locale)
        settings.append(ViewSetting(name, t(f"view.{name}", locale), shown, "+".join(chosen)))
    members = list(filters.get("member", ())) or ["all"]
    settings.append(
        ViewSetting(
            "member",
            t("view.member", locale),
            ", ".join(t(f"member_filters.{m}", locale) for m in members),
            "+".join(members),
        )
    )
    for name, values in filters.items():
        if name not in VIEW_SETTINGS:
            shown = ", ".join(labels.value(name, v) for v in values)
            settings.append(ViewSetting(name, labels.dimension(name), shown, "+".join(values)))
    return tuple(settings)


def status_text(fmt: LocaleFormat, status: str | None, withheld: bool) -> str:
    """A status as the pages name it: on, near or off target; "Not rated" when there is a
    value to rate but its status is `withheld` (a filter the KPI cannot take, too small a
    base, a period it cannot be paced in); else "No target"."""
    return t(f"rag.{status or ('unrated' if withheld else 'none')}", fmt.locale)


def change_text(fmt: LocaleFormat, change: float | None, kpi: KpiSpec) -> str:
    """A change as the pages show it: an arrow, then the change relative or in points
    ("▲ +4.2%", "▼ -1.3 pp"; empty when there is none). The arrow also keeps spreadsheets
    from reading "+1.3 pp" as a formula.

    >>> change_text(LocaleFormat("en", "KRW", "Asia/Seoul"), 0.042, revenue)  # doctest: +SKIP
    '▲ +4.2%'
    """
    if change is None:
        return ""
    shown = fmt.shown_change(change, kpi.change_type, kpi.unit)
    arrow = "▲" if shown > 0 else ("▼" if shown < 0 else "■")
    return f"{arrow} {fmt.change(change, kpi.change_type, kpi.unit)}"


#: Engine columns that get a formatted companion `<column>_text` beside them.
_FORMATTED = ("value", "comparison_value", "change", "target", "status")


def kpi_rows_download(result: KpiResult, fmt: LocaleFormat, labels: PageLabels) -> Table:
    """The rows of a KPI request for people: the engine's columns as `omnikpi kpi query`
    writes them, each KPI's name, period and dimension value, value, comparison, change,
    target and status also formatted beside the raw one (`value_text`; "<10" for a value
    withheld from the role, whose raw cell is empty), then the view the rows were asked in
    (`view_grain` ... `view_member`, as the address writes them). A row with a target but
    no status is "Not rated", as on the KPI's page (`KpiRow.withheld`).

    >>> kpi_rows_download(result, fmt, labels).headers["value_text"]  # doctest: +SKIP
    'value_text'
    """
    request = result.request
    kpis = {kpi.id: kpi for kpi in result.kpis}
    settings = view_settings(
        fmt,
        labels,
        request.grain,
        request.start,
        request.end,
        (request.compare,) if request.compare else (),
        request.filter_map,
    )
    columns: list[str] = []
    for column in result.columns:
        columns.append(column)
        if column == "kpi":
            columns.append("kpi_name")
        elif column == "period_start":
            columns.append("period")
        elif column in result.dimensions or column in _FORMATTED:
            columns.append(f"{column}_text")
    columns += [f"view_{s.key}" for s in settings]
    view = {f"view_{s.key}": s.code for s in settings}
    rows: list[dict[str, object]] = []
    withheld = withheld_marker(fmt.locale, result.min_customers or 0)
    for record, row in zip(result.records(), result.rows, strict=True):
        kpi = kpis[row.kpi]
        text: dict[str, Cell] = {
            "kpi_name": labels.kpi(kpi),
            "period": fmt.period(row.period_start, request.grain),
            "value_text": withheld if row.suppressed else fmt.value(row.value, kpi.unit),
            "comparison_value_text": (
                withheld
                if row.comparison_suppressed
                else ""
                if row.comparison_value is None
                else fmt.value(row.comparison_value, kpi.unit)
            ),
            "change_text": change_text(fmt, row.change, kpi),
            "target_text": "" if row.target is None else fmt.value(row.target, kpi.unit),
            "status_text": status_text(fmt, row.status, row.withheld),
        }
        for dimension, key in zip(result.dimensions, row.keys, strict=True):
            text[f"{dimension}_text"] = labels.value(dimension, key)
        rows.append({**record, **text, **view})
    return Table("rows", {column: column for column in columns}, rows)


def kpi_rows_file_name(result: KpiResult) -> str:
    """`omnikpi-revenue-trend-month-2025-01-01--2025-12-31-store-S001.csv`, or
    `...-revenue-by-channel-...` for a breakdown: the KPI, what the rows are, the grain,
    the range and the filters."""
    request = result.request
    what = f"by-{'-'.join(request.by)}" if request.by else "trend"
    return file_name(
        [*request.kpis, what], request.grain, request.start, request.end, request.filter_map, "csv"
    )
