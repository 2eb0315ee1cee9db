"""`--infer` proposes the table, columns, formats and value maps a file suggests."""

from __future__ import annotations

from pathlib import Path

import yaml

from omnikpi.ingest import infer_mapping
from omnikpi.ingest.infer import best_table
from tests.ingest.conftest import FIXTURES, write


def test_a_korean_excel_export_is_recognized(tmp_path: Path) -> None:
    path = write(
        tmp_path / "주문내역.csv",
        "주문번호,회원번호,채널,주문일시,상태,결제금액\n"
        "A-1,M-7,온라인,2024-03-01 10:15:00,결제완료,12000\n"
        "A-2,M-8,매장,2024-03-02 18:40:11,취소,8500\n",
        encoding="cp949",
    )
    proposal = yaml.safe_load(infer_mapping(path))
    assert proposal["read"]["encoding"] == "cp949"
    columns = proposal["tables"]["orders"]["columns"]
    assert columns["order_id"] == {"column": "주문번호"}
    assert columns["customer_id"] == {"column": "회원번호"}
    assert columns["placed_at"] == {"column": "주문일시", "format": "%Y-%m-%d %H:%M:%S"}
    assert columns["total_amount"] == {"column": "결제금액"}
    # categories are listed for the user to map; unknown ones say TODO
    assert columns["channel"]["map"] == {"온라인": "TODO", "매장": "TODO"}


def test_us_dates_are_told_apart_from_iso(tmp_path: Path) -> None:
    text = infer_mapping(FIXTURES / "online_retail" / "data.csv")
    assert "encoding: latin-1" in text
    table, matches = best_table(["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"])
    assert table.name == "order_lines"
    assert matches == {
        "order_id": "InvoiceNo",
        "product_id": "StockCode",
        "quantity": "Quantity",
        "unit_price": "UnitPrice",
    }
    # Online Retail's invoice dates are month first (12/1/2010 alone could be either; a day
    # past the 12th settles it); the same invoices written as ISO dates are read as ISO.
    header = "InvoiceNo,CustomerID,InvoiceDate\n"
    us = write(
        tmp_path / "us.csv", header + "536365,17850,12/1/2010 8:26\n536366,17850,12/13/2010 18:28\n"
    )
    iso = write(
        tmp_path / "iso.csv",
        header + "536365,17850,2010-12-01 08:26:00\n536366,17850,2010-12-13 18:28:00\n",
    )
    for path, inferred in ((us, "%m/%d/%Y %H:%M"), (iso, "%Y-%m-%d %H:%M:%S")):
        text = infer_mapping(path)
        placed_at = yaml.safe_load(text)["tables"]["orders"]["columns"]["placed_at"]
        assert placed_at == {"column": "InvoiceDate", "format": inferred}, path.name
        assert "TODO: or" not in text, path.name  # one format fits: no alternative offered


def test_day_first_and_month_first_dates_are_flagged_when_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path / "orders.csv", "order_id,placed_at\n1,01/02/2024 10:00\n")
    text = infer_mapping(path)
    assert "format: '%m/%d/%Y %H:%M'  # TODO: or %d/%m/%Y %H:%M" in text
