"""The model's declarations are consistent: keys, references, enums, types."""

from __future__ import annotations

import pytest

from omnikpi.errors import NotFound
from omnikpi.model import TABLES, table, table_names


def test_every_reference_points_at_a_declared_key_column() -> None:
    for t in TABLES:
        for column in t.foreign_keys:
            assert column.references is not None
            target_table, target_column = column.references.split(".")
            target = table(target_table)
            assert target.has_column(target_column), column.references
            assert target.primary_key == (target_column,), column.references


def test_time_columns_are_dates_or_timestamps() -> None:
    for t in TABLES:
        if t.time_column:
            assert t.column(t.time_column).type in ("date", "timestamp"), t.name


def test_key_columns_are_required() -> None:
    for t in TABLES:
        for key in t.primary_key:
            assert not t.column(key).nullable, f"{t.name}.{key}"


def test_money_and_enum_columns() -> None:
    orders = table("orders")
    assert orders.column("net_amount").type == "money"
    assert str(orders.column("net_amount").ibis_type) == "!decimal(18, 2)"
    assert orders.column("channel").allowed_values == ("web", "app", "store", "marketplace", "call")
    assert table("events").column("event_type").allowed_values[:2] == ("page_view", "product_view")


def test_arrow_and_ibis_schemas_agree() -> None:
    for t in TABLES:
        assert t.arrow_schema().names == list(t.ibis_schema().names)


def test_unknown_table_names_the_choices() -> None:
    with pytest.raises(NotFound, match=r'"ordrs" is not a canonical table.*orders'):
        table("ordrs")


def test_kinds() -> None:
    assert "social_daily" in table_names("secondary")
    assert "orders" in table_names("core")
    assert table_names("system") == ("simulation_truth",)
