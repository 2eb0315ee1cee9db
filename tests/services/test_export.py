"""The download writers: CSV for spreadsheets, Excel workbooks read back without the library
that wrote them, and file names that say what a file holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest

from omnikpi.services.export import Table, csv_chunks, file_name, write_csv, write_xlsx
from tests.services.xlsx import read_xlsx

TABLE = Table(
    "KPIs",
    {"kpi": "KPI id", "name": "KPI 이름", "value": "Value (number)", "day": "Period start"},
    (
        {"kpi": "revenue", "name": "총 매출", "value": 1250.5, "day": date(2025, 12, 1)},
        {"kpi": "nps", "name": "=HYPERLINK(1)", "value": None, "day": date(2025, 12, 29)},
        {"kpi": "aov", "name": "", "value": -3, "day": None},
    ),
)


def test_a_csv_for_spreadsheets_starts_with_a_byte_order_mark_and_has_the_headers() -> None:
    text = TABLE.csv(for_spreadsheets=True)
    assert text.startswith("\ufeffKPI id,KPI 이름,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [
        ["KPI id", "KPI 이름", "Value (number)", "Period start"],
        ["revenue", "총 매출", "1250.5", "2025-12-01"],
        ["nps", "'=HYPERLINK(1)", "", "2025-12-29"],
        ["aov", "", "-3", ""],
    ]


def test_the_plain_csv_is_unchanged_and_headers_must_match_the_columns() -> None:
    assert write_csv(["kpi", "value"], [{"kpi": "revenue", "value": 1.5}]) == (
        "kpi,value\r\nrevenue,1.5\r\n"
    )
    with pytest.raises(ValueError, match="1 headers given for 2 columns"):
        write_csv(["kpi", "value"], [], headers=["KPI"])


def test_a_workbook_has_a_sheet_per_table_with_a_bold_frozen_header_and_typed_cells() -> None:
    view = Table("View: [week]", {"setting": "Setting", "shown": "Value"}, ({"setting": "Grain"},))
    sheets = read_xlsx(write_xlsx([TABLE, view]))
    assert list(sheets) == ["KPIs", "View_ _week_"]  # Excel refuses [ ] : * ? / \ in names
    kpis = sheets["KPIs"]
    assert kpis.frozen_header
    assert {"A1", "B1", "C1", "D1"} <= kpis.bold
    assert "A2" not in kpis.bold
    assert kpis.rows[0] == ["KPI id", "KPI 이름", "Value (number)", "Period start"]
    assert kpis.rows[1] == ["revenue", "총 매출", 1250.5, date(2025, 12, 1)]
    # Text that looks like a formula stays text; None and "" are blank cells.
    assert kpis.rows[2] == ["nps", "=HYPERLINK(1)", None, date(2025, 12, 29)]
    assert kpis.formulas == set()
    assert kpis.quoted == {"B3"}
    assert kpis.rows[3][:3] == ["aov", None, -3.0]
    assert sheets["View_ _week_"].records() == [{"Setting": "Grain", "Value": None}]


#: Cells a spreadsheet would run as formulas (OWASP CSV injection), and harmless ones that
#: start the same way: numbers, and text that is only a number.
DANGEROUS = ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\tcmd", "\rcmd", "=cmd|' /C calc'!A0")
HARMLESS: tuple[object, ...] = (-3, -0.25, 1e-9, "-12.5", "+3", "web", "총 매출", "a=b", "")


def test_a_csv_cell_that_would_start_a_formula_is_text_and_numbers_stay_numbers() -> None:
    columns = [f"c{i}" for i in range(len(DANGEROUS) + len(HARMLESS))]
    text = write_csv(columns, [dict(zip(columns, (*DANGEROUS, *HARMLESS), strict=True))])
    header, row = csv.reader(io.StringIO(text))
    assert header == columns
    assert row[: len(DANGEROUS)] == [f"'{cell}" for cell in DANGEROUS]
    assert row[len(DANGEROUS) :] == [
        "-3",
        "-0.25",
        "1e-09",
        "-12.5",
        "+3",
        "web",
        "총 매출",
        "a=b",
        "",
    ]
    # The headers are neutralised too.
    assert write_csv(["a"], [], headers=["=HEADER()"]) == "'=HEADER()\r\n"


def test_a_workbook_cell_that_would_start_a_formula_is_quote_prefixed_text() -> None:
    cells = (*DANGEROUS, *HARMLESS)
    headers = {f"c{i}": f"c{i}" for i in range(len(cells))}
    row = dict(zip(headers, cells, strict=True))
    sheet = read_xlsx(write_xlsx([Table("cells", headers, (row,))]))["cells"]
    letters = [chr(ord("A") + i) for i in range(len(cells))]
    # Dangerous text keeps its value, as text Excel will not run, even when edited.
    # (XML reads a carriage return as a line feed, XML 1.0 §2.11.)
    assert sheet.rows[1][: len(DANGEROUS)] == [c.replace("\r", "\n") for c in DANGEROUS]
    assert sheet.quoted == {f"{letter}2" for letter in letters[: len(DANGEROUS)]}
    assert sheet.formulas == set()
    # Numbers stay numbers; text that is only a number, or harmless, is plain text.
    assert sheet.rows[1][len(DANGEROUS) :] == [
        -3.0,
        -0.25,
        1e-9,
        "-12.5",
        "+3",
        "web",
        "총 매출",
        "a=b",
    ]


def test_a_streamed_csv_is_the_whole_csv_in_pieces_read_as_they_are_asked_for() -> None:
    read: list[int] = []

    def rows() -> Iterator[dict[str, object]]:
        for number in range(2500):
            read.append(number)
            yield {"n": number}

    chunks = csv_chunks(["n"], rows())
    assert next(chunks) == "n\r\n" + "".join(f"{n}\r\n" for n in range(1000))
    assert len(read) == 1000  # no row was read before its piece
    rest = list(chunks)
    assert len(rest) == 2
    assert "".join(rest) == "".join(f"{n}\r\n" for n in range(1000, 2500))


@pytest.mark.parametrize(
    ("subject", "filters", "expected"),
    [
        (["stages"], {"store": ["S001"]}, "omnikpi-stages-week-2025-12-22--2025-12-28-store-S001"),
        (["revenue", "by-channel"], {}, "omnikpi-revenue-by-channel-week-2025-12-22--2025-12-28"),
        (
            ["my-kpis"],
            {"channel": ["web", "app"], "region": ["Gyeonggi do"], "member": []},
            "omnikpi-my-kpis-week-2025-12-22--2025-12-28-channel-web_app-region-Gyeonggi_do",
        ),
    ],
)
def test_a_file_name_says_what_period_and_filters_it_holds(
    subject: list[str], filters: dict[str, list[str]], expected: str
) -> None:
    name = file_name(subject, "week", date(2025, 12, 22), date(2025, 12, 28), filters, "csv")
    assert name == f"{expected}.csv"
