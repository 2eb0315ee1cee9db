"""Building SQL text safely: quoted identifiers and named parameters for every value."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

from omnikpi.warehouse import Warehouse

#: Prefix of the session variables holding the values of views (see `ViewValues`).
VIEW_VALUES_PREFIX = "omnikpi_view_"


def ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier.

    >>> print(ident('Customer "ID" no'))
    "Customer ""ID"" no"
    """
    return '"' + name.replace('"', '""') + '"'


def idents(names: Iterable[str]) -> str:
    """Comma-separated quoted identifiers."""
    return ", ".join(ident(name) for name in names)


class Params:
    """Named parameters of one statement: `add(value)` returns its placeholder.

    Parts of a statement built apart take different prefixes, so their names never clash.

    >>> params = Params()
    >>> params.add("web"), params.values
    ('$p0', {'p0': 'web'})
    """

    def __init__(self, prefix: str = "p") -> None:
        self.prefix = prefix
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Bind `value`; returns its placeholder."""
        name = f"{self.prefix}{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def used_in(self, sql: str) -> dict[str, Any]:
        """The parameters `sql` refers to (DuckDB rejects unused ones)."""
        used = set(re.findall(rf"\$({re.escape(self.prefix)}\d+)\b", sql))
        return {name: value for name, value in self.values.items() if name in used}


class ViewValues:
    """Values of a view, read whenever the view is queried: `add(value)` returns its SQL.

    DuckDB views cannot take parameters, so their values are bound once to a session
    variable (`bind`) and read back with `getvariable`; they are never pasted into SQL.

    >>> values = ViewValues()
    >>> values.add("orders.csv")  # doctest: +ELLIPSIS
    "getvariable('omnikpi_view_...').v0"
    """

    _numbers = itertools.count()

    def __init__(self) -> None:
        self.name = f"{VIEW_VALUES_PREFIX}{next(self._numbers)}"
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Bind `value`; returns the SQL expression reading it."""
        key = f"v{len(self.values)}"
        self.values[key] = value
        return f"getvariable('{self.name}').{key}"

    def bind(self, warehouse: Warehouse) -> None:
        """Set the session variable, before any view reading it is created or queried."""
        warehouse.run_sql(f"SET VARIABLE {self.name} = $values", {"values": self.values})


def reset_view_values(warehouse: Warehouse) -> None:
    """Drop the session variables of views (once the views themselves are dropped)."""
    names = warehouse.fetch_rows(
        "SELECT name FROM duckdb_variables() WHERE starts_with(name, $prefix)",
        {"prefix": VIEW_VALUES_PREFIX},
    )
    for (name,) in names:
        warehouse.run_sql(f"RESET VARIABLE {name}")
