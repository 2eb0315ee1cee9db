"""Mapping files are checked before any data is read; errors name file, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from omnikpi.errors import ConfigError
from omnikpi.ingest import load_mapping, parse_mapping, preset_names
from omnikpi.ingest.presets import load_preset
from tests.ingest.conftest import write

ORDERS: dict[str, Any] = {
    "order_id": "No",
    "channel": {"value": "web"},
    "placed_at": {"column": "Date", "format": "%d/%m/%Y %H:%M"},
    "status": {"column": "Status", "map": {"Bezahlt": "paid", "Storniert": "cancelled"}},
    "status_changed_at": "Date",
    "fulfilment": {"value": "delivery"},
    "gross_amount": "Amount",
    "discount_amount": {"value": 0},
    "net_amount": "Amount",
    "shipping_amount": {"value": 0},
    "tax_amount": {"value": 0},
    "total_amount": "Amount",
}


def mapping(**tables: Any) -> dict[str, Any]:
    return {"currency": "EUR", "tables": tables or {"orders": {"columns": dict(ORDERS)}}}


def test_a_complete_mapping_parses_with_shorthand_columns() -> None:
    parsed = parse_mapping(mapping())
    orders = parsed.tables["orders"]
    assert orders.columns["order_id"].column == "No"
    assert orders.columns["status"].map == {"Bezahlt": "paid", "Storniert": "cancelled"}
    assert orders.columns["placed_at"].formats == ("%d/%m/%Y %H:%M",)


def test_unknown_field_names_the_field_and_the_closest_valid_one() -> None:
    columns = dict(ORDERS, placed_at={"column": "Date", "formt": "%d/%m/%Y"})
    with pytest.raises(ConfigError) as error:
        parse_mapping(mapping(orders={"columns": columns}), origin="shop.yaml")
    assert str(error.value) == (
        'shop.yaml: tables.orders.columns.placed_at.formt: unknown field "formt" '
        '(did you mean "format"?)'
    )


def test_unknown_table_suggests_the_canonical_one() -> None:
    with pytest.raises(
        ConfigError,
        match=r'tables.ordrs: "ordrs" is not a canonical table '
        r'\(did you mean "orders"\?\)',
    ):
        parse_mapping(mapping(ordrs={"columns": dict(ORDERS)}), origin="shop.yaml")


def test_unknown_canonical_column_suggests_the_right_name() -> None:
    columns = dict(ORDERS, placd_at="Date")
    with pytest.raises(
        ConfigError,
        match=r'orders has no column "placd_at" \(did you mean '
        r'"placed_at"\?\)',
    ):
        parse_mapping(mapping(orders={"columns": columns}))


def test_a_required_column_left_out_says_how_to_map_it() -> None:
    columns = {k: v for k, v in ORDERS.items() if k != "channel"}
    with pytest.raises(ConfigError) as error:
        parse_mapping(mapping(orders={"columns": columns}), origin="shop.yaml")
    assert str(error.value) == (
        'shop.yaml: tables.orders: required column "channel" is not mapped (map a source '
        "column or set a constant, e.g. channel: {value: web})"
    )


def test_currency_is_required_unless_set_for_the_whole_mapping() -> None:
    document = mapping()
    del document["currency"]
    with pytest.raises(ConfigError, match='required column "currency" is not mapped'):
        parse_mapping(document)


def test_constants_and_value_maps_must_use_allowed_values() -> None:
    with pytest.raises(
        ConfigError,
        match=r'channel.value: "online" is not an allowed channel '
        r"\(use one of web, app, store, marketplace, call\)",
    ):
        parse_mapping(mapping(orders={"columns": dict(ORDERS, channel={"value": "online"})}))
    bad_map = {"column": "Status", "map": {"Bezahlt": "payed"}}
    with pytest.raises(
        ConfigError,
        match=r'"Bezahlt" maps to "payed", which is not an allowed '
        r"status",
    ):
        parse_mapping(mapping(orders={"columns": dict(ORDERS, status=bad_map)}))


def test_a_column_takes_a_source_column_or_a_constant_not_both() -> None:
    both = {"column": "Channel", "value": "web"}
    with pytest.raises(ConfigError, match=r"set exactly one of column .* or value"):
        parse_mapping(mapping(orders={"columns": dict(ORDERS, channel=both)}))


def test_formats_only_on_dates_and_hash_only_on_text() -> None:
    with pytest.raises(ConfigError, match="only date and timestamp columns take a format"):
        parse_mapping(
            mapping(orders={"columns": dict(ORDERS, order_id={"column": "No", "format": "%Y"})})
        )
    with pytest.raises(ConfigError, match="only text columns can be pseudonymized"):
        parse_mapping(
            mapping(orders={"columns": dict(ORDERS, gross_amount={"column": "A", "hash": True})})
        )


def test_bad_time_zone_is_named() -> None:
    document = mapping()
    document["dates"] = {"time_zone": "Europe/Londn"}
    with pytest.raises(ConfigError, match=r'dates\.time_zone: time zone "Europe/Londn" is not'):
        parse_mapping(document, origin="shop.yaml")


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "shop.yaml", "tables:\n  orders:\n    columns: [a, b\n")
    with pytest.raises(ConfigError, match=r"shop.yaml line \d+: not valid YAML"):
        load_mapping(path)


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_mapping(tmp_path / "nope.yaml")


def test_numeric_map_keys_from_yaml_compare_as_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.yaml",
        "currency: KRW\ntables:\n  orders:\n    columns:\n"
        + "".join(
            f"      {k}: {v}\n"
            for k, v in {
                "order_id": "OrderNo",
                "channel": "{column: Ch, map: {1: web, 2: store}}",
                "placed_at": "Date",
                "status": "{value: paid}",
                "status_changed_at": "Date",
                "fulfilment": "{value: delivery}",
                "gross_amount": "A",
                "discount_amount": "{value: 0}",
                "net_amount": "A",
                "shipping_amount": "{value: 0}",
                "tax_amount": "{value: 0}",
                "total_amount": "A",
            }.items()
        ),
    )
    assert load_mapping(path).tables["orders"].columns["channel"].map == {"1": "web", "2": "store"}


def test_yaml_booleans_as_column_names_ask_for_quotes() -> None:
    with pytest.raises(
        ConfigError,
        match=r"order_id: YAML read this column name as False; put "
        r"the name in quotes",
    ):
        parse_mapping(mapping(orders={"columns": dict(ORDERS, order_id=False)}))


def test_every_shipped_preset_is_a_valid_mapping() -> None:
    assert preset_names() == ("cdnow", "ga4", "olist", "online-retail", "shopify")
    for name in preset_names():
        preset = load_preset(name)
        assert preset.tables, name
        assert preset.views, name


def test_the_documented_example_mapping_is_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "ingest.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    parsed = parse_mapping(yaml.safe_load(example), origin="docs/ingest.md")
    assert parsed.read.encoding == "cp949"
    assert parsed.tables["orders"].columns["channel"].map == {
        "온라인": "web",
        "앱": "app",
        "매장": "store",
    }


SHOP_YAML = """\
currency: EUR
tables:
  orders:
    columns:
      order_id: "No"
      channel: {{value: web}}
      placed_at: {placed_at}
      status: {{column: Status, map: {{Bezahlt: paid, Storniert: cancelled}}}}
      status_changed_at: Date
      fulfilment: {{value: delivery}}
      gross_amount: Amount
      discount_amount: {{value: 0}}
      net_amount: Amount
      shipping_amount: {{value: 0}}
      tax_amount: {{value: 0}}
      total_amount: Amount
"""


def write_orders_mapping(tmp_path: Path, placed_at: str) -> Path:
    """shop.yaml mapping orders, with `placed_at` as given on its line 7."""
    return write(tmp_path / "shop.yaml", SHOP_YAML.format(placed_at=placed_at))


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [
        ("%Y-%m-%d %Q", '"%Q" is no strptime code'),
        ("%d.%m.%Y %", 'a lone "%" ends it (write %% for a percent sign)'),
        ("yyyy-MM-dd", "it has no strptime code, so it would only match itself"),
        ("%-d.%-B.%Y", '"%-B" is no strptime code ("%-" goes with H, I, M, S, d, j, m, y)'),
    ],
)
def test_a_bad_format_fails_with_the_mapping_line_before_any_file_is_read(
    tmp_path: Path, fmt: str, problem: str
) -> None:
    path = write_orders_mapping(tmp_path, f"{{column: Date, format: '{fmt}'}}")
    with pytest.raises(ConfigError) as raised:
        load_mapping(path)
    assert str(raised.value) == (
        f'shop.yaml line 7: tables.orders.columns.placed_at.format: "{fmt}" is not a format '
        f"DuckDB can read: {problem} (strptime codes: %Y year, %m month, %d day, %H hour, "
        "%M minute, %S second, %z UTC offset, …)"
    )


def test_default_formats_and_lists_of_formats_are_checked_too(tmp_path: Path) -> None:
    document = mapping()
    document["dates"] = {"format": ["%d/%m/%Y", "%d/%m/%Y %q"]}
    with pytest.raises(ConfigError, match=r'dates\.format\.1: "%d/%m/%Y %q" is not a format'):
        parse_mapping(document)
    mixed = ["%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M"]
    with pytest.raises(ConfigError, match=r"placed_at.format: list formats either all with %z"):
        parse_mapping(
            mapping(orders={"columns": dict(ORDERS, placed_at={"column": "D", "format": mixed})})
        )


def test_unknown_fields_and_constants_name_their_line(tmp_path: Path) -> None:
    path = write_orders_mapping(tmp_path, "{column: Date, formt: '%Y'}")
    with pytest.raises(ConfigError) as raised:
        load_mapping(path)
    assert str(raised.value) == (
        "shop.yaml line 7: tables.orders.columns.placed_at.formt: unknown field "
        '"formt" (did you mean "format"?)'
    )
    path = write_orders_mapping(tmp_path, "{value: 2024-01-01}")
    with pytest.raises(ConfigError) as raised:
        load_mapping(path)
    assert str(raised.value) == (
        "shop.yaml line 7: tables.orders.columns.placed_at.value: dates cannot be "
        "constants; map a source column"
    )


def test_earliest_and_latest_are_dates_on_date_and_year_columns() -> None:
    columns = dict(ORDERS, placed_at={"column": "Date", "earliest": "last year"})
    with pytest.raises(ConfigError, match=r'placed_at\.earliest: "last year" is not a date limit'):
        parse_mapping(mapping(orders={"columns": columns}))
    columns = dict(ORDERS, gross_amount={"column": "Amount", "latest": "today"})
    with pytest.raises(ConfigError, match="only date, timestamp and year columns take earliest"):
        parse_mapping(mapping(orders={"columns": columns}))
    columns = dict(ORDERS, placed_at={"column": "Date", "earliest": "today + 2 years"})
    with pytest.raises(ConfigError, match=r"orders\.placed_at: earliest is after latest"):
        parse_mapping(mapping(orders={"columns": columns}))
    columns = dict(ORDERS, placed_at={"column": "Date", "earliest": "1950-01-01"})
    assert (
        parse_mapping(mapping(orders={"columns": columns}))
        .tables["orders"]
        .columns["placed_at"]
        .earliest
        == "1950-01-01"
    )
