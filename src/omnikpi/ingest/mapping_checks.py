"""Checks of a mapping against the canonical model, before any file is read.

Table and column names, required columns, constants and value maps, formats, zones,
bounds and the pseudonymization key: each problem is a ConfigError naming the mapping
file, the line and the field, with the fix, e.g.

    shop.yaml line 12: tables.orders.columns.placed_at.format: "%Q" is not a strptime code (…)
"""

from __future__ import annotations

import difflib
from datetime import date
from typing import TYPE_CHECKING, Any

from omnikpi.errors import ConfigError
from omnikpi.ingest.bounds import column_bounds, has_bounds
from omnikpi.ingest.formats import (
    COMMON_CODES,
    EPOCH_FORMATS,
    mixed_zones_problem,
    time_format_problem,
)
from omnikpi.ingest.locations import Where
from omnikpi.model import TABLES, Column, Table
from omnikpi.settings import validate_time_zone

if TYPE_CHECKING:
    from omnikpi.ingest.mapping import ColumnSpec, Mapping, Scalar, TableMapping

_TABLES = {table.name: table for table in TABLES if table.kind != "system"}


def check_mapping(mapping: Mapping) -> None:
    """Check table and column names, required columns, constants, formats and bounds."""
    dates = mapping.dates
    if dates.time_zone:
        _zone(dates.time_zone, mapping.where("dates", "time_zone"))
    for name, formats in (("format", dates.format), ("date_format", dates.date_format)):
        if formats is not None:
            listed = (formats,) if isinstance(formats, str) else formats
            _check_formats(listed, mapping.where("dates", name))
    for table_name, spec in mapping.tables.items():
        where = mapping.where("tables", table_name)
        if table_name not in _TABLES:
            raise ConfigError(
                f'{where}: "{table_name}" is not a canonical table'
                f"{suggest(table_name, tuple(_TABLES))} (see docs/data-model.md)"
            )
        table = _TABLES[table_name]
        _check_source(mapping, spec, where)
        for column_name, column_spec in spec.columns.items():
            at = where.at("columns", column_name)
            if not table.has_column(column_name):
                raise ConfigError(
                    f'{at}: {table_name} has no column "{column_name}"'
                    f"{suggest(column_name, table.column_names)}"
                )
            _check_column(table, table.column(column_name), column_spec, at)
        _check_required(mapping, table, spec, where)


def check_hash_key(mapping: Mapping, hash_key: str | None) -> None:
    """Columns to pseudonymize need the key: checked before any file is read."""
    if hash_key:
        return
    for table_name, spec in mapping.tables.items():
        for column_name, column_spec in spec.columns.items():
            if column_spec.hash:
                where = mapping.where("tables", table_name, "columns", column_name, "hash")
                raise ConfigError(
                    f"{where}: no pseudonymization key is set "
                    "(set OMNIKPI_PSEUDONYM_KEY to a long random secret)"
                )


def as_text(value: Any) -> str:
    """A YAML scalar as the text a file would hold (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """` (did you mean "x"?)` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice most similar to `word`, if any is similar enough (difflib)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    if close:
        return close[0]
    lowered = {choice.lower(): choice for choice in choices}
    return lowered.get(word.lower())


def _check_source(mapping: Mapping, spec: TableMapping, where: Where) -> None:
    names = list(mapping.sources) + list(getattr(mapping, "views", {}))
    if spec.source is None:
        if len(names) > 1:
            raise ConfigError(f"{where}: set source: to one of {', '.join(names)}")
        return
    if spec.source not in names:
        raise ConfigError(
            f'{where.at("source")}: "{spec.source}" is not a source of this mapping'
            f"{suggest(spec.source, names)} (declare it under sources:)"
        )


def _check_column(table: Table, column: Column, spec: ColumnSpec, where: Where) -> None:
    allowed = column.allowed_values
    is_time = column.type in ("date", "timestamp")
    if spec.value is not None and is_time:
        raise ConfigError(f"{where.at('value')}: dates cannot be constants; map a source column")
    if spec.value is not None:
        _check_constant(column, spec.value, where.at("value"))
    if spec.default is not None:
        _check_constant(column, spec.default, where.at("default"))
    if spec.map and allowed:
        for source_value, target in spec.map.items():
            if target is not None and as_text(target) not in allowed:
                raise ConfigError(
                    f'{where.at("map", source_value)}: "{source_value}" maps to "{target}", '
                    f"which is not an allowed {column.name} (use one of {', '.join(allowed)})"
                )
    if spec.formats and not is_time:
        raise ConfigError(f"{where.at('format')}: only date and timestamp columns take a format")
    if spec.formats:
        _check_formats(spec.formats, where.at("format"))
    if spec.time_zone:
        _zone(spec.time_zone, where.at("time_zone"))
    if spec.hash and column.type != "string":
        raise ConfigError(f"{where.at('hash')}: only text columns can be pseudonymized")
    if spec.divide_by and column.type not in ("int", "float", "money"):
        raise ConfigError(f"{where.at('divide_by')}: only numeric columns can be divided")
    _check_bounds(table, column, spec, where)


def _check_formats(formats: tuple[str, ...], where: Where) -> None:
    """Every format DuckDB can read with, epochs alone, offsets in all or none."""
    if any(fmt in EPOCH_FORMATS for fmt in formats):
        if len(formats) > 1:
            raise ConfigError(f"{where}: an epoch format cannot be combined with others")
        return
    for index, fmt in enumerate(formats):
        problem = time_format_problem(fmt)
        if problem:
            at = where.at(index) if len(formats) > 1 else where
            raise ConfigError(
                f'{at}: "{fmt}" is not a format DuckDB can read: {problem} '
                f"(strptime codes: {COMMON_CODES}, …)"
            )
    mixed = mixed_zones_problem(formats)
    if mixed:
        raise ConfigError(f"{where}: {mixed}")


def _check_bounds(table: Table, column: Column, spec: ColumnSpec, where: Where) -> None:
    if spec.earliest is None and spec.latest is None:
        return
    if not has_bounds(table.name, column.name, column.type):
        field = "earliest" if spec.earliest is not None else "latest"
        raise ConfigError(
            f"{where.at(field)}: only date, timestamp and year columns take earliest and latest"
        )
    try:
        column_bounds(table.name, column.name, date.today(), spec.earliest, spec.latest)
    except ConfigError as exc:
        field = "earliest" if spec.earliest is not None else "latest"
        raise ConfigError(f"{where.at(field)}: {exc}") from None


def _check_constant(column: Column, value: Scalar, where: Where) -> None:
    allowed = column.allowed_values
    if allowed and as_text(value) not in allowed:
        raise ConfigError(
            f'{where}: "{value}" is not an allowed {column.name} (use one of {", ".join(allowed)})'
        )
    numeric = column.type in ("int", "float", "money")
    if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigError(f'{where}: "{value}" is not a number')
    if column.type == "bool" and not isinstance(value, bool):
        raise ConfigError(f'{where}: "{value}" is not true or false')


def _check_required(mapping: Mapping, table: Table, spec: TableMapping, where: Where) -> None:
    for column in table.columns:
        if column.nullable or column.name in spec.columns:
            continue
        if column.name == "currency" and mapping.currency:
            continue
        example = (
            f"{{value: {column.allowed_values[0]}}}" if column.allowed_values else "SourceColumn"
        )
        hint = (
            "set currency: at the top of the mapping, or map a column"
            if column.name == "currency"
            else f"map a source column or set a constant, e.g. {column.name}: {example}"
        )
        raise ConfigError(f'{where}: required column "{column.name}" is not mapped ({hint})')


def _zone(name: str, where: Where) -> None:
    try:
        validate_time_zone(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
