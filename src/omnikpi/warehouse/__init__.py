"""Warehouse connections: the DuckDB file by default, Parquet + Spark to scale out.

The only package that holds a database connection.
"""

from omnikpi.warehouse.duckdb import DUCKDB_CONFIG, Params, Warehouse, conform
from omnikpi.warehouse.system import DATA_SETTINGS, SYSTEM_TABLES, TABLE_CHANGES
from omnikpi.warehouse.tables import Tables

__all__ = [
    "DATA_SETTINGS",
    "DUCKDB_CONFIG",
    "SYSTEM_TABLES",
    "TABLE_CHANGES",
    "Params",
    "Tables",
    "Warehouse",
    "conform",
]
