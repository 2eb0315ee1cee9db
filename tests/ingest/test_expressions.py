"""Column conversions a mapping can ask for, checked on one small JSON Lines export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from omnikpi.ingest import ingest_files, parse_mapping
from omnikpi.settings import Settings
from tests.ingest.conftest import options, rows, write

LINES = (
    '{"kind": "sale", "id": "P1", "cents": 1999, "at": 1709280000123, "vendor": {"name": "Glow"},'
    ' "on": "2024-03-01 00:00:00", "live": "Y", "tier": ""}\n'
    '{"kind": "sale", "id": "P2", "cents": 500, "at": 1709283600000, "vendor": {"name": null},'
    ' "on": "2024-03-02T00:00:00", "live": "N", "tier": "x"}\n'
    '{"kind": "test", "id": "P3", "cents": 1, "at": 1709283600000, "vendor": {"name": "Lab"},'
    ' "on": "2024-03-03", "live": "Y", "tier": "x"}\n'
)
MAPPING = {
    "currency": "EUR",
    "tables": {
        "products": {
            "filter": {"column": "kind", "not_in": ["test"]},
            "columns": {
                "product_id": "id",
                "sku": "id",
                "name": {"column": "vendor.name", "default": "no name"},
                "category": {"value": "skincare"},
                "subcategory": {"column": "tier", "map": {"x": "serum"}, "default": "none"},
                "brand": {"column": "vendor.name", "default": "unknown"},
                "list_price": {"column": "cents", "divide_by": 100},
                "launched_on": "on",
                "discontinued_on": {"column": "live", "map": {"Y": None, "N": "2024-04-30"}},
            },
        },
        "site_checks": {
            "filter": {"column": "kind", "in": ["sale"]},
            "duplicates": "first",
            "columns": {
                "checked_at": {"column": "at", "format": "epoch_ms"},
                "target": {"value": "home"},
                "is_up": {"column": "live", "map": {"Y": True, "N": False}},
            },
        },
    },
}


def test_conversions(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "catalog.jsonl", LINES)
    summary = ingest_files(settings, parse_mapping(MAPPING), [path], options())
    assert summary.rows_quarantined == 0
    assert rows(
        settings,
        "SELECT product_id, name, subcategory, brand, list_price, launched_on, discontinued_on "
        "FROM products ORDER BY 1",
    ) == [
        ("P1", "Glow", "none", "Glow", Decimal("19.99"), _date(1), None),
        ("P2", "no name", "serum", "unknown", Decimal("5.00"), _date(2), _date(30, 4)),
    ]
    assert rows(
        settings,
        "SELECT strftime(timezone('UTC', checked_at), '%Y-%m-%d %H:%M:%S.%g'), is_up "
        "FROM site_checks ORDER BY 1",
    ) == [("2024-03-01 08:00:00.123", True), ("2024-03-01 09:00:00.000", False)]


def test_iso_times_keep_their_offset_and_others_take_the_zone(
    settings: Settings, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "checks.csv",
        "at,up\n2024-03-01T10:00:00+09:00,true\n"
        "2024-03-01 10:00:00,false\n2024-03-01T10:00:00Z,1\n",
    )
    mapping = parse_mapping(
        {
            "dates": {"time_zone": "Europe/Paris"},
            "tables": {
                "site_checks": {
                    "columns": {"checked_at": "at", "target": {"value": "api"}, "is_up": "up"}
                }
            },
        }
    )
    ingest_files(settings, mapping, [path], options())
    assert rows(
        settings,
        "SELECT strftime(timezone('UTC', checked_at), '%H:%M'), is_up FROM site_checks ORDER BY 1",
    ) == [("01:00", True), ("09:00", False), ("10:00", True)]


def test_text_loses_surrounding_spaces_and_only_spaces_is_empty(
    settings: Settings, tmp_path: Path
) -> None:
    # no-break (U+00A0) and ideographic (U+3000) spaces are spaces too
    path = write(
        tmp_path / "products.csv",
        "id,name,brand,price\n P1 ,\u00a0Glow serum\u00a0, \u3000 ,  5.00\nP2,Toner,Lab,7\n",
    )
    mapping = parse_mapping(
        {
            "currency": "EUR",
            "tables": {
                "products": {
                    "columns": {
                        "product_id": "id",
                        "sku": "id",
                        "name": "name",
                        "category": {"value": "skincare"},
                        "subcategory": {"value": "toner"},
                        "brand": {"column": "brand", "default": "unknown"},
                        "list_price": "price",
                    }
                }
            },
        }
    )
    summary = ingest_files(settings, mapping, [path], options())
    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT product_id, sku, name, brand, list_price FROM products") == [
        ("P1", "P1", "Glow serum", "unknown", Decimal("5.00")),
        ("P2", "P2", "Toner", "Lab", Decimal("7.00")),
    ]


def _date(day: int, month: int = 3) -> date:
    return date(2024, month, day)
