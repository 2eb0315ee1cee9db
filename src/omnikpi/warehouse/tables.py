"""What computations read tables through: a DuckDB warehouse or a Spark session."""

from __future__ import annotations

from typing import Protocol

import ibis.expr.types as ir
import pandas as pd


class Tables(Protocol):
    """Where canonical tables come from: a DuckDB warehouse or a Spark session."""

    engine: str
    time_zone: str

    def table(self, name: str) -> ir.Table: ...

    def has_table(self, name: str) -> bool: ...

    def execute(self, expr: ir.Expr) -> pd.DataFrame: ...
