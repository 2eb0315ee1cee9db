"""Writing tables for people to download: the one CSV writer and the one Excel writer of
omnikpi, and the one way to name a downloaded file.

Both are safe to open (OWASP "CSV injection"): a text cell that a spreadsheet would read
as a formula — starting with =, +, -, @, a tab or a carriage return — is written as text
(`neutralised`), while numbers, negative ones too, stay numbers.

>>> write_csv(["kpi", "value"], [{"kpi": "revenue", "value": 1250.0}])
'kpi,value\\r\\nrevenue,1250.0\\r\\n'
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

#: A cell of a downloaded table: text, a number, a day, or None (an empty cell).
Cell = str | int | float | date | None
#: Prepended to CSVs meant for spreadsheets: Excel reads UTF-8 (Korean names) only with it.
BYTE_ORDER_MARK = "\ufeff"
#: Excel's limit on a sheet's name, and the characters it refuses in one.
_SHEET_NAME_LENGTH = 31
_SHEET_NAME_REFUSED = re.compile(r"[\[\]:*?/\\]")
#: Characters kept in a file name (anything else becomes "_").
_FILE_NAME_REFUSED = re.compile(r"[^\w.-]+")
#: How a text cell starts when a spreadsheet would read it as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A text that is only a number ("-12.5", "+3", "1e-3"): a spreadsheet reads it as one.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: How many rows of a CSV are written at a time when it is streamed.
CSV_CHUNK_ROWS = 1000


def neutralised(value: object) -> object:
    """`value` as a spreadsheet may safely read it: a text that would start a formula gets
    a leading single quote (OWASP); numbers and texts that are only a number do not.

    >>> neutralised("=SUM(A1:A9)"), neutralised("-1+2"), neutralised(-5.0)
    ("'=SUM(A1:A9)", "'-1+2", -5.0)
    >>> neutralised("-12.5"), neutralised("@user"), neutralised("web")
    ('-12.5', "'@user", 'web')
    """
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read `text` as a formula (see FORMULA_STARTS)."""
    return text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text)


def write_csv(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, object]],
    *,
    headers: Sequence[str] | None = None,
    for_spreadsheets: bool = False,
) -> str:
    """`rows` as CSV with a header of `columns` (None is an empty cell). `headers` names the
    columns for people (default: the column keys); `for_spreadsheets` starts the text with
    a byte-order mark, so that Excel reads it as UTF-8. Text cells that would start a
    formula are `neutralised`.

    >>> write_csv(["kpi"], [{"kpi": "nps"}], headers=["KPI id"])
    'KPI id\\r\\nnps\\r\\n'
    """
    return "".join(csv_chunks(columns, rows, headers=headers, for_spreadsheets=for_spreadsheets))


def csv_chunks(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, object]],
    *,
    headers: Sequence[str] | None = None,
    for_spreadsheets: bool = False,
) -> Iterator[str]:
    """`write_csv` a piece at a time (the header, then CSV_CHUNK_ROWS rows at a time), for
    a download that streams: rows are read from `rows` only as the pieces are asked for."""
    if headers is not None and len(headers) != len(columns):
        raise ValueError(f"{len(headers)} headers given for {len(columns)} columns")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if for_spreadsheets:
        buffer.write(BYTE_ORDER_MARK)
    writer.writerow([neutralised(h) for h in (headers if headers is not None else columns)])
    for number, row in enumerate(rows, start=1):
        writer.writerow(["" if row.get(c) is None else neutralised(row.get(c)) for c in columns])
        if number % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@dataclass(frozen=True)
class Table:
    """A table to download: its columns (key → header people read) and rows by key.

    >>> Table("KPIs", {"kpi": "KPI id"}, ({"kpi": "revenue"},)).csv()
    'KPI id\\r\\nrevenue\\r\\n'
    """

    name: str
    headers: Mapping[str, str]
    #: Cells by column key (see `Cell`; keys without a header are left out).
    rows: Sequence[Mapping[str, object]]

    def csv(self, *, for_spreadsheets: bool = False) -> str:
        """The table as CSV, headed by its headers."""
        return "".join(self.csv_chunks(for_spreadsheets=for_spreadsheets))

    def csv_chunks(self, *, for_spreadsheets: bool = False) -> Iterator[str]:
        """The table as CSV a piece at a time (see `csv_chunks`)."""
        return csv_chunks(
            list(self.headers),
            self.rows,
            headers=list(self.headers.values()),
            for_spreadsheets=for_spreadsheets,
        )


def write_xlsx(tables: Sequence[Table]) -> bytes:
    """An Excel workbook of one sheet per table: a bold, frozen header row, numbers as
    numbers, days as dates (yyyy-mm-dd), text that would start a formula as text with
    Excel's quote prefix (the single quote a person types before =), columns as wide as
    their text.

    >>> write_xlsx([Table("KPIs", {"kpi": "KPI id"}, ({"kpi": "nps"},))])[:2]
    b'PK'
    """
    import openpyxl  # imported here: only Excel downloads need it
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.name))
        sheet.append(list(table.headers.values()))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            # An empty text is a blank cell (COUNTA and filters treat "" as a value).
            sheet.append([None if row.get(key) == "" else row.get(key) for key in table.headers])
        widths = [_width(header) for header in table.headers.values()]
        for cells in sheet.iter_rows(min_row=2):
            for index, cell in enumerate(cells):
                if isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, str) and is_formula_like(cell.value):
                    # Text, marked as Excel marks a typed '=...: never read as a formula,
                    # not even when the cell is edited (openpyxl took "=..." for one).
                    cell.data_type = "s"
                    cell.quotePrefix = True
                widths[index] = max(widths[index], _width(_shown(cell.value)))
        for index, width in enumerate(widths):
            letter = openpyxl.utils.get_column_letter(index + 1)
            sheet.column_dimensions[letter].width = min(width + 2, 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _shown(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def _width(text: str) -> int:
    """How many columns `text` takes: Hangul and other wide letters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _sheet_name(name: str) -> str:
    return _SHEET_NAME_REFUSED.sub("_", name)[:_SHEET_NAME_LENGTH] or "Sheet"


def file_name(
    subject: Sequence[str],
    grain: str,
    start: date,
    end: date,
    filters: Mapping[str, Sequence[str]],
    suffix: str,
) -> str:
    """The name of a downloaded file: what it is, the grain, the days it covers and the
    filters of the view, in that order.

    >>> file_name(["stages"], "week", date(2026, 11, 23), date(2026, 11, 29),
    ...           {"store": ["S001"]}, "xlsx")
    'omnikpi-stages-week-2026-11-23--2026-11-29-store-S001.xlsx'
    """
    parts = ["omnikpi", *subject, grain, f"{start.isoformat()}--{end.isoformat()}"]
    parts += [f"{name}-{'_'.join(values)}" for name, values in filters.items() if values]
    stem = "-".join(_FILE_NAME_REFUSED.sub("_", part) for part in parts)
    return f"{stem}.{suffix}"
