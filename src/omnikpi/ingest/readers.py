"""Reading export files into DuckDB: CSV (any delimiter and encoding), Parquet, JSON Lines, XLSX.

Each source becomes one temporary relation with the file's columns plus `_source` (file
name) and `_row` (1 = first data row after the header), so every later error can point at a
row. Text formats are read as text (`all_varchar`) and converted by the mapping, which is
what lets a bad value be quarantined instead of failing the whole file.

Text files are read on every thread into a temporary table: with DuckDB's
`preserve_insertion_order` (its default) the table keeps the file's order, so a row's
`rowid` is its place in the file, whatever thread parsed it. (`row_number() OVER ()` over
the parallel reader would number them too, but reads the file on one thread; it is what
the reader does where that setting is off.) Parquet is read where it lies, numbered by its
own `file_row_number`.

A single text file that only one table reads (no view, no filter) is not even copied: its
relation reads the file where it lies, and the table's stage, filled in file order on
every thread, numbers and counts its rows (`SourceTable.read_when_staged`).

Rows a text file holds that cannot be read as rows (too long, too many or too few
fields, a quote never closed, a line that is no JSON object) are kept apart with their
row numbers (`rejects.py`) for validation to quarantine; the file's other rows are read.
An empty file (no byte but white space) is refused: it has no header to check the
mapping against. A header without rows is an export with no rows, and reads as such.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from omnikpi.errors import ConfigError, DataError
from omnikpi.ingest.encoding import (
    detect_encoding,
    normalize_encoding,
    open_binary,
    readable_by_duckdb,
)
from omnikpi.ingest.mapping import FileFormat, ReadOptions
from omnikpi.ingest.rejects import (
    LongLine,
    collect_rejects,
    has_rejects,
    long_lines,
    read_json_lines,
    reject_options,
    rejected_relation,
    rejects_table,
    renumbered,
    without_lines,
)
from omnikpi.ingest.sql import Params, ViewValues, ident
from omnikpi.ingest.workbooks import xlsx_batches
from omnikpi.warehouse import Warehouse

_SUFFIX_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".dat": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
#: Separator no text file uses: a whitespace-separated file is read one line per row.
_LINE_SEPARATOR = "\x1e"
#: Bytes read to tell an empty file (white space, byte-order marks) from one with text.
_EMPTY_SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class SourceTable:
    """A source read into DuckDB: its temporary relation, columns (name → type) and rows;
    `missing` for an optional source that got no file (no rows, its declared columns).

    `read_when_staged`: the format of the one text file the relation reads where it lies;
    its `_row` is empty and `rows` 0 until the table built on it is staged, which numbers
    and counts the rows (and meets any error further in the file); `reread` reads it
    again the usual way, for a stage that met an error or rows it could not read.

    `rejected`: relations of the rows that could not be read as rows
    (`rejects.REJECTED_COLUMNS`), `rejected_rows` of them; `rows` counts the others.
    """

    name: str
    relation: str
    files: tuple[Path, ...]
    columns: dict[str, str]
    rows: int
    missing: bool = False
    read_when_staged: FileFormat | None = None
    rejected: tuple[str, ...] = ()
    rejected_rows: int = 0
    reread: Callable[[], SourceTable] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The source's file names, for messages."""
        return ", ".join(path.name for path in self.files) or self.name


def file_format(path: Path, options: ReadOptions) -> FileFormat:
    """The format of `path`: `read.format` if set, else from the file name."""
    if options.format:
        return options.format
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffixes[-1]]
    raise ConfigError(
        f"{path.name}: cannot tell the file format from its name "
        "(set read.format to csv, parquet, jsonl or xlsx in the mapping)"
    )


def read_files(
    warehouse: Warehouse,
    name: str,
    files: Iterable[Path],
    options: ReadOptions,
    workdir: Path,
    *,
    once: bool = False,
) -> SourceTable:
    """Read `files` (same columns) into one temporary relation named after the source.

    `once`: the rows are read once, by the stage of one table without a filter; a single
    CSV or JSON Lines file is then read where it lies (see `SourceTable.read_when_staged`).
    """
    paths = tuple(files)
    relation = f"_src_{name}"
    if once and (in_place := _read_in_place(warehouse, name, paths, options, workdir)):
        return in_place
    parts: list[str] = []
    rejected: list[str] = []
    rejected_rows = 0
    first_columns: dict[str, str] | None = None
    for index, path in enumerate(paths):
        if not path.is_file():
            raise ConfigError(f"{path}: no such file")
        read = f"{relation}_{index}"
        part, rejects = _adjust_columns(warehouse, read, path, options, workdir, False)
        if rejects:
            rejected.append(rejected_relation(read))
            rejected_rows += rejects
        columns = describe(warehouse, part)
        if first_columns is not None and set(columns) != set(first_columns):
            missing = sorted(set(first_columns) - set(columns))
            extra = sorted(set(columns) - set(first_columns))
            raise DataError(
                f"{path.name}: columns differ from {paths[0].name} (missing {missing}, "
                f"extra {extra}); load files with different layouts separately"
            )
        first_columns = first_columns or columns
        parts.append(part)
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {ident(p)}" for p in parts)
    warehouse.run_sql(f"CREATE OR REPLACE TEMP VIEW {ident(relation)} AS {union}")
    source = source_table(warehouse, name, relation, paths)
    return replace(source, rejected=tuple(rejected), rejected_rows=rejected_rows)


def staged_with_rejects(warehouse: Warehouse, source: SourceTable) -> bool:
    """Whether staging a source read where it lies met rows it could not read."""
    return source.read_when_staged is not None and has_rejects(warehouse, f"{source.relation}_0")


def _read_in_place(
    warehouse: Warehouse, name: str, paths: tuple[Path, ...], options: ReadOptions, workdir: Path
) -> SourceTable | None:
    """A single CSV or JSON Lines file as a view reading it where it lies, if DuckDB keeps
    the order of what it reads (the stage numbers the rows by it); else None."""
    if len(paths) != 1 or not paths[0].is_file() or not _keeps_order(warehouse):
        return None
    fmt = file_format(paths[0], options)
    if fmt not in ("csv", "jsonl") or options.delimiter == "whitespace":
        return None
    if fmt == "csv" and long_lines(paths[0]):  # read from a copy without them
        return None
    relation = f"_src_{name}"
    try:
        part, _ = _adjust_columns(warehouse, f"{relation}_0", paths[0], options, workdir, True)
    except DataError:  # read the usual way, which keeps unreadable rows apart or says why
        return None
    warehouse.run_sql(f"CREATE OR REPLACE TEMP VIEW {ident(relation)} AS FROM {ident(part)}")
    columns = {
        c: t for c, t in describe(warehouse, relation).items() if c not in ("_source", "_row")
    }

    def reread() -> SourceTable:
        return read_files(warehouse, name, paths, options, workdir)

    return SourceTable(name, relation, paths, columns, 0, read_when_staged=fmt, reread=reread)


def _adjust_columns(
    warehouse: Warehouse,
    part: str,
    path: Path,
    options: ReadOptions,
    workdir: Path,
    in_place: bool,
) -> tuple[str, int]:
    """Read one file, applying `read.rename` and `read.fill_missing`; returns its relation
    and how many of its rows could not be read (see `rejects.py`)."""
    rejected = _read_file(warehouse, part, path, options, workdir, in_place)
    present = describe(warehouse, part)
    renames = [
        f"{ident(old)} AS {ident(new)}"
        for old, new in options.rename.items()
        if old in present and new not in present
    ]
    names = set(present) | {new for old, new in options.rename.items() if old in present}
    added = [f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in options.fill_missing if c not in names]
    if not renames and not added:
        return part, rejected
    columns = ", ".join([f"* RENAME ({', '.join(renames)})" if renames else "*", *added])
    adjusted = f"{part}_adjusted"
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP VIEW {ident(adjusted)} AS SELECT {columns} FROM {ident(part)}"
    )
    return adjusted, rejected


def read_arrow(
    warehouse: Warehouse,
    name: str,
    label: str,
    batches: Iterable[pa.Table | pa.RecordBatch],
) -> SourceTable:
    """Load Arrow batches (a database cursor, a spreadsheet) into a temporary source table."""
    relation = f"_src_{name}"
    _load_batches(warehouse, relation, label, batches)
    return source_table(warehouse, name, relation, ())


def empty_source(warehouse: Warehouse, name: str, columns: Sequence[str]) -> SourceTable:
    """An optional source that got no file: no rows, but the declared columns."""
    relation = f"_src_{name}"
    fields = ", ".join(f"{ident(c)} VARCHAR" for c in columns)
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(relation)} (_source VARCHAR, _row BIGINT, {fields})"
    )
    return replace(source_table(warehouse, name, relation, ()), missing=True)


def source_table(
    warehouse: Warehouse, name: str, relation: str, files: tuple[Path, ...]
) -> SourceTable:
    """Describe an already loaded source relation."""
    columns = {
        c: t for c, t in describe(warehouse, relation).items() if c not in ("_source", "_row")
    }
    rows = warehouse.fetch_value(f"SELECT count(*) FROM {ident(relation)}")
    return SourceTable(name, relation, files, columns, int(rows or 0))


def rows_checksum(warehouse: Warehouse, relation: str) -> str:
    """A checksum of a source's rows that does not depend on their order or batching.

    The sum of DuckDB's 64-bit row hashes, with the row count: for sources that are not
    files (a database query), where there are no bytes to hash.
    """
    row = warehouse.fetch_row(
        "SELECT count(*), coalesce(sum(CAST(hash(t) AS HUGEINT)), 0) "
        f"FROM (SELECT * EXCLUDE (_source, _row) FROM {ident(relation)}) t"
    )
    count, total = (int(row[0]), int(row[1])) if row else (0, 0)
    return f"rows:{count}:{total:x}"


def sniff_csv(warehouse: Warehouse, path: Path, workdir: Path) -> tuple[str, bool]:
    """The delimiter of a CSV file and whether it has a header, as DuckDB detects them."""
    refuse_empty(path)
    sample, _ = _without_long_lines(path, ReadOptions(), workdir)  # they defeat the sniffer
    readable, encoding = readable_by_duckdb(sample, "auto", workdir)
    try:
        row = warehouse.fetch_row(
            # ignore_errors: rows the load will quarantine do not hide the dialect
            "SELECT Delimiter, HasHeader FROM sniff_csv($p, encoding = $e, ignore_errors = true)",
            {"p": str(readable), "e": encoding},
        )
    except duckdb.Error as exc:  # the warehouse passes DuckDB's own errors on
        raise DataError(_read_error(path, "csv", exc)) from None
    return (str(row[0]), bool(row[1])) if row else (",", True)


def describe(warehouse: Warehouse, relation: str) -> dict[str, str]:
    """Column name → DuckDB type of a table or view."""
    rows = warehouse.fetch_rows(f"DESCRIBE {ident(relation)}")
    return {str(r[0]): str(r[1]) for r in rows}


# -- one file --------------------------------------------------------------------------------
def _read_file(
    warehouse: Warehouse,
    table: str,
    path: Path,
    options: ReadOptions,
    workdir: Path,
    in_place: bool = False,
) -> int:
    """Read one file into `table`; `in_place`: a view reading a text file where it lies.

    Returns how many rows of a text file could not be read as rows (kept apart in
    `rejects.rejected_relation(table)`; a file read in place keeps them in
    `rejects.rejects_table(table)` when it is staged).
    """
    fmt = file_format(path, options)
    refuse_empty(path)
    for name in (table, rejects_table(table), f"{table}_rejects_scan", rejected_relation(table)):
        _drop_temporary(warehouse, name)  # left by an earlier read of the same part
    if fmt == "xlsx":
        _load_batches(warehouse, table, path.name, xlsx_batches(path, options), label_column=True)
        return 0
    if fmt == "parquet":
        _parquet_view(warehouse, table, path)
        return 0
    long: list[LongLine] = []
    name = path.name
    if fmt == "csv" and options.delimiter != "whitespace":
        path, long = _without_long_lines(path, options, workdir)
    if in_place:  # a file with long lines is not read in place (see _read_in_place)
        values = ViewValues()
        scan = _text_scan(fmt, path, options, workdir, values, table)
        sql = (
            f"CREATE OR REPLACE TEMP VIEW {ident(table)} AS SELECT {values.add(name)} "
            f"AS _source, CAST(NULL AS BIGINT) AS _row, * FROM {scan}"
        )
        try:
            values.bind(warehouse)  # before the view that reads them is created
            warehouse.run_sql(sql)
        except duckdb.Error as exc:  # the warehouse passes DuckDB's own errors on
            raise DataError(_read_error(path, fmt, exc)) from None
        return 0
    in_order = _keeps_order(warehouse)
    text = f"{table}_text"
    numbered = "" if in_order else "row_number() OVER () AS _row, "
    params = Params()
    scan = _text_scan(fmt, path, options, workdir, params, table)
    try:
        warehouse.run_sql(
            f"CREATE OR REPLACE TEMP TABLE {ident(text)} AS SELECT {numbered}* FROM {scan}",
            params.values,
        )
    except duckdb.Error as exc:  # the warehouse passes DuckDB's own errors on
        if fmt != "jsonl":
            raise DataError(_read_error(path, fmt, exc)) from None
        # a line read_json cannot read: read the file line by line, keep the bad ones apart
        try:
            rejected = read_json_lines(warehouse, text, table, path, workdir)
        except duckdb.Error as again:
            raise DataError(_read_error(path, fmt, again)) from None
        _text_view(warehouse, table, name, f"SELECT * FROM {ident(text)}")
        return rejected
    rejected = 0
    if long or (fmt == "csv" and has_rejects(warehouse, table)):
        lines_before = options.skip_rows + (1 if options.header else 0)
        rejected = collect_rejects(warehouse, table, name, lines_before, long)
    if rejected:
        rows = renumbered(text, table, numbered=not in_order)
    elif in_order:
        rows = f"SELECT rowid + 1 AS _row, * FROM {ident(text)}"
    else:
        rows = f"SELECT * FROM {ident(text)}"
    _text_view(warehouse, table, name, rows)
    return rejected


def _without_long_lines(
    path: Path, options: ReadOptions, workdir: Path
) -> tuple[Path, list[LongLine]]:
    """The file to read (a copy, decompressed, without its lines longer than
    rejects.MAX_ROW_BYTES, if it has some) and those lines."""
    long = long_lines(path)
    if not long:
        return path, []
    auto = options.encoding == "auto"
    codec = detect_encoding(path) if auto else normalize_encoding(options.encoding)
    if codec == "utf-16":  # two bytes a character: lines cannot be cut out by their bytes
        return path, []
    copy = workdir / f"long-rows-out-{path.name.removesuffix('.gz')}"
    return without_lines(path, long, copy), long


def _text_view(warehouse: Warehouse, view: str, file_name: str, rows: str) -> None:
    """The view of a text file's rows (`_row` and its columns), with `_source`."""
    values = ViewValues()
    sql = f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS SELECT {values.add(file_name)} "
    sql += f"AS _source, * FROM ({rows})"
    values.bind(warehouse)  # before the view that reads them is created
    warehouse.run_sql(sql)


def refuse_empty(path: Path) -> None:
    """A file without a byte of text has no header to check a mapping against: DataError.

    White space and byte-order marks are no text; a header without rows is an export with
    no rows, and reads as such.
    """
    with open_binary(path) as stream:
        sample = stream.read(_EMPTY_SAMPLE_BYTES)
    if len(sample) == _EMPTY_SAMPLE_BYTES or sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        return
    what = "is empty (0 bytes)" if not sample else "holds nothing but white space"
    raise DataError(
        f"{path.name} {what}: there is nothing to load, not even a header (export it again, "
        "or leave it out of the load)"
    )


def _text_scan(
    fmt: FileFormat,
    path: Path,
    options: ReadOptions,
    workdir: Path,
    params: Params | ViewValues,
    part: str,
) -> str:
    """The table function reading a CSV, whitespace-separated or JSON Lines file; rows a
    CSV reader cannot read are kept in `rejects.rejects_table(part)`."""
    if fmt == "csv" and options.delimiter == "whitespace":
        return _whitespace_scan(path, options, workdir, params)
    if fmt == "csv":
        return _csv_scan(path, options, workdir, params, part)
    return f"read_json({params.add(str(path))}, format = 'auto')"


def _keeps_order(warehouse: Warehouse) -> bool:
    """Whether DuckDB writes a table's rows in the order it reads them (its default)."""
    setting = warehouse.fetch_value("SELECT current_setting('preserve_insertion_order')")
    return bool(setting)


def _drop_temporary(warehouse: Warehouse, name: str) -> None:
    """Drop a temporary table or view left by an earlier read on this connection."""
    for kind, catalog in (("VIEW", "duckdb_views()"), ("TABLE", "duckdb_tables()")):
        found = warehouse.fetch_value(
            f"SELECT count(*) FROM {catalog} WHERE temporary AND {kind.lower()}_name = $n",
            {"n": name},
        )
        if found:
            warehouse.run_sql(f"DROP {kind} temp.{ident(name)}")


def _parquet_view(warehouse: Warehouse, view: str, path: Path) -> None:
    """Parquet is read where it lies (a view): scans are parallel and cheap to repeat.

    An SQL view rather than a DuckDB relation's: those cannot be created on a warehouse
    opened read-only, as a dry run opens it.
    """
    values = ViewValues()
    sql = (
        f"CREATE OR REPLACE TEMP VIEW {ident(view)} AS SELECT {values.add(path.name)} "
        "AS _source, file_row_number + 1 AS _row, * EXCLUDE (file_row_number) "
        f"FROM read_parquet({values.add(str(path))}, file_row_number = true)"
    )
    try:
        values.bind(warehouse)
        warehouse.run_sql(sql)
    except duckdb.Error as exc:  # the warehouse passes DuckDB's own errors on
        raise DataError(_read_error(path, "parquet", exc)) from None


def _csv_scan(
    path: Path, options: ReadOptions, workdir: Path, params: Params | ViewValues, part: str
) -> str:
    readable, encoding = readable_by_duckdb(path, options.encoding, workdir)
    args = [
        params.add(str(readable)),
        "all_varchar = true",
        f"header = {params.add(options.header)}",
        f"skip = {params.add(options.skip_rows)}",
        f"encoding = {params.add(encoding)}",
        *reject_options(part, params),
    ]
    if options.delimiter:
        args.append(f"delim = {params.add(options.delimiter)}")
    if options.columns:
        args.append(f"names = {params.add(list(options.columns))}")
    return f"read_csv({', '.join(args)})"


def _whitespace_scan(
    path: Path, options: ReadOptions, workdir: Path, params: Params | ViewValues
) -> str:
    """Columns separated by runs of spaces or tabs (e.g. the CDNOW files)."""
    readable, encoding = readable_by_duckdb(path, options.encoding, workdir)
    with open_binary(readable) as stream:
        lines = [line for line in stream.read(1 << 16).decode(encoding).splitlines() if line]
    if not lines:
        raise DataError(f"{path.name}: the file is empty")
    first = lines[min(options.skip_rows, len(lines) - 1)].split()
    if options.columns:
        names = list(options.columns)
    elif options.header:
        names = first
    else:
        names = [f"column{i}" for i in range(len(first))]
    skip = options.skip_rows + (1 if options.header else 0)
    read = (
        f"read_csv({params.add(str(readable))}, header = false, all_varchar = true, "
        f"delim = {params.add(_LINE_SEPARATOR)}, quote = '', escape = '', "
        f"columns = {{'line': 'VARCHAR'}}, skip = {params.add(skip)}, parallel = false, "
        # Mixed line endings (CRLF lines, then a last LF line) defeat the strict sniffer;
        # stray carriage returns are trimmed with the other white space below.
        "strict_mode = false, "
        f"encoding = {params.add(encoding)})"
    )
    fields = ", ".join(f"parts[{i + 1}] AS {ident(n)}" for i, n in enumerate(names))
    return (
        f"(SELECT {fields} FROM (SELECT regexp_split_to_array(line, '\\s+') AS parts "
        f"FROM (SELECT regexp_replace(line, '^\\s+|\\s+$', '', 'g') AS line FROM {read}) "
        "WHERE line <> ''))"
    )


def _read_error(path: Path, fmt: FileFormat, exc: duckdb.Error) -> str:
    message = str(exc).strip().splitlines()[0]
    hints = {
        "csv": "check read.delimiter, read.header and read.encoding in the mapping",
        "parquet": "is it a Parquet file? set read.format in the mapping",
        "jsonl": "JSON Lines files hold one JSON object per line",
        "xlsx": "is it an .xlsx workbook?",
    }
    if "unicode" in message.lower() or "utf-8" in message.lower():
        hints["csv"] = "set read.encoding in the mapping, e.g. cp949 for Korean Excel exports"
    return f"{path.name}: cannot be read as {fmt} ({message}; {hints[fmt]})"


# -- Arrow batches (workbooks, databases) ---------------------------------------------------
def _load_batches(
    warehouse: Warehouse,
    table: str,
    label: str,
    batches: Iterable[pa.Table | pa.RecordBatch],
    label_column: bool = False,
) -> None:
    """Append batches to a temporary table; a `_source` column in a batch names its part."""
    first = True
    start = 1
    view = f"{table}_batch"
    part = None
    for batch in batches:
        rows = batch.num_rows
        arrow = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if label_column and "_source" in arrow.column_names:
            name = arrow.column("_source")[0].as_py() if rows else part
            start = 1 if name != part else start
            part = name
            arrow = arrow.drop_columns(["_source"])
            labels = pa.array([f"{label}:{part}"] * rows, pa.string())
        else:
            labels = pa.array([label] * rows, pa.string())
        arrow = arrow.add_column(0, "_row", pa.array(range(start, start + rows), pa.int64()))
        arrow = arrow.add_column(0, "_source", labels)
        with warehouse.registered(view, arrow):
            if first:
                warehouse.run_sql(
                    f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS FROM {ident(view)}"
                )
            else:
                warehouse.run_sql(f"INSERT INTO {ident(table)} BY NAME FROM {ident(view)}")
        first = False
        start += rows
    if first:
        raise DataError(
            f"{label} is empty: no header, no rows (there is nothing to load; export it "
            "again, or leave it out of the load)"
        )
