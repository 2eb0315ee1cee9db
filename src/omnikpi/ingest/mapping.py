"""Mapping files: how the columns of a retailer's export become canonical columns.

A mapping is YAML validated by pydantic, then checked against the canonical model, so a
typo fails before any data is read, with the file, the field and the fix in the message.
"""

from __future__ import annotations

from datetime import date
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
from omnikpi.ingest.bounds import Limit
from omnikpi.ingest.locations import Where, yaml_lines
from omnikpi.ingest.mapping_checks import as_text, check_mapping, suggest

Scalar = str | int | float | bool
FileFormat = Literal["csv", "parquet", "jsonl", "xlsx"]
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


def _date_as_text(value: Any) -> Any:
    """YAML reads `2024-01-01` as a date; a mapping's values are text, numbers or booleans
    (a date as a constant is refused with its own message, see mapping_checks)."""
    return value.isoformat() if isinstance(value, date) else value


#: A constant, default or value of a mapping.
Value = Annotated[Scalar, BeforeValidator(_date_as_text)]


def _text_keys(value: Any) -> Any:
    """YAML reads `1: web` with an integer key; value maps compare text."""
    if isinstance(value, dict):
        return {as_text(key): item for key, item in value.items()}
    return value


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
    value: Value | None = None
    map: Annotated[dict[str, Value | None] | None, BeforeValidator(_text_keys)] = None
    default: Value | None = None
    format: str | tuple[str, ...] | None = None
    time_zone: str | None = None
    divide_by: float | None = Field(None, gt=0)
    hash: bool = False
    earliest: Limit | None = Field(
        None, description="First allowed date or time (YYYY-MM-DD, today, today - 30 days)."
    )
    latest: Limit | None = Field(
        None, description="Last allowed date or time (YYYY-MM-DD, today, today + 1 year)."
    )

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
    in_: tuple[Value, ...] | None = Field(None, alias="in")
    not_in: tuple[Value, ...] | None = None
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
    _lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)

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

    def where(self, *path: str) -> Where:
        """A field of the mapping, for messages: file, line and path."""
        return Where(self._origin, self._lines).at(*path)


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
    document, lines = read_yaml(path)
    return parse_mapping(document, origin=path.name, lines=lines)


def parse_mapping(
    document: Any, origin: str = "mapping", lines: dict[tuple[str, ...], int] | None = None
) -> Mapping:
    """Validate a parsed YAML document as a user mapping; `lines` (see `read_yaml`) let
    messages name the line of a field."""
    mapping = _validate(Mapping, document, origin, lines or {})
    check_mapping(mapping)
    return mapping


def parse_preset(
    document: Any, origin: str, lines: dict[tuple[str, ...], int] | None = None
) -> PresetMapping:
    """Validate a packaged preset document."""
    preset = _validate(PresetMapping, document, origin, lines or {})
    check_mapping(preset)
    for field, view in preset.data_settings.model_dump().items():
        if view is not None and view not in preset.views:
            where = preset.where("data_settings", field)
            raise ConfigError(f'{where}: "{view}" is not one of its views')
    return preset


def read_yaml(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """A YAML file's document and the line of each of its fields; ConfigError names the
    line of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text), yaml_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path.name}{where}: not valid YAML ({problem})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: mapping files must be UTF-8 text") from None


def _validate(model: type[M], document: Any, origin: str, lines: dict[tuple[str, ...], int]) -> M:
    if not isinstance(document, dict):
        raise ConfigError(f"{origin}: a mapping is a YAML document with a tables: section")
    try:
        parsed = model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, Where(origin, lines), model)) from None
    if isinstance(parsed, Mapping):
        parsed._origin = origin
        parsed._lines = lines
    return parsed


def _describe(exc: ValidationError, where: Where, model: type[BaseModel]) -> str:
    """The first problems pydantic found, the first with its line: one line in all."""
    found: dict[str, str] = {}  # field → message, a union's failed members once
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
        if loc and loc[-1] in _SCALAR_MEMBERS and error["type"] in _SCALAR_ERRORS:
            loc, message = loc[:-1], "is not text, a number or true/false"
        else:
            message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f'unknown field "{loc[-1]}"{suggest(loc[-1], _field_names(model, loc))}'
        found.setdefault(".".join(loc) or "(top level)", message)
    problems = [f"{field}: {message}" for field, message in list(found.items())[:3]]
    more = len(found) - len(problems)
    tail = f" (and {more} more)" if more > 0 else ""
    first = next(iter(found), "")
    line = where.at(*first.split(".")).line
    place = where.origin if line is None else f"{where.origin} line {line}"
    return f"{place}: " + "; ".join(problems) + tail


#: How pydantic names the members of `Scalar` in an error's location, and their errors.
_SCALAR_MEMBERS = ("str", "int", "float", "bool")
_SCALAR_ERRORS = ("string_type", "int_type", "float_type", "bool_type")


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
