"""Which values a dimension has: what a filter may name, and what pages offer to choose.

A dimension declares its values in the catalog (`values_from: [table.column, ...]` of the
canonical model, or a fixed `values:` list). A column with an enum gives its enum's values
without reading data; other columns give the values stored. Values the KPIs' own rows carry
also count, so a value that shows up in a breakdown can always be filtered on.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import ibis.expr.types as ir

from omnikpi.errors import UnknownValue
from omnikpi.kpi.catalog import Catalog
from omnikpi.kpi.expressions import Expression, compile_expression
from omnikpi.kpi.sources import SourceBuilder, SourceMissing
from omnikpi.model import table as model_table
from omnikpi.warehouse import Tables

#: How many close values an error names.
SUGGESTIONS = 5


def declared_values(catalog: Catalog, tables: Tables, dimension: str) -> list[str] | None:
    """The values `dimension` declares (sorted), or None when it declares none."""
    spec = catalog.dimensions[dimension]
    if spec.values is not None:
        return list(spec.values)
    if not spec.values_from:
        return None
    found: set[str] = set()
    for reference in spec.values_from:
        table_name, column_name = reference.split(".", 1)
        column = model_table(table_name).column(column_name)
        if column.allowed_values:
            found.update(column.allowed_values)
        elif tables.has_table(table_name):
            table = tables.table(table_name)
            found.update(_distinct(tables, table, table[column_name]))
    return sorted(found)


def data_values(
    catalog: Catalog, tables: Tables, dimension: str, sources: Iterable[str]
) -> list[str]:
    """The values `dimension` takes in the rows of `sources` (those offering it)."""
    builder = SourceBuilder(catalog, tables)
    found: set[str] = set()
    for source in sorted(set(sources)):
        expression = catalog.source_dimensions(source).get(dimension)
        if expression is None:
            continue
        try:
            table = builder.build(source, set(Expression.parse(expression).names))
        except SourceMissing:
            continue
        found.update(_distinct(tables, table, compile_expression(expression, table)))
    return sorted(found)


def unknown_value(dimension: str, value: str, valid: list[str]) -> UnknownValue:
    """The error for `value`, naming up to SUGGESTIONS close valid values."""
    close = difflib.get_close_matches(value, valid, n=SUGGESTIONS, cutoff=0.4)
    if not close:
        folded = value.casefold()
        close = [v for v in valid if folded in v.casefold()][:SUGGESTIONS] or valid[:SUGGESTIONS]
    return UnknownValue(dimension, value, close, len(valid) - len(close))


def _distinct(tables: Tables, table: ir.Table, value: ir.Value) -> set[str]:
    values = table.select(value=value.cast("string"))
    frame = tables.execute(values.filter(values.value.notnull()).distinct())
    return {str(v) for v in frame["value"]}
