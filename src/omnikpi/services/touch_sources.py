"""The warehouse's orders and touch tables as the journeys' input, for the journey
services and the attributed revenue behind ROAS.

>>> touch_sources(warehouse).orders  # doctest: +SKIP
"""

from __future__ import annotations

import ibis.expr.types as ir

from omnikpi.errors import DataError
from omnikpi.marketing.journeys import TouchSources
from omnikpi.warehouse import Warehouse

__all__ = ["touch_sources"]


def touch_sources(warehouse: Warehouse) -> TouchSources:
    """The warehouse's orders and touch tables (a table it does not hold adds nothing)."""
    if not warehouse.has_table("orders"):
        raise DataError("the warehouse has no orders (load orders to build journeys)")

    def present(name: str) -> ir.Table | None:
        return warehouse.table(name) if warehouse.has_table(name) else None

    return TouchSources(
        orders=warehouse.table("orders"),
        sessions=present("sessions"),
        touchpoints=present("touchpoints"),
        messages=present("messages"),
    )
