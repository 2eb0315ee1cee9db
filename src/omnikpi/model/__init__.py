"""The canonical data model: every table, column, key and categorical value, declared once."""

from omnikpi.model.registry import TABLES, table, table_names
from omnikpi.model.schema import Column, ColumnType, Table, TableKind

__all__ = ["TABLES", "Column", "ColumnType", "Table", "TableKind", "table", "table_names"]
