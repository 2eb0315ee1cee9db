"""Every export format is read into DuckDB as the same thing: columns plus file and row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from omnikpi.errors import ConfigError, DataError
from omnikpi.ingest.encoding import detect_encoding
from omnikpi.ingest.mapping import ReadOptions
from omnikpi.ingest.readers import SourceTable, read_files
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import FIXTURES, write


@pytest.fixture
def scratch() -> Iterator[Warehouse]:
    """An in-memory warehouse to read files into."""
    with Warehouse(Path(":memory:")) as warehouse:
        yield warehouse


def read(scratch: Warehouse, tmp_path: Path, *files: Path, **options: object) -> SourceTable:
    return read_files(scratch, "input", files, ReadOptions.model_validate(options), tmp_path)


def table(scratch: Warehouse, source: SourceTable) -> list[tuple[object, ...]]:
    return scratch.fetch_rows(f'SELECT * FROM "{source.relation}" ORDER BY _source, _row')


def test_csv_with_bom_and_semicolons_is_read_as_text(scratch: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", "\ufeffNo;Amount\n0012;1.234,50\n0013;7,00\n")
    source = read(scratch, tmp_path, path)
    assert source.columns == {"No": "VARCHAR", "Amount": "VARCHAR"}
    assert source.rows == 2
    # leading zeros and comma decimals survive: the mapping converts, not the reader
    assert table(scratch, source) == [
        ("orders.csv", 1, "0012", "1.234,50"),
        ("orders.csv", 2, "0013", "7,00"),
    ]


def test_korean_cp949_export_is_detected_and_transcoded(scratch: Warehouse, tmp_path: Path) -> None:
    text = "주문번호,고객명,결제금액\nA-1,김민지,12000\nA-2,이서준,8500\n"
    path = write(tmp_path / "주문.csv", text, encoding="cp949")
    assert detect_encoding(path) == "cp949"
    source = read(scratch, tmp_path, path)
    assert list(source.columns) == ["주문번호", "고객명", "결제금액"]
    assert table(scratch, source)[1][2:] == ("A-2", "이서준", "8500")


def test_euc_kr_is_read_as_its_superset_cp949(scratch: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "고객.csv", "이름,지역\n박지호,서울\n", encoding="euc-kr")
    source = read(scratch, tmp_path, path, encoding="euc-kr")
    assert table(scratch, source) == [("고객.csv", 1, "박지호", "서울")]


def test_latin1_is_not_mistaken_for_korean(scratch: Warehouse, tmp_path: Path) -> None:
    # "CAFÉ S" in Latin-1 is also valid CP949 (É followed by a space is not, but É plus a
    # letter is); the Online Retail fixture holds such a description.
    path = FIXTURES / "online_retail" / "data.csv"
    assert detect_encoding(path) == "latin-1"
    source = read(scratch, tmp_path, path)
    names = [row[4] for row in table(scratch, source)]
    assert "CAFÉ JAM MAKING SET WITH JARS" in names


def test_bytes_invalid_in_the_declared_encoding_name_the_offset(
    scratch: Warehouse, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,\xff\xff\n")
    with pytest.raises(DataError, match=r"bad.csv: byte 6 is not valid cp949 text"):
        read(scratch, tmp_path, path, encoding="cp949")


def test_whitespace_separated_file_without_header(scratch: Warehouse, tmp_path: Path) -> None:
    path = write(
        tmp_path / "CDNOW_sample.txt",
        " 00004 0001 19970101  2   29.33\r\n 00004 0001 19970118  2   29.73\r\n",
    )
    source = read(
        scratch,
        tmp_path,
        path,
        delimiter="whitespace",
        header=False,
        columns=["customer", "sample_id", "date", "cds", "value"],
    )
    assert table(scratch, source) == [
        ("CDNOW_sample.txt", 1, "00004", "0001", "19970101", "2", "29.33"),
        ("CDNOW_sample.txt", 2, "00004", "0001", "19970118", "2", "29.73"),
    ]


def test_xlsx_cells_become_text_and_every_sheet_can_be_read(
    scratch: Warehouse, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Year 2009-2010"
    first.append(["Invoice", "InvoiceDate", "Quantity", "Price", "Customer ID"])
    first.append(["489434", dt.datetime(2009, 12, 1, 7, 45), 12, 6.95, 13085.0])
    second = book.create_sheet("Year 2010-2011")
    second.append(["Invoice", "InvoiceDate", "Quantity", "Price", "Customer ID"])
    second.append(["536365", dt.datetime(2010, 12, 1, 8, 26), 6, 2.55, None])
    path = tmp_path / "online_retail_II.xlsx"
    book.save(path)
    source = read(scratch, tmp_path, path, sheet="*")
    assert table(scratch, source) == [
        (
            "online_retail_II.xlsx:Year 2009-2010",
            1,
            "489434",
            "2009-12-01 07:45:00",
            "12",
            "6.95",
            "13085",
        ),
        (
            "online_retail_II.xlsx:Year 2010-2011",
            1,
            "536365",
            "2010-12-01 08:26:00",
            "6",
            "2.55",
            None,
        ),
    ]
    only_first = read(scratch, tmp_path, path)
    assert only_first.rows == 1


def test_json_lines_and_parquet_keep_their_types(scratch: Warehouse, tmp_path: Path) -> None:
    lines = write(
        tmp_path / "events.jsonl", '{"id": "e1", "n": 3, "device": {"category": "mobile"}}\n'
    )
    source = read(scratch, tmp_path, lines)
    assert source.columns["n"] == "BIGINT"
    assert source.columns["device"].startswith("STRUCT")
    parquet = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": ["A1", "A2"], "amount": [1.5, 2.25]}), parquet)
    source = read(scratch, tmp_path, parquet)
    assert source.columns == {"order_id": "VARCHAR", "amount": "DOUBLE"}
    assert table(scratch, source) == [
        ("orders.parquet", 1, "A1", 1.5),
        ("orders.parquet", 2, "A2", 2.25),
    ]


def test_renamed_and_missing_columns_are_harmonized(scratch: Warehouse, tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "InvoiceNo,UnitPrice\n536365,2.55\n")
    source = read(
        scratch,
        tmp_path,
        path,
        rename={"InvoiceNo": "Invoice", "UnitPrice": "Price"},
        fill_missing=["Customer ID"],
    )
    assert list(source.columns) == ["Invoice", "Price", "Customer ID"]


def test_several_files_of_one_source_are_numbered_each(scratch: Warehouse, tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "x,y\n1,2\n3,4\n")
    b = write(tmp_path / "b.csv", "y,x\n5,6\n")
    source = read(scratch, tmp_path, a, b)
    assert table(scratch, source) == [
        ("a.csv", 1, "1", "2"),
        ("a.csv", 2, "3", "4"),
        ("b.csv", 1, "6", "5"),
    ]


def large_csv(path: Path, rows: int) -> Path:
    """A CSV whose column n holds the data row number less one, padded to some megabytes."""
    filler = "x" * 40
    write(path, "n,filler\n" + "".join(f"{i},{filler}\n" for i in range(rows)))
    assert path.stat().st_size > 8_000_000  # DuckDB reads a file of 8 MB or more on 2 threads
    return path


def numbering_errors(scratch: Warehouse, source: SourceTable) -> tuple[object, ...] | None:
    """Rows whose `_row` is not their place in the file, distinct `_row`s, the last one."""
    return scratch.fetch_row(
        "SELECT count(*) FILTER (WHERE _row <> CAST(n AS BIGINT) + 1), count(DISTINCT _row), "
        f'max(_row) FROM "{source.relation}"'
    )


def test_a_file_read_on_every_thread_keeps_the_numbers_of_its_rows(
    scratch: Warehouse, tmp_path: Path
) -> None:
    path = large_csv(tmp_path / "big.csv", 220_000)
    source = read(scratch, tmp_path, path)
    assert source.rows == 220_000
    assert numbering_errors(scratch, source) == (0, 220_000, 220_000)


def test_rows_are_numbered_in_file_order_even_where_duckdb_may_reorder_them(
    scratch: Warehouse, tmp_path: Path
) -> None:
    """Without DuckDB's preserve_insertion_order a table need not keep the order it was
    read in: the reader then numbers the rows as it reads them (on one thread)."""
    scratch.run_sql("SET preserve_insertion_order = false")
    path = large_csv(tmp_path / "big.csv", 220_000)
    source = read(scratch, tmp_path, path)
    assert numbering_errors(scratch, source) == (0, 220_000, 220_000)


def test_a_file_read_once_is_read_where_it_lies_unless_duckdb_may_reorder_it(
    scratch: Warehouse, tmp_path: Path
) -> None:
    """A file whose rows one table reads whole is numbered by that table's stage, which
    needs DuckDB to keep the file's order; else it is copied and numbered as it is read."""
    path = write(tmp_path / "a.csv", "x\n1\n2\n")
    in_place = read_files(scratch, "input", [path], ReadOptions(), tmp_path, once=True)
    assert in_place.read_when_staged == "csv"
    assert scratch.fetch_rows(f'SELECT _row, x FROM "{in_place.relation}"') == [
        (None, "1"),
        (None, "2"),
    ]
    scratch.run_sql("SET preserve_insertion_order = false")
    copied = read_files(scratch, "input", [path], ReadOptions(), tmp_path, once=True)
    assert copied.read_when_staged is None
    assert table(scratch, copied) == [("a.csv", 1, "1"), ("a.csv", 2, "2")]


def test_files_with_other_columns_are_refused(scratch: Warehouse, tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "x,y\n1,2\n")
    b = write(tmp_path / "b.csv", "x,z\n1,2\n")
    with pytest.raises(DataError, match=r"b.csv: columns differ from a.csv \(missing \['y'\]"):
        read(scratch, tmp_path, a, b)


def test_unknown_format_and_missing_file(scratch: Warehouse, tmp_path: Path) -> None:
    odd = write(tmp_path / "orders.dbf", "x")
    with pytest.raises(ConfigError, match=r"set read\.format"):
        read(scratch, tmp_path, odd)
    with pytest.raises(ConfigError, match="no such file"):
        read(scratch, tmp_path, tmp_path / "missing.csv")
