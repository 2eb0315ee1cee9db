"""Mapping files: how the columns of a retailer's export become canonical columns.

A mapping is YAML validated by pydantic, then checked against the canonical model, so a
typo fails before any data is read, with the file, the field and the fix in the message.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from omnikpi.errors import ConfigError
from omnikpi.model import TABLES, Column, Table
from omnikpi.settings import validate_time_zone

Scalar = str | int | float | bool
FileFormat = Literal["csv", "parquet", "jsonl", "xlsx"]
#: `format` values that read numbers as Unix epochs instead of text dates.
EPOCH_FORMATS = ("epoch_s", "epoch_ms", "epoch_us")
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _column_shorthand(value: Any) -> Any:
    """`placed_at: InvoiceDate` is short for `placed_at: {column: InvoiceDate}`."""
    if isinstance(value, bool | int | float):
        raise ValueError(
            f"YAML read this column name as {value!r}; put the name in quotes "
            '(e.g. "No" or "2024"), or write {value: ...} for a constant'
        )
    return {"column": value} if isinstance(value, str) else value


def _text_keys(value: Any) -> Any:
    """YAML reads `1: web` with an integer key; value maps compare text."""
    if isinstance(value, dict):
        return {_as_text(key): item for key, item in value.items()}
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ReadOptions(_Strict):
    """How to read the files of one source (everything is optional and detected)."""

    format: FileFormat | None = None
    delimiter: str | None = Field(
        None, description='Field separator; "whitespace" for runs of spaces (detected if unset).'
    )
    encoding: str = Field("auto", description="Text encoding: auto, utf-8, cp949, euc-kr, …")
    header: bool = True
    columns: tuple[str, ...] | None = Field(None, description="Column names for headerless files.")
    skip_rows: int = Field(0, ge=0)
    sheet: str | None = Field(None, description='XLSX sheet (default: the first; "*": all).')
    rename: dict[str, str] = Field(
        default_factory=dict, description="Old header → name to use, where the old one appears."
    )
    fill_missing: tuple[str, ...] = Field(
        (), description="Columns some exports leave out; read as empty when absent."
    )


class SourceSpec(ReadOptions):
    """One input of a multi-file mapping: which files it reads and how."""

    files: tuple[str, ...] = Field(..., min_length=1, description="File name patterns (globs).")
    required: bool = True
    without: str | None = Field(
        None, description="What a load lacks when this optional source has no file."
    )


class ColumnSpec(_Strict):
    """Where one canonical column comes from and how its values are converted."""

    column: str | None = None
    value: Scalar | None = None
    map: Annotated[dict[str, Scalar | None] | None, BeforeValidator(_text_keys)] = None
    default: Scalar | None = None
    format: str | tuple[str, ...] | None = None
    time_zone: str | None = None
    divide_by: float | None = Field(None, gt=0)
    hash: bool = False

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("set exactly one of column (a source column) or value (a constant)")
        return self

    @property
    def formats(self) -> tuple[str, ...]:
        """The column's formats as a tuple (empty when it has none)."""
        if self.format is None:
            return ()
        return (self.format,) if isinstance(self.format, str) else self.format


class FilterSpec(_Strict):
    """Keep only rows whose `column` is (or is not) one of the listed values; the load
    report counts the others as set aside, with `reason`."""

    column: str
    in_: tuple[Scalar, ...] | None = Field(None, alias="in")
    not_in: tuple[Scalar, ...] | None = None
    reason: str | None = Field(None, description="Why the other rows are left out.")

    @property
    def set_aside_reason(self) -> str:
        """The reason the load report gives for the rows the filter leaves out."""
        return self.reason or f'is left out by the mapping\'s filter on "{self.column}"'

    @model_validator(mode="after")
    def _one_list(self) -> FilterSpec:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("set exactly one of in or not_in")
        return self


class TableMapping(_Strict):
    """The mapping of one canonical table."""

    source: str | None = None
    filter: FilterSpec | None = None
    duplicates: Literal["reject", "first", "last"] = "reject"
    existing: Literal["update", "keep"] = "update"
    columns: dict[str, Annotated[ColumnSpec, BeforeValidator(_column_shorthand)]]


class DateDefaults(_Strict):
    """Formats and zone for every date/time column that does not set its own."""

    format: str | tuple[str, ...] | None = None
    date_format: str | tuple[str, ...] | None = None
    time_zone: str | None = None


class NumberFormat(_Strict):
    """Decimal and thousands separators of the numbers in the files."""

    decimal: Literal[".", ","] = "."
    thousands: Literal[",", ".", " ", "'"] | None = None

    @model_validator(mode="after")
    def _different(self) -> NumberFormat:
        if self.thousands == self.decimal:
            raise ValueError("decimal and thousands separators must differ")
        return self


class Mapping(_Strict):
    """A user's mapping file."""

    _origin: str = PrivateAttr("mapping")

    version: Literal[1] = 1
    name: str | None = None
    description: str | None = None
    read: ReadOptions = ReadOptions()
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    dates: DateDefaults = DateDefaults()
    numbers: NumberFormat = NumberFormat()
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    tables: dict[str, TableMapping] = Field(..., min_length=1)

    @property
    def origin(self) -> str:
        """Where the mapping came from (its file name), for messages."""
        return self._origin


class SettingsViews(_Strict):
    """Views of a preset from which the data settings an export does not state are read.

    `time_zone`: rows `first_utc`, `last_utc` (TIMESTAMP, UTC, within one day) with the
    `utc_offset_minutes` the export wrote beside those instants, or the `local_date` they
    fall on (see `zones.py`). `currency` and `country`: rows `value`, `rows`; the most
    frequent value wins (the country decides among zones that fit equally).
    """

    time_zone: str | None = None
    currency: str | None = None
    country: str | None = None


class PresetMapping(Mapping):
    """A packaged preset: a mapping plus SQL views that shape the sources first.

    Only presets shipped with omnikpi may carry SQL; user mappings are declarative.
    """

    title: str
    views: dict[str, str] = Field(default_factory=dict)
    data_settings: SettingsViews = SettingsViews()


# -- loading ------------------------------------------------------------------------------
def load_mapping(path: Path) -> Mapping:
    """Read, validate and check a mapping file; ConfigError names the file, field and fix."""
    if not path.exists():
        raise ConfigError(f"mapping file {path} does not exist (check the --mapping path)")
    return parse_mapping(_read_yaml(path), origin=path.name)


def parse_mapping(document: Any, origin: str = "mapping") -> Mapping:
    """Validate a parsed YAML document as a user mapping."""
    mapping = _validate(Mapping, document, origin)
    check_mapping(mapping, origin)
    return mapping


def parse_preset(document: Any, origin: str) -> PresetMapping:
    """Validate a packaged preset document."""
    preset = _validate(PresetMapping, document, origin)
    check_mapping(preset, origin)
    for field, view in preset.data_settings.model_dump().items():
        if view is not None and view not in preset.views:
            raise ConfigError(f'{origin}: data_settings.{field}: "{view}" is not one of its views')
    return preset


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path.name}{where}: not valid YAML ({problem})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: mapping files must be UTF-8 text") from None


def _validate(model: type[M], document: Any, origin: str) -> M:
    if not isinstance(document, dict):
        raise ConfigError(f"{origin}: a mapping is a YAML document with a tables: section")
    try:
        parsed = model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin, model)) from None
    if isinstance(parsed, Mapping):
        parsed._origin = origin
    return parsed


def _describe(exc: ValidationError, origin: str, model: type[BaseModel]) -> str:
    problems = []
    for error in exc.errors()[:3]:
        loc = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
        field = ".".join(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f'unknown field "{loc[-1]}"{_suggest(loc[-1], _field_names(model, loc))}'
        problems.append(f"{field}: {message}")
    more = len(exc.errors()) - len(problems)
    tail = f" (and {more} more)" if more > 0 else ""
    return f"{origin}: " + "; ".join(problems) + tail


def _field_names(model: type[BaseModel], loc: list[str]) -> list[str]:
    """Field names that are valid where an unknown field was found (best effort)."""
    names: set[str] = set()
    for candidate in (
        Mapping,
        ReadOptions,
        SourceSpec,
        ColumnSpec,
        FilterSpec,
        TableMapping,
        DateDefaults,
        NumberFormat,
        model,
    ):
        for name, info in candidate.model_fields.items():
            names.add(info.alias or name)
    return sorted(names)


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """The choice most similar to `word`, if any is similar enough (difflib)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    if close:
        return close[0]
    lowered = {choice.lower(): choice for choice in choices}
    return lowered.get(word.lower())


# -- checks against the canonical model -----------------------------------------------------
_TABLES = {table.name: table for table in TABLES if table.kind != "system"}


def check_mapping(mapping: Mapping, origin: str) -> None:
    """Check table and column names, required columns, constants and formats."""
    for zone in (mapping.dates.time_zone,):
        if zone:
            _zone(zone, f"{origin}: dates.time_zone")
    for table_name, spec in mapping.tables.items():
        where = f"{origin}: tables.{table_name}"
        if table_name not in _TABLES:
            raise ConfigError(
                f'{where}: "{table_name}" is not a canonical table'
                f"{_suggest(table_name, tuple(_TABLES))} (see docs/data-model.md)"
            )
        table = _TABLES[table_name]
        _check_source(mapping, spec, where)
        for column_name, column_spec in spec.columns.items():
            if not table.has_column(column_name):
                raise ConfigError(
                    f'{where}.columns: {table_name} has no column "{column_name}"'
                    f"{_suggest(column_name, table.column_names)}"
                )
            _check_column(table.column(column_name), column_spec, f"{where}.columns.{column_name}")
        _check_required(mapping, table, spec, where)


def _check_source(mapping: Mapping, spec: TableMapping, where: str) -> None:
    names = list(mapping.sources) + list(getattr(mapping, "views", {}))
    if spec.source is None:
        if len(names) > 1:
            raise ConfigError(f"{where}: set source: to one of {', '.join(names)}")
        return
    if spec.source not in names:
        raise ConfigError(
            f'{where}.source: "{spec.source}" is not a source of this mapping'
            f"{_suggest(spec.source, names)} (declare it under sources:)"
        )


def _check_column(column: Column, spec: ColumnSpec, where: str) -> None:
    allowed = column.allowed_values
    if spec.value is not None:
        _check_constant(column, spec.value, f"{where}.value")
    if spec.default is not None:
        _check_constant(column, spec.default, f"{where}.default")
    if spec.map and allowed:
        for source_value, target in spec.map.items():
            if target is not None and _as_text(target) not in allowed:
                raise ConfigError(
                    f'{where}.map: "{source_value}" maps to "{target}", which is not an allowed '
                    f"{column.name} (use one of {', '.join(allowed)})"
                )
    if spec.formats and column.type not in ("date", "timestamp"):
        raise ConfigError(f"{where}.format: only date and timestamp columns take a format")
    if spec.time_zone:
        _zone(spec.time_zone, f"{where}.time_zone")
    if spec.hash and column.type != "string":
        raise ConfigError(f"{where}.hash: only text columns can be pseudonymized")
    if spec.divide_by and column.type not in ("int", "float", "money"):
        raise ConfigError(f"{where}.divide_by: only numeric columns can be divided")
    if any(fmt in EPOCH_FORMATS for fmt in spec.formats) and len(spec.formats) > 1:
        raise ConfigError(f"{where}.format: an epoch format cannot be combined with others")


def _check_constant(column: Column, value: Scalar, where: str) -> None:
    allowed = column.allowed_values
    if allowed and _as_text(value) not in allowed:
        raise ConfigError(
            f'{where}: "{value}" is not an allowed {column.name} (use one of {", ".join(allowed)})'
        )
    numeric = column.type in ("int", "float", "money")
    if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigError(f'{where}: "{value}" is not a number')
    if column.type == "bool" and not isinstance(value, bool):
        raise ConfigError(f'{where}: "{value}" is not true or false')


def _check_required(mapping: Mapping, table: Table, spec: TableMapping, where: str) -> None:
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


def _zone(name: str, where: str) -> None:
    try:
        validate_time_zone(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
