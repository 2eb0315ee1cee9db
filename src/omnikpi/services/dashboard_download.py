"""A dashboard as people download it: a row per KPI card as the page shows it (formatted in
the page's language, raw numbers beside), and the view it was made in, as CSV or Excel.

Nothing is computed here: the download is the `Dashboard` the page shows
(`build_dashboard`), labelled and formatted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from omnikpi.i18n import Locale, LocaleFormat, has_message, t
from omnikpi.kpi import KpiSpec
from omnikpi.services.cards import Change, KpiCard
from omnikpi.services.dashboard import Dashboard
from omnikpi.services.downloads import (
    PageLabels,
    ViewSetting,
    change_text,
    status_text,
    view_settings,
)
from omnikpi.services.export import Cell, Table, file_name, write_xlsx
from omnikpi.services.suppression import withheld_marker

#: The columns of each comparison a dashboard shows: the period compared with, its value
#: and the change (formatted, then the number).
_COMPARED = (
    "compared_period",
    "compared_value",
    "compared_value_number",
    "change",
    "change_number",
)


@dataclass(frozen=True)
class DashboardDownload:
    """A dashboard as tables: a row per KPI card (per share for share KPIs) and the view."""

    #: The page's address without "/" ("stages"), which starts the file name.
    page: str
    board: Dashboard
    cards: Table
    view: Table
    settings: tuple[ViewSetting, ...]
    locale: Locale

    def csv(self) -> str:
        """The cards with the view's settings in columns on every row (for spreadsheets)."""
        return "".join(self.csv_chunks())

    def csv_chunks(self) -> Iterator[str]:
        """`csv` a piece at a time, for a download that streams."""
        locale = self.locale
        headers = {
            **self.cards.headers,
            **{
                f"view_{s.key}": t("export.view_column", locale, name=s.name) for s in self.settings
            },
        }
        shown = {f"view_{s.key}": s.shown for s in self.settings}
        rows = [{**row, **shown} for row in self.cards.rows]
        return Table(self.cards.name, headers, rows).csv_chunks(for_spreadsheets=True)

    def xlsx(self) -> bytes:
        """A workbook of the cards and, on a second sheet, the view."""
        return write_xlsx([self.cards, self.view])

    def file_name(self, suffix: str) -> str:
        """`omnikpi-stages-week-2025-12-22--2025-12-28-store-S001.xlsx`: the page, the grain,
        the period the cards show and the filters."""
        board = self.board
        return file_name(
            [self.page], board.grain, board.period_start, board.period_end, board.filters, suffix
        )


def dashboard_download(
    board: Dashboard,
    fmt: LocaleFormat,
    labels: PageLabels,
    *,
    page: str,
    title: str,
    worst_first: bool = False,
) -> DashboardDownload:
    """The download of the dashboard `board` as the page `page` titled `title` shows it:
    the stage dashboard by stage (off target first with `worst_first`), the others in card
    order.

    >>> dashboard_download(board, fmt, labels, page="stages",
    ...                    title="Stage dashboard").file_name("csv")  # doctest: +SKIP
    'omnikpi-stages-week-2025-12-22--2025-12-28.csv'
    """
    locale = fmt.locale
    if board.tier == "lead":
        cards = [card for group in board.by_stage(worst_first) for card in group.cards]
    else:
        cards = list(board.cards)
    partial = (
        ""
        if board.complete
        else t("export.partial", locale, elapsed=board.elapsed_days, days=board.period_days)
    )
    rows = [row for card in cards for row in _card_rows(card, board, fmt, labels, partial)]
    settings = view_settings(
        fmt,
        labels,
        board.grain,
        board.trend_start,
        board.period_end,
        board.comparisons,
        board.filters,
    )
    return DashboardDownload(
        page=page,
        board=board,
        cards=Table(t("export.sheet_kpis", locale), _card_headers(board, locale), rows),
        view=_view_table(board, fmt, title, settings),
        settings=settings,
        locale=locale,
    )


def _card_headers(board: Dashboard, locale: Locale) -> dict[str, str]:
    def header(key: str, **params: object) -> str:
        return t(f"export.columns.{key}", locale, **params)

    headers = {
        key: header(key)
        for key in (
            "stage",
            "kpi",
            "name",
            "part",
            "period",
            "period_start",
            "period_end",
            "value",
            "value_number",
            "unit",
            "target",
            "target_number",
            "status",
            "status_code",
            "base",
        )
    }
    for comparison in board.comparisons:
        named = t(f"comparisons.{comparison}", locale)
        for key in _COMPARED:
            headers[f"{comparison}_{key}"] = header(key, comparison=named)
    headers["notes"] = header("notes")
    return headers


def _card_rows(
    card: KpiCard, board: Dashboard, fmt: LocaleFormat, labels: PageLabels, partial: str
) -> list[dict[str, Cell]]:
    """A card's row, or a row per share of a share KPI (one saying "no data" if none)."""
    kpi = card.kpi
    notes = [partial] if partial else []
    if card.share_of:
        notes.append(t("kpi.share_of", fmt.locale, dimension=labels.dimension(card.share_of)))
    notes += card_notes(card, fmt, labels)
    common: dict[str, Cell] = {
        "stage": labels.stage(kpi.stage),
        "kpi": kpi.id,
        "name": labels.kpi(kpi),
        "period": fmt.period(card.period_start, card.grain),
        "period_start": card.period_start,
        "period_end": card.period_end,
        "unit": labels.unit(kpi.unit),
        "notes": " ".join(notes),
    }
    if card.unavailable:
        return [common]
    if card.share_of and card.has_data:
        return [
            {
                **common,
                "part": labels.value(card.share_of, share.key),
                **_value_cells(fmt, kpi, share.value, share.suppressed, board),
                **_change_cells(fmt, kpi, board, share.changes),
            }
            for share in card.shares
        ]
    status = card.status
    if card.suppressed:
        common["notes"] = " ".join(
            [*notes, t("suppression.small_cell", fmt.locale, n=board.min_customers)]
        )
    return [
        {
            **common,
            **_value_cells(fmt, kpi, card.value, card.suppressed, board),
            "base": card.base,
            "target": "" if card.target is None else fmt.value(card.target, kpi.unit),
            "target_number": card.target,
            "status": status_text(fmt, status, card.withheld),
            "status_code": status,
            **_change_cells(fmt, kpi, board, card.changes),
        }
    ]


def card_notes(card: KpiCard, fmt: LocaleFormat, labels: PageLabels) -> list[str]:
    """Why a card has no value or no status, as the pages note it: not reported at this
    grain, tables without data, filters it cannot take, a rate over too few units."""
    locale = fmt.locale
    notes = []
    if card.unavailable == "grain":
        notes.append(t("kpi.unavailable_grain", locale))
    elif card.unavailable == "missing":
        tables = card.missing_tables
        own = f"kpi.missing_table.{tables[0]}" if len(tables) == 1 else ""
        notes.append(
            t(own, locale)
            if own and has_message(own)
            else t("kpi.missing", locale, tables=", ".join(tables))
        )
    if card.unfiltered_by:
        notes.append(t("kpi.unfiltered", locale, filters=labels.dimensions(card.unfiltered_by)))
    if card.small_base:
        notes.append(t("kpi.small_base", locale, n=fmt.value(card.base, "count")))
    return notes


def _value_cells(
    fmt: LocaleFormat, kpi: KpiSpec, value: float | None, suppressed: bool, board: Dashboard
) -> dict[str, Cell]:
    """The value formatted and as a number; a value withheld from the role is "<10" with
    an empty number."""
    if suppressed:
        return {"value": withheld_marker(fmt.locale, board.min_customers), "value_number": None}
    return {"value": fmt.value(value, kpi.unit), "value_number": value}


def _change_cells(
    fmt: LocaleFormat, kpi: KpiSpec, board: Dashboard, changes: Sequence[Change]
) -> dict[str, Cell]:
    cells: dict[str, Cell] = {}
    for comparison in board.comparisons:
        change = next((c for c in changes if c.comparison == comparison), None)
        if change is None:
            continue
        cells[f"{comparison}_compared_period"] = fmt.period(change.period_start, board.grain)
        cells[f"{comparison}_compared_value"] = (
            withheld_marker(fmt.locale, board.min_customers)
            if change.suppressed
            else fmt.value(change.value, kpi.unit)
        )
        cells[f"{comparison}_compared_value_number"] = change.value
        cells[f"{comparison}_change"] = change_text(fmt, change.change, kpi)
        cells[f"{comparison}_change_number"] = change.change
    return cells


def _view_table(
    board: Dashboard, fmt: LocaleFormat, title: str, settings: Sequence[ViewSetting]
) -> Table:
    """The view sheet: the dashboard, the period its cards show, the view's settings and
    how fresh the data is."""
    locale = fmt.locale
    period = fmt.period(board.period_start, board.grain)
    if not board.complete:
        period += f" ({t('kpi.to_date', locale, day=fmt.day(board.period_end))})"
    lines = [
        (t("export.view.dashboard", locale), title, board.tier),
        (
            t("export.view.period", locale),
            period,
            f"{board.period_start.isoformat()}--{board.period_end.isoformat()}",
        ),
        *((s.name, s.shown, s.code) for s in settings),
        (
            t("export.view.data_through", locale),
            fmt.day(board.data_through, "long"),
            board.data_through.isoformat(),
        ),
    ]
    if not board.complete:
        notes = t("kpi.partial_period", locale, elapsed=board.elapsed_days, days=board.period_days)
        lines.append((t("export.columns.notes", locale), notes, ""))
    keys = ("setting", "shown", "code")
    headers = {key: t(f"export.view.{key}", locale) for key in keys}
    rows = [dict(zip(keys, line, strict=True)) for line in lines]
    return Table(t("export.sheet_view", locale), headers, rows)
