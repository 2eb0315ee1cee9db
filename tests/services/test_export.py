"""The download writers: CSV for spreadsheets, Excel workbooks read back without the library
that wrote them, and file names that say what a file holds."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from omnikpi.services.export import Table, file_name, write_csv, write_xlsx
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
        ["nps", "=HYPERLINK(1)", "", "2025-12-29"],
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
    assert kpis.rows[3][:3] == ["aov", None, -3.0]
    assert sheets["View_ _week_"].records() == [{"Setting": "Grain", "Value": None}]


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
