"""What computations read tables through: a DuckDB warehouse or a Spark session."""

from __future__ import annotations

from typing import Protocol

import ibis.expr.types as ir
import pandas as pd


class Tables(Protocol):
    """Where canonical tables come from: a DuckDB warehouse or a Spark session."""

    engine: str
    #: The zone local dates are taken in by this connection ...
    time_zone: str
    #: ... and the warehouse's own, which stored results such as KPI rollups use.
    stored_time_zone: str

    def table(self, name: str) -> ir.Table: ...

    def has_table(self, name: str) -> bool: ...

    def execute(self, expr: ir.Expr) -> pd.DataFrame: ...
