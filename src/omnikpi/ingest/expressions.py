"""Turn a table mapping into one SELECT that converts source rows to the canonical table.

The SELECT gives, per row, the source file and row number, every canonical column
converted to its model type, and the source text of each mapped column (`<column>__raw`),
so validation can say which value failed and why (`validate.py` stages it). Values from
the mapping (constants, value maps, formats, zones) are always bound as parameters, never
pasted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from omnikpi.errors import DataError
from omnikpi.ingest.bounds import Limit
from omnikpi.ingest.formats import EPOCH_FORMATS, is_zoned
from omnikpi.ingest.locations import Where
from omnikpi.ingest.mapping import ColumnSpec, Mapping, TableMapping
from omnikpi.ingest.mapping_checks import closest
from omnikpi.ingest.readers import SourceTable
from omnikpi.ingest.sql import Params, ident
from omnikpi.model import Column, Table

SQL_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "money": "DECIMAL(18,2)",
}
_NUMERIC = ("int", "float", "money")
#: Columns a preset view adds to send a row it cannot map to quarantine with its own reason.
FLAG_COLUMNS = ("_problem", "_problem_column", "_problem_value")
#: Column a preset view adds to set a row aside: not an error, but not a row of the table
#: (a stock adjustment written as an invoice); its value is the reason the report counts.
SET_ASIDE_COLUMN = "_set_aside"
_OFFSET_PATTERN = r"\d[T ]\d.*(Z|[+-]\d{2}(:?\d{2})?)$"
#: Source text of a placeholder date: a year 0001 or 9999 standing alone (0001-01-01,
#: 31.12.9999, 9999-12-31 23:59:59) or leading a compact date (99991231).
PLACEHOLDER_TEXT = r"(^|[^0-9])(0001|9999)([^0-9]|$)|^(0001|9999)[0-9]{4}"
#: Times outside these bounds written as placeholders for "no date" (0001-01-01,
#: 9999-12-31, in any zone) are loaded as unknown (NULL): they are no time and no engine
#: could date them. Other times out there are quarantined by the column's bounds.
PLACEHOLDER_BEFORE = datetime(2, 1, 2, tzinfo=UTC)
PLACEHOLDER_FROM = datetime(9998, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class ColumnPlan:
    """How one canonical column is staged and what to say when its value fails."""

    column: Column
    value: str
    source_sql: str | None = None
    text: str | None = None
    source_column: str | None = None
    failure: str | None = None
    source_is_text: bool = True
    earliest: Limit | None = None
    latest: Limit | None = None
    #: Pseudonymised (`hash: true`): messages show the keyed hash, never the source text.
    hashed: bool = False

    @property
    def label(self) -> str:
        """The column name users know: the source column, else the canonical one."""
        return self.source_column or self.column.name

    @property
    def raw_name(self) -> str:
        """Column of the converted rows holding the source value as read."""
        return f"{self.column.name}__raw"

    @property
    def text_name(self) -> str:
        """Column of the converted rows holding the text after defaults and value maps."""
        return f"{self.column.name}__text"

    @property
    def is_empty(self) -> bool:
        """Whether the column is always empty: the mapping gives it no column and no value."""
        return self.source_sql is None and self.value.startswith("CAST(NULL")

    @property
    def is_source_text(self) -> bool:
        """Whether the converted value is the source text itself (no map, default or hash)."""
        return self.source_sql is not None and self.value == ident(self.raw_name)

    @property
    def checked_text(self) -> str | None:
        """SQL (over the converted rows, without parameters) of the text that was converted."""
        if self.source_sql is None:
            return None
        if self.text is not None:
            return ident(self.text_name)
        if self.source_is_text:
            return ident(self.raw_name)
        return f"NULLIF(TRIM(CAST({ident(self.raw_name)} AS VARCHAR)), '')"


@dataclass(frozen=True)
class StagePlan:
    """The SELECT converting one table's source rows, its parameters and column plans.

    `relation` is the temporary table validation stages the rows in; `numbers_rows` when
    the source leaves `_row` empty (a file read where it lies): the stage, filled in the
    file's order, numbers them. `rejected`: relations of the source's rows that could not
    be read as rows (`rejects.py`), quarantined for this table too.
    """

    table: Table
    relation: str
    select: str
    params: dict[str, object]
    columns: tuple[ColumnPlan, ...]
    flagged: bool = False
    sets_aside: bool = False
    time_zone: str = "UTC"
    numbers_rows: bool = False
    rejected: tuple[str, ...] = ()

    def plan(self, name: str) -> ColumnPlan:
        """The plan of canonical column `name`."""
        return next(p for p in self.columns if p.column.name == name)


@dataclass(frozen=True)
class Context:
    """What the conversions need beyond the mapping: zone and pseudonymization key."""

    mapping: Mapping
    time_zone: str
    hash_key: str | None


def plan_stage(
    table: Table, spec: TableMapping, source: SourceTable, context: Context
) -> StagePlan:
    """The SELECT converting the rows of `source` to `table` as `spec` says."""
    # a source whose stage numbers its rows is read whole: a filter would skip some
    assert source.read_when_staged is None or spec.filter is None
    params = Params()
    where = context.mapping.where("tables", table.name, "columns")
    inner = ["_source", "_row"]
    middle = ["*"]
    plans = []
    converted: dict[str, str] = {}
    for column in table.columns:
        column_spec = spec.columns.get(column.name)
        at = where.at(column.name)
        plan = _plan_column(column, column_spec, source, context, params, at, converted)
        if plan.source_sql is not None:
            inner.append(f"{plan.source_sql} AS {ident(plan.raw_name)}")
        if plan.text is not None:
            middle.append(f"{plan.text} AS {ident(plan.text_name)}")
        plans.append(plan)
    flagged = all(c in source.columns for c in FLAG_COLUMNS)
    sets_aside = SET_ASIDE_COLUMN in source.columns
    markers = [*(FLAG_COLUMNS if flagged else ()), *([SET_ASIDE_COLUMN] if sets_aside else [])]
    inner += [f"s.{ident(c)}" for c in markers]
    outer = ["_source", "_row", *markers]
    outer += [f"{p.value} AS {ident(p.column.name)}" for p in plans]
    outer += [ident(p.raw_name) for p in plans if p.source_sql is not None]
    outer += [ident(p.text_name) for p in plans if p.text is not None]
    filter_sql = _filter(spec, source, params, context.mapping.where("tables", table.name))
    select = (
        f"SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(middle)} FROM (SELECT {', '.join(inner)} "
        f"FROM {ident(source.relation)} s{filter_sql}))"
    )
    placeholders = _without_placeholders([p for p in plans if is_placeholder_checked(p)], params)
    if placeholders:
        select = f"SELECT * REPLACE ({placeholders}) FROM ({select})"
    relation = f"_stage_{table.name}"
    return StagePlan(
        table,
        relation,
        select,
        params.used_in(select),
        tuple(plans),
        flagged,
        sets_aside,
        context.time_zone,
        numbers_rows=source.read_when_staged is not None,
        rejected=source.rejected,
    )


def is_placeholder_checked(plan: ColumnPlan) -> bool:
    """Whether a column's values may be placeholder dates: times read from the source."""
    return plan.column.type in ("date", "timestamp") and plan.source_sql is not None


def _without_placeholders(plans: list[ColumnPlan], params: Params) -> str:
    """SQL replacing placeholder times (years 1 and 9999 written so) by NULL in converted
    rows; the text of a time is only matched when the time lies in those years."""
    replaced = []
    for plan in plans:
        name = ident(plan.column.name)
        before, after = PLACEHOLDER_BEFORE, PLACEHOLDER_FROM
        if plan.column.type == "date":
            low, high = params.add(before.date()), params.add(after.date())
        else:
            low, high = params.add(before), params.add(after)
        text = plan.checked_text
        placeholder = f"regexp_matches({text}, {params.add(PLACEHOLDER_TEXT)})"
        replaced.append(
            f"CASE WHEN {name} >= {low} AND {name} < {high} THEN {name} "
            f"WHEN {placeholder} THEN NULL ELSE {name} END AS {name}"
        )
    return ", ".join(replaced)


def trimmed_text(text: str) -> str:
    """SQL of `text` without surrounding spaces, NULL when nothing is left.

    TRIM strips Unicode space separators, which in ASCII text is only " ", and it copies
    every value: values with no space to strip skip it, which most values are.
    """
    needs_trim = (
        f"starts_with({text}, ' ') OR ends_with({text}, ' ') OR strlen({text}) <> length({text})"
    )
    return f"NULLIF(CASE WHEN {needs_trim} THEN TRIM({text}) ELSE {text} END, '')"


def source_column_sql(name: str, source: SourceTable, where: Where) -> tuple[str, str]:
    """SQL and DuckDB type of source column `name` (a.b reads field b of struct a)."""
    if name in source.columns:
        return f"s.{ident(name)}", source.columns[name]
    head, _, rest = name.partition(".")
    if rest and source.columns.get(head, "").startswith("STRUCT"):
        path = ".".join(ident(part) for part in name.split("."))
        return f"s.{path}", "STRUCT_FIELD"
    match = closest(name, list(source.columns))
    hint = f'; closest match "{match}"' if match else ""
    raise DataError(
        f'{source.label}: column "{name}" ({where}) is not in the file{hint} '
        "(fix the column name in the mapping)"
    )


def _plan_column(
    column: Column,
    spec: ColumnSpec | None,
    source: SourceTable,
    context: Context,
    params: Params,
    where: Where,
    converted: dict[str, str],
) -> ColumnPlan:
    """How to stage `column`. A source value another column converts too (one date for
    placed_at and status_changed_at) is converted from the same raw column, so that
    DuckDB computes the conversion once (`converted`: raw SQL → raw column name)."""
    sql_type = SQL_TYPES[column.type]
    if spec is None:
        if column.name == "currency" and context.mapping.currency:
            return ColumnPlan(column, f"CAST({params.add(context.mapping.currency)} AS VARCHAR)")
        return ColumnPlan(column, f"CAST(NULL AS {sql_type})")
    if spec.value is not None:  # the mapping's checks refused dates as constants
        return ColumnPlan(column, f"CAST({params.add(spec.value)} AS {sql_type})")
    assert spec.column is not None  # the mapping guarantees column or value
    source_sql, source_type = source_column_sql(spec.column, source, where)
    raw_ref = ident(f"{column.name}__raw")
    is_text = source_type == "VARCHAR"
    raw = trimmed_text(source_sql) if is_text else source_sql
    typed = not is_text and spec.default is None and not spec.map
    mapped: str | None = None
    if not typed:
        text = raw_ref if is_text else f"NULLIF(TRIM(CAST({raw_ref} AS VARCHAR)), '')"
        if spec.default is not None:
            text = f"COALESCE({text}, {params.add(_text(spec.default))})"
        if spec.map:
            cases = " ".join(
                f"WHEN {params.add(key)} THEN "
                f"{'NULL' if target is None else params.add(_text(target))}"
                for key, target in spec.map.items()
            )
            text = f"(CASE {text} {cases} ELSE {text} END)"
        mapped = text if text != raw_ref else None
    if not mapped and column.type != "string":
        raw_ref = converted.setdefault(raw, raw_ref)
    x = raw_ref if typed else ident(f"{column.name}__text") if mapped else raw_ref
    value, failure = _convert(column, spec, x, typed, source_type, context, params)
    if spec.divide_by:  # TRY_CAST: a quotient beyond the type fails the row, not the load
        value = f"TRY_CAST({value} / {params.add(spec.divide_by)} AS {sql_type})"
    if spec.hash:
        assert context.hash_key, "mapping_checks.check_hash_key runs before any file is read"
        value = f"sha256({params.add(context.hash_key)} || lower({value}))"
    return ColumnPlan(
        column,
        value,
        raw,
        mapped,
        spec.column,
        failure,
        is_text,
        spec.earliest,
        spec.latest,
        spec.hash,
    )


def _convert(
    column: Column,
    spec: ColumnSpec,
    x: str,
    typed: bool,
    source_type: str,
    context: Context,
    params: Params,
) -> tuple[str, str | None]:
    """SQL converting `x` to the column's type, and the reason given when it fails."""
    kind = column.type
    if kind == "string":
        return (f"CAST({x} AS VARCHAR)" if typed else x), None
    if kind in ("date", "timestamp"):
        return _convert_time(column, spec, x, typed, source_type, context, params)
    if kind in _NUMERIC and not typed:
        x = _normalize_number(x, context.mapping, params)
    sql_type = SQL_TYPES[kind]
    reasons = {
        "int": "is not a whole number",
        "float": "is not a number",
        "money": "is not an amount (digits with a decimal point; set numbers: in the mapping "
        "for other separators)",
        "bool": "is not true or false (map its values with map: in the mapping)",
    }
    if kind == "money" and spec.divide_by:
        return f"TRY_CAST({x} AS DOUBLE)", reasons["float"]
    return f"TRY_CAST({x} AS {sql_type})", reasons[kind]


def _normalize_number(x: str, mapping: Mapping, params: Params) -> str:
    numbers = mapping.numbers
    if numbers.thousands:
        x = f"replace({x}, {params.add(numbers.thousands)}, '')"
    if numbers.decimal == ",":
        x = f"replace({x}, ',', '.')"
    return x


def _convert_time(
    column: Column,
    spec: ColumnSpec,
    x: str,
    typed: bool,
    source_type: str,
    context: Context,
    params: Params,
) -> tuple[str, str | None]:
    dates = context.mapping.dates
    is_date = column.type == "date"
    default_formats = dates.date_format if is_date else dates.format
    formats = spec.formats or (
        (default_formats,) if isinstance(default_formats, str) else (default_formats or ())
    )
    zone = params.add(spec.time_zone or dates.time_zone or context.time_zone)
    setting = (
        "format on the column"
        if spec.formats
        else ("dates.date_format" if is_date else "dates.format")
    )
    shown = " or ".join(formats)
    reason = f"is not a date in format {shown} (set {setting} in the mapping)"
    if typed and not formats:
        return _convert_typed_time(is_date, x, source_type, zone), (
            f"is not a {'date' if is_date else 'date and time'}"
        )
    if formats and formats[0] in EPOCH_FORMATS:
        number = f"TRY_CAST({x} AS DOUBLE)"
        divisor = {"epoch_s": "1", "epoch_ms": "1000", "epoch_us": "1000000"}[formats[0]]
        # try(): an epoch beyond DuckDB's timestamps fails its row (to_timestamp raises)
        instant = f"try(to_timestamp({number} / {divisor}))"
        reason = f"is not a Unix time in {formats[0].removeprefix('epoch_')}"
        return (f"CAST(timezone({zone}, {instant}) AS DATE)" if is_date else instant), reason
    if formats:
        zoned = [is_zoned(f) for f in formats]  # all or none (the mapping's checks)
        text = f"CAST({x} AS VARCHAR)" if typed else x
        # One try_strptime per format: DuckDB 1.5 accepts 2024-02-30 when given a list with %z
        tries = [f"try_strptime({text}, {params.add(fmt)})" for fmt in formats]
        parsed = tries[0] if len(tries) == 1 else f"coalesce({', '.join(tries)})"
        if is_date:
            local = f"timezone({zone}, {parsed})" if all(zoned) else parsed
            return f"CAST({local} AS DATE)", reason
        return (parsed if all(zoned) else f"timezone({zone}, {parsed})"), reason
    if is_date:
        value = f"COALESCE(TRY_CAST({x} AS DATE), CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE))"
        return value, "is not a date in format %Y-%m-%d (set dates.date_format in the mapping)"
    value = (
        f"(CASE WHEN regexp_matches({x}, {params.add(_OFFSET_PATTERN)}) "
        f"THEN TRY_CAST({x} AS TIMESTAMPTZ) ELSE timezone({zone}, TRY_CAST({x} AS TIMESTAMP)) END)"
    )
    return value, "is not a date and time in ISO form (set dates.format in the mapping)"


def _convert_typed_time(is_date: bool, x: str, source_type: str, zone: str) -> str:
    """Typed sources (Parquet, JSON, spreadsheets): naive times are in the source zone."""
    if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST(timezone({zone}, {x}) AS DATE)" if is_date else x
    if source_type.startswith("TIMESTAMP") or source_type == "DATE":
        if is_date:
            return f"CAST({x} AS DATE)"
        return f"timezone({zone}, CAST({x} AS TIMESTAMP))"
    text = f"NULLIF(TRIM(CAST({x} AS VARCHAR)), '')"
    if is_date:
        return f"TRY_CAST({text} AS DATE)"
    return f"timezone({zone}, TRY_CAST({text} AS TIMESTAMP))"


def _filter(spec: TableMapping, source: SourceTable, params: Params, where: Where) -> str:
    if spec.filter is None:
        return ""
    column_sql, _ = source_column_sql(spec.filter.column, source, where.at("filter", "column"))
    text = f"TRIM(CAST({column_sql} AS VARCHAR))"
    if spec.filter.in_ is not None:
        values = [_text(v) for v in spec.filter.in_]
        return f" WHERE list_contains({params.add(values)}, {text})"
    values = [_text(v) for v in spec.filter.not_in or ()]
    return f" WHERE COALESCE(NOT list_contains({params.add(values)}, {text}), true)"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
