"""Rows a file holds that cannot be read as rows are quarantined with their row numbers, and
the file's other rows load: an over-long field, too many or too few fields, a JSON Lines
line cut short. Fixtures in fixtures/malformed follow each export's documentation."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import openpyxl
import pytest

from omnikpi.errors import DataError
from omnikpi.ingest import LoadSummary, infer_mapping, ingest_preset
from omnikpi.ingest.rejects import MAX_ROW_BYTES, long_lines
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, options, rows, value, write
from tests.ingest.test_validate import HEADER, load, messages, orders_only, shop

MALFORMED = FIXTURES / "malformed"
#: 50 MB: more than DuckDB's CSV buffer (16 x max_line_size), where DuckDB 1.5 drops a
#: line without a word
HUGE = "x" * 50_000_000


def shape(summary: LoadSummary) -> list[tuple[int, str, str]]:
    """(row, column, reason before its details) of each problem."""
    return [(p.row_number, p.column, p.reason.split(" (")[0]) for p in summary.problems]


@pytest.mark.parametrize("read", ["copied", "where it lies"])
def test_an_over_long_field_and_malformed_rows_are_quarantined_and_the_rest_loads(
    settings: Settings, tmp_path: Path, read: str
) -> None:
    """RFC 4180: a field holding the delimiter, a quote or a line break is quoted (a quote
    doubled); every row has as many fields as the header."""
    good = [f"{1000 + i},C1,Online,01/12/2010,Paid,10.00" for i in range(1, 9)]
    good[1] = '1002,"C1",Online,01/12/2010,"Paid",10.00'  # quoted fields
    good[2] = '1003,C1,"On""line",01/12/2010,Paid,10.00'  # a doubled quote: On"line, unmapped
    good[7] = "1008,C1,Online,31/13/2010,Paid,10.00"  # a bad date after the bad rows
    lines = [
        *good[:3],
        "1100,C1,Online,01/12/2010,Paid,10.00," + HUGE,  # row 4: 50 MB in a sixth field
        *good[3:5],
        "1101,C1,Online,01/12/2010,Paid,10,00",  # row 7: a decimal comma, unquoted
        "1102,C1,Online,01/12/2010",  # row 8: cut short
        *good[5:],
    ]
    path = write(tmp_path / "orders.csv", HEADER + "\n".join(lines) + "\n")
    mapping = shop() if read == "copied" else orders_only()
    summary = load(settings, path, mapping, references="required")
    assert shape(summary) == [
        (3, "Channel", "is not one of web, app, store, marketplace, call"),
        (4, "", f"is longer than {MAX_ROW_BYTES:,} bytes, the longest row a file may hold"),
        (7, "", "has more fields than the header"),
        (8, "", "has fewer fields than the header"),
        (11, "InvoiceDate", "is not a date in format %d/%m/%Y"),
    ]
    huge = summary.problems[1]
    assert huge.value == "1100,C1,Online,01/12/2010,Paid,10.00," + "x" * 83 + "…"
    assert huge.reason.endswith(
        "(50,000,037 bytes; a whole document in one field, or a quote never closed?)"
    )
    assert messages(summary)[2] == (
        'orders.csv row 7: row "1101,C1,Online,01/12/2010,Paid,10,00" has more fields than the '
        "header (Expected Number of Columns: 6 Found: 7; quote the values that hold the "
        "delimiter)"
    )
    assert summary.rows_read == 11
    assert summary.tables["orders"].source_rows == 11
    assert summary.tables["orders"].inserted == 6
    loaded = rows(settings, "SELECT order_id FROM orders ORDER BY order_id")
    assert loaded == [("1001",), ("1002",), ("1004",), ("1005",), ("1006",), ("1007",)]
    assert (
        value(
            settings,
            "SELECT count(*) FROM quarantine WHERE table_name = 'orders' AND column_name = ''",
        )
        == 3
    )


def test_a_malformed_online_retail_export_loads_what_the_clean_one_does(
    settings: Settings, tmp_path: Path
) -> None:
    """UCI's Online Retail II in CSV with an unquoted comma in a description (row 7) and
    the last row cut short (row 20): every table gets the rows of the clean export, both
    rows are quarantined for each table the export feeds, and the rows between keep their
    numbers (the impossible date of row 15 in the clean file is row 16 here)."""
    clean = Settings(warehouse=tmp_path / "clean.duckdb")
    expected = ingest_preset(
        clean,
        "online-retail",
        [FIXTURES / "online_retail" / "online_retail_II.csv"],
        options(max_error_rate=0.5),
    )
    summary = ingest_preset(
        settings, "online-retail", [MALFORMED / "online_retail_II.csv"], options(max_error_rate=0.5)
    )
    assert {name: t.inserted for name, t in summary.tables.items()} == {
        name: t.inserted for name, t in expected.tables.items()
    }
    assert sorted({(p.row_number, p.column) for p in summary.problems}) == [
        (7, ""),
        (16, "Invoice"),
        (16, "InvoiceDate"),
        (20, ""),
    ]
    assert summary.rows_read == expected.rows_read + 2
    assert summary.tables["orders"].quarantined == expected.tables["orders"].quarantined + 2
    assert rows(
        settings,
        "SELECT table_name, row_number FROM quarantine WHERE column_name = '' ORDER BY ALL",
    ) == [
        (t, r)
        for t in ("customers", "order_lines", "orders", "products", "returns")
        for r in (7, 20)
    ]


def test_a_ga4_export_cut_off_mid_line_loads_its_whole_lines(
    settings: Settings, tmp_path: Path
) -> None:
    clean = Settings(warehouse=tmp_path / "clean.duckdb")
    expected = ingest_preset(clean, "ga4", [FIXTURES / "ga4"], options())
    summary = ingest_preset(settings, "ga4", [MALFORMED], options(max_error_rate=0.5))
    assert {name: t.inserted for name, t in summary.tables.items()} == {
        name: t.inserted for name, t in expected.tables.items()
    }
    assert shape(summary) == [
        (4, "", "is not a JSON object"),
        (16, "", "is not a JSON object"),
    ]
    assert summary.problems[1].value.endswith("…")


def test_json_lines_read_where_they_lie_with_a_bad_line(settings: Settings, tmp_path: Path) -> None:
    keys = ("InvoiceNo", "Customer", "Channel", "InvoiceDate", "Status", "Amount")
    records = [[str(1000 + i), "C1", "Online", "01/12/2010", "Paid", "1"] for i in range(6)]
    records[5][3] = "31/13/2010"
    lines = [json.dumps(dict(zip(keys, row, strict=True))) for row in records]
    lines.insert(2, '{"InvoiceNo": "1100", "Customer": ')  # row 3: cut short
    lines.insert(4, json.dumps({"InvoiceNo": "1101", "Note": HUGE[:3_000_000]}))  # row 5
    path = write(tmp_path / "orders.jsonl", "\n".join(lines) + "\n")
    summary = load(settings, path, orders_only(), references="required")
    assert shape(summary) == [
        (3, "", "is not a JSON object"),
        (5, "", f"is longer than {MAX_ROW_BYTES:,} bytes, the longest row a file may hold"),
        (8, "InvoiceDate", "is not a date in format %d/%m/%Y"),
    ]
    assert value(settings, "SELECT count(*) FROM orders") == 5


def test_long_lines_are_found_by_their_bytes_in_plain_and_compressed_files(
    tmp_path: Path,
) -> None:
    longest = "y" * MAX_ROW_BYTES  # as long as a row may be
    text = f"a,b\n{longest}\n1,2\n{longest}z\n3,4\n{longest}zz"
    plain = write(tmp_path / "x.csv", text)
    packed = tmp_path / "x.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        found = long_lines(path)
        assert [(line.number, line.end - line.start) for line in found] == [
            (4, MAX_ROW_BYTES + 2),  # with its line break
            (6, MAX_ROW_BYTES + 2),  # the last line, without one
        ]
        assert found[0].head.startswith(b"yyy")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_an_empty_file_says_it_is_empty(settings: Settings, tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"orders{suffix}", "")
    with pytest.raises(DataError) as raised:
        load(settings, path)
    assert str(raised.value) == (
        f"orders{suffix} is empty (0 bytes): there is nothing to load, not even a header "
        "(export it again, or leave it out of the load)"
    )
    assert not settings.warehouse.exists()  # refused before the warehouse is made


def test_a_workbook_whose_sheet_is_empty_says_so(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(DataError) as raised:
        load(settings, path)
    assert str(raised.value) == (
        "orders.xlsx is empty: no header, no rows (there is nothing to load; export it again, "
        "or leave it out of the load)"
    )


def test_infer_reads_past_a_long_row(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n")
    with path.open("a") as out:
        out.write("1002," + HUGE + ",Online,01/12/2010,Paid,5.00\n")
    proposal = infer_mapping(path)
    assert "delimiter: ','" in proposal
    assert "order_id:\n        column: InvoiceNo" in proposal
