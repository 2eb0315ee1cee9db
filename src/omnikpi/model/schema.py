"""The building blocks of the canonical model: column types, columns, tables."""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

TableKind = Literal["core", "secondary", "system", "derived"]

#: Column types of the model and their Ibis / Arrow equivalents.
#: Money is DECIMAL(18, 2); timestamps are UTC instants; dates are local calendar dates.
_IBIS_TYPES: dict[str, dt.DataType] = {
    "string": dt.String(),
    "int": dt.Int64(),
    "float": dt.Float64(),
    "bool": dt.Boolean(),
    "date": dt.Date(),
    "timestamp": dt.Timestamp(timezone="UTC", scale=6),
    "money": dt.Decimal(18, 2),
}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "money": pa.decimal128(18, 2),
}
ColumnType = Literal["string", "int", "float", "bool", "date", "timestamp", "money"]


@dataclass(frozen=True)
class Column:
    """One column: name, type, whether it may be null, what it means.

    `enum` lists the allowed values of a categorical column; `references` names the
    `table.column` a key points to.
    """

    name: str
    type: ColumnType
    description: str
    nullable: bool = False
    enum: builtins.type[enum.StrEnum] | None = None
    references: str | None = None

    @property
    def ibis_type(self) -> dt.DataType:
        return _IBIS_TYPES[self.type].copy(nullable=self.nullable)

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.type]

    @property
    def allowed_values(self) -> tuple[str, ...]:
        return tuple(member.value for member in self.enum) if self.enum else ()


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, key, time column and what it holds."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    kind: TableKind = "core"
    time_column: str | None = None
    group: str = "commerce"
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {column.name: column for column in self.columns}
        if len(by_name) != len(self.columns):
            raise ValueError(f"table {self.name} declares a column twice")
        missing = [key for key in self.primary_key if key not in by_name]
        if self.time_column:
            missing += [] if self.time_column in by_name else [self.time_column]
        if missing:
            raise ValueError(f"table {self.name} names unknown columns {missing}")
        object.__setattr__(self, "_by_name", by_name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        return self._by_name[name]

    def has_column(self, name: str) -> bool:
        return name in self._by_name

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({column.name: column.ibis_type for column in self.columns})

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )

    @property
    def foreign_keys(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.references)
