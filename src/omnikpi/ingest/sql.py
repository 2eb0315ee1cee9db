"""Building SQL text safely: quoted identifiers and named parameters for every value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


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

    >>> params = Params()
    >>> params.add("web"), params.values
    ('$p0', {'p0': 'web'})
    """

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        """Bind `value`; returns its placeholder."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"

    def used_in(self, sql: str) -> dict[str, Any]:
        """The parameters `sql` refers to (DuckDB rejects unused ones)."""
        used = set(re.findall(r"\$(p\d+)\b", sql))
        return {name: value for name, value in self.values.items() if name in used}
