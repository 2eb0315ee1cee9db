"""Reading an .xlsx back with the standard library only (zip + XML), so tests of the Excel
downloads do not trust the library that wrote them (ECMA-376 part 1, §18: SpreadsheetML)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from xml.etree import ElementTree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PACKAGE_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: Day 0 of Excel's 1900 date system as it is used since 1900-03-01 (§18.17.4.1).
EXCEL_EPOCH = date(1899, 12, 30)
#: Built-in number formats that are dates (§18.8.30).
BUILTIN_DATE_FORMATS = set(range(14, 23))

Cell = str | float | date | None


@dataclass(frozen=True)
class Sheet:
    """A worksheet as read: its rows of cells (None: blank), whether the first row is
    frozen, which cells are bold, which hold formulas and which are text with Excel's
    quote prefix (what a person's leading ' makes: never read as a formula, §18.8.45)."""

    rows: list[list[Cell]]
    frozen_header: bool
    bold: set[str]
    formulas: set[str]
    quoted: set[str]

    def records(self) -> list[dict[str, Cell]]:
        """The rows after the first, by the first row's headers (blank cells at the end of
        a row are not stored: they read as None)."""
        headers = [str(h) for h in self.rows[0]]
        return [
            dict(zip(headers, [*row, *[None] * (len(headers) - len(row))], strict=True))
            for row in self.rows[1:]
        ]


def _column(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference)
    assert letters is not None, reference
    number = 0
    for letter in letters.group(0):
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _text(element: ElementTree.Element) -> str:
    return "".join(node.text or "" for node in element.iter(f"{MAIN}t"))


def read_xlsx(data: bytes) -> dict[str, Sheet]:
    """The sheets of a workbook by name, in the workbook's order."""
    book = zipfile.ZipFile(io.BytesIO(data))

    def xml(name: str) -> ElementTree.Element:
        return ElementTree.fromstring(book.read(name))

    names = set(book.namelist())
    shared = (
        [_text(item) for item in xml("xl/sharedStrings.xml").iter(f"{MAIN}si")]
        if "xl/sharedStrings.xml" in names
        else []
    )
    styles = xml("xl/styles.xml")
    formats = {
        int(f.get("numFmtId", "0")): f.get("formatCode", "") for f in styles.iter(f"{MAIN}numFmt")
    }
    fonts, cell_styles = styles.find(f"{MAIN}fonts"), styles.find(f"{MAIN}cellXfs")
    assert fonts is not None
    assert cell_styles is not None
    bold_fonts = [font.find(f"{MAIN}b") is not None for font in fonts]
    dates, bolds, quoted = set(), set(), set()
    for index, style in enumerate(cell_styles):
        if style.get("quotePrefix") in ("1", "true"):
            quoted.add(index)
        number_format = int(style.get("numFmtId", "0"))
        if number_format in BUILTIN_DATE_FORMATS or "yy" in formats.get(number_format, ""):
            dates.add(index)
        if bold_fonts[int(style.get("fontId", "0"))]:
            bolds.add(index)
    targets = {
        r.get("Id"): r.get("Target", "")
        for r in xml("xl/_rels/workbook.xml.rels").iter(f"{PACKAGE_RELATIONSHIP}Relationship")
    }
    sheets = {}
    for entry in xml("xl/workbook.xml").iter(f"{MAIN}sheet"):
        target = targets[entry.get(RELATIONSHIP)].removeprefix("/xl/")
        sheets[str(entry.get("name"))] = _read_sheet(
            xml(f"xl/{target}"), shared, dates, bolds, quoted
        )
    return sheets


def _read_sheet(
    root: ElementTree.Element,
    shared: list[str],
    dates: set[int],
    bolds: set[int],
    quoted_styles: set[int],
) -> Sheet:
    rows: list[list[Cell]] = []
    bold, formulas, quoted = set(), set(), set()
    for row in root.iter(f"{MAIN}row"):
        cells: list[Cell] = []
        for cell in row.iter(f"{MAIN}c"):
            reference = cell.get("r", "")
            while len(cells) < _column(reference):
                cells.append(None)
            style = int(cell.get("s", "0"))
            if style in bolds:
                bold.add(reference)
            if style in quoted_styles:
                quoted.add(reference)
            if cell.find(f"{MAIN}f") is not None:
                formulas.add(reference)
            kind = cell.get("t", "n")
            value = cell.find(f"{MAIN}v")
            found: Cell
            if kind == "inlineStr":
                found = _text(cell)
            elif value is None or value.text is None:
                found = None
            elif kind == "s":
                found = shared[int(value.text)]
            elif kind in ("str", "e"):
                found = value.text
            elif style in dates:
                found = EXCEL_EPOCH + timedelta(days=float(value.text))
            else:
                found = float(value.text)
            cells.append(found)
        rows.append(cells)
    pane = root.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane")
    frozen = pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1"
    return Sheet(rows, frozen, bold, formulas, quoted)
