"""Plausibility rules, declared as data: one line per rule, checked on every load.

A `RowRule` is a condition on one staged row (`{column}` placeholders name canonical
columns; NULL values pass, since required values are checked apart). A `TimeRule` says a
time must not come before a time of the row it references, e.g. delivered not before
ordered.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnikpi.ingest.sql import ident


@dataclass(frozen=True)
class RowRule:
    """A condition every row of `table` must meet; `holds` is SQL over staged columns."""

    table: str
    column: str
    holds: str
    reason: str

    def condition(self) -> str:
        """`holds` with every {column} placeholder qualified as a staged column."""
        return self.holds.format_map(_Staged())


class _Staged(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"s.{ident(key)}"


def _not_negative(table: str, *columns: str) -> tuple[RowRule, ...]:
    return tuple(
        RowRule(
            table, c, f"{{{c}}} >= 0", "is negative (amounts are positive; refunds are returns)"
        )
        for c in columns
    )


def _not_before(table: str, column: str, earlier: str) -> RowRule:
    return RowRule(table, column, f"{{{column}}} >= {{{earlier}}}", f"is before {earlier}")


#: Plausibility rules beyond types and categories (NULL values pass; required is separate).
ROW_RULES: tuple[RowRule, ...] = (
    RowRule(
        "order_lines",
        "quantity",
        "{quantity} > 0",
        "is not a positive quantity (negative quantities are only allowed as returns: "
        "map them to the returns table)",
    ),
    RowRule("returns", "quantity", "{quantity} > 0", "is not a positive number of units"),
    RowRule("shipments", "parcels", "{parcels} > 0", "is not a positive number of parcels"),
    RowRule("reviews", "rating", "{rating} BETWEEN 1 AND 5", "is not a rating from 1 to 5"),
    RowRule("surveys", "score", "{score} BETWEEN 0 AND {scale_max}", "is outside the scale"),
    RowRule("events", "load_ms", "{load_ms} >= 0", "is a negative load time"),
    *_not_negative("orders", "gross_amount", "discount_amount", "net_amount", "shipping_amount"),
    *_not_negative("orders", "tax_amount", "total_amount"),
    *_not_negative("order_lines", "unit_price", "discount_amount", "net_amount", "unit_cost"),
    *_not_negative("products", "list_price", "unit_cost"),
    *_not_negative("payments", "amount"),
    *_not_negative("returns", "refund_amount"),
    _not_before("orders", "status_changed_at", "placed_at"),
    _not_before("shipments", "delivered_at", "shipped_at"),
    _not_before("returns", "received_at", "requested_at"),
    _not_before("returns", "refunded_at", "requested_at"),
    _not_before("tickets", "first_response_at", "opened_at"),
    _not_before("tickets", "resolved_at", "opened_at"),
)


@dataclass(frozen=True)
class TimeRule:
    """A time of `table` must not precede a time of the row it references."""

    table: str
    column: str
    via: str
    target: str
    target_column: str


#: Plausibility across tables: delivered (or shipped, returned) not before ordered.
CROSS_RULES: tuple[TimeRule, ...] = (
    TimeRule("shipments", "shipped_at", "order_id", "orders", "placed_at"),
    TimeRule("shipments", "delivered_at", "order_id", "orders", "placed_at"),
    TimeRule("returns", "requested_at", "order_id", "orders", "placed_at"),
    TimeRule("payments", "created_at", "order_id", "orders", "placed_at"),
)
