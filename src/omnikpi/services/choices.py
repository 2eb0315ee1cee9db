"""The values the pages' filters offer: stores (with their names), regions and channels,
each from the dimension's own declared values (the same ones a filter is checked against).
"""

from __future__ import annotations

from dataclasses import dataclass

from omnikpi.kpi import Catalog
from omnikpi.kpi.domains import declared_values
from omnikpi.warehouse import Tables


@dataclass(frozen=True)
class FilterChoices:
    """The values the filters offer: stores (id, name), regions and sales channels."""

    stores: tuple[tuple[str, str], ...] = ()
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


def load_filter_choices(catalog: Catalog, tables: Tables) -> FilterChoices:
    """Stores (by name), regions and channels the filters offer."""
    stores: tuple[tuple[str, str], ...] = ()
    if tables.has_table("stores"):
        table = tables.table("stores")
        frame = tables.execute(table.select("store_id", "name").order_by(["name", "store_id"]))
        stores = tuple(
            (str(i), str(n)) for i, n in zip(frame["store_id"], frame["name"], strict=True)
        )
    return FilterChoices(
        stores=stores,
        regions=tuple(declared_values(catalog, tables, "region") or ()),
        channels=tuple(declared_values(catalog, tables, "channel") or ()),
    )
