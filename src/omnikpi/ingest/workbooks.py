"""Excel workbooks (XLSX) as Arrow batches of text columns, a sheet or every sheet.

Cells are read as the text a CSV export of the sheet would hold (`13085` for 13085.0,
ISO dates), so the mapping converts them as it converts a text file's values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from omnikpi.errors import ConfigError, DataError
from omnikpi.ingest.mapping import ReadOptions

#: Rows per Arrow batch: a sheet is never in memory whole.
_XLSX_BATCH_ROWS = 50_000


def xlsx_batches(path: Path, options: ReadOptions) -> Iterator[pa.Table]:
    """Rows of one worksheet (or of all, for sheet "*") as text columns, in batches."""
    import openpyxl  # imported here: only spreadsheets need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/ValueError variants
        raise DataError(f"{path.name}: cannot be read as xlsx ({exc})") from None
    try:
        if options.sheet and options.sheet != "*" and options.sheet not in book.sheetnames:
            raise ConfigError(
                f'{path.name}: no sheet "{options.sheet}" (sheets: {", ".join(book.sheetnames)})'
            )
        if options.sheet == "*":
            sheets = list(book.worksheets)
        else:
            sheets = [book[options.sheet] if options.sheet else book.worksheets[0]]
        for sheet in sheets:
            for table in _sheet_batches(sheet, options):
                if len(sheets) > 1:
                    table = table.append_column("_source", pa.array([sheet.title] * table.num_rows))
                yield table
    finally:
        book.close()


def _sheet_batches(sheet: Any, options: ReadOptions) -> Iterator[pa.Table]:
    rows = sheet.iter_rows(min_row=options.skip_rows + 1, values_only=True)
    names = list(options.columns or [])
    if options.header:
        header = [_cell_text(v) or f"column{i}" for i, v in enumerate(next(rows, ()))]
        names = names or header
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        if not names:
            names = [f"column{i}" for i in range(len(row))]
        if any(value is not None for value in row):
            chunk.append(row)
        if len(chunk) >= _XLSX_BATCH_ROWS:
            yield _text_table(names, chunk)
            chunk = []
    if chunk or names:
        yield _text_table(names, chunk)


def _text_table(names: list[str], rows: list[tuple[Any, ...]]) -> pa.Table:
    width = len(names)
    columns = [[_cell_text(row[i]) if i < len(row) else None for row in rows] for i in range(width)]
    return pa.table(
        {name: pa.array(col, pa.string()) for name, col in zip(names, columns, strict=True)}
    )


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
