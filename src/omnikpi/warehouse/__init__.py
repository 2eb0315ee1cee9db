"""Warehouse connections: the DuckDB file by default, Parquet + Spark to scale out."""

from omnikpi.warehouse.duckdb import DUCKDB_CONFIG, Warehouse, conform

__all__ = ["DUCKDB_CONFIG", "Warehouse", "conform"]
