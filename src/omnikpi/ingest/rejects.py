"""Rows a reader could not read: too long, with too many or too few fields, a quote never
closed, bytes not in the file's encoding, a JSON Lines line that is no JSON object.

A file is not rejected for them: DuckDB's CSV reader keeps such rows apart
(`store_rejects`), JSON Lines files with one are read again line by line, and each
becomes a rejected row with its row number, the start of its text and the reason
(`REJECTED_COLUMNS`). Validation quarantines them for every table the source feeds, while
the valid rows load; the rows after a rejected one keep their numbers in the file
(`renumbered`).

Lines longer than `MAX_ROW_BYTES` are found before DuckDB reads the file (`long_lines`,
at the speed of `memchr`) and left out of a copy it reads instead: DuckDB 1.5 drops a line
longer than its buffer (16 × max_line_size) without a word, and its sniffer fails on a
long line in its sample. Their row numbers count lines (a quoted field with line breaks
before them would shift them).

    orders.csv row 2,500: row "2500,xxxxxxxxxxxxxxxxxxxxxxxxxx…" is longer than 2,000,000 bytes …
"""

from __future__ import annotations

import mmap
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from omnikpi.ingest.encoding import open_binary
from omnikpi.ingest.sql import Params, ViewValues, ident, idents
from omnikpi.warehouse import Warehouse

#: The longest row a text file may hold (DuckDB's `max_line_size`, here explicit).
MAX_ROW_BYTES = 2_000_000
#: Characters of a rejected row kept in the quarantine.
SHOWN_CHARS = 120
#: Bytes read at a time when looking for long lines: less than MAX_ROW_BYTES, so a long
#: line always spans two reads.
_CHUNK_BYTES = 1 << 20
_HEAD_BYTES = SHOWN_CHARS * 4  # enough for SHOWN_CHARS characters of UTF-8
_LONG_LINE = "LINE SIZE OVER MAXIMUM"
#: Columns of a relation of rejected rows.
REJECTED_COLUMNS = ("_source", "_row", "value", "reason", "summary")
#: DuckDB's kinds of unreadable CSV rows → what the report says of them, and the fix.
_KINDS = {
    _LONG_LINE: (
        f"is longer than {MAX_ROW_BYTES:,} bytes, the longest row a file may hold",
        "a whole document in one field, or a quote never closed?",
    ),
    "TOO MANY COLUMNS": (
        "has more fields than the header",
        "quote the values that hold the delimiter",
    ),
    "MISSING COLUMNS": ("has fewer fields than the header", "is the row cut short?"),
    "UNQUOTED VALUE": (
        "has a quote that is never closed, or text after a closing quote",
        'write a quote inside a quoted value as ""',
    ),
    "INVALID UNICODE": (
        "is not text in the file's encoding",
        "set read.encoding in the mapping",
    ),
    "INVALID ENCODING": (
        "is not text in the file's encoding",
        "set read.encoding in the mapping",
    ),
}
_UNREADABLE = ("cannot be read as a row of the file", "check read.delimiter in the mapping")
NOT_JSON = "is not a JSON object (JSON Lines files hold one object per line)"


@dataclass(frozen=True)
class LongLine:
    """A line longer than MAX_ROW_BYTES: its number (from 1), bytes [start, end) of the
    file (its line break included), its length without the line break and first bytes."""

    number: int
    start: int
    end: int
    length: int
    head: bytes


def long_lines(path: Path) -> list[LongLine]:
    """The lines of a text file longer than MAX_ROW_BYTES (none in almost every file).

    A plain file is mapped, and each step looks back from MAX_ROW_BYTES ahead for the last
    line break (`rfind`): a few bytes read per two megabytes. A compressed one is read
    through, each read measuring the line it finishes and counting the others.
    """
    if path.suffix == ".gz":
        return _long_lines_read(path)
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size <= MAX_ROW_BYTES:
            return []
        spans: list[tuple[int, int, int]] = []
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            start = 0  # a line's first byte
            while start < size:
                ahead = min(start + MAX_ROW_BYTES + 1, size)
                last = mapped.rfind(b"\n", start, ahead)
                if last >= 0:
                    start = last + 1
                    continue
                if ahead == size:  # the last line, without a line break
                    if size - start > MAX_ROW_BYTES:
                        spans.append((start, size, size))
                    break
                found = mapped.find(b"\n", ahead)
                end = size if found < 0 else found
                spans.append((start, end, min(end + 1, size)))
                start = end + 1
            return [_numbered(mapped, *span) for span in spans]


def _numbered(mapped: mmap.mmap, start: int, stop: int, end: int) -> LongLine:
    """The long line at bytes [start, stop) (its line break up to `end`), with its number
    (the line breaks before it + 1)."""
    breaks = 0
    for offset in range(0, start, _CHUNK_BYTES):
        breaks += mapped[offset : min(offset + _CHUNK_BYTES, start)].count(b"\n")
    return LongLine(breaks + 1, start, end, stop - start, mapped[start : start + _HEAD_BYTES])


def _long_lines_read(path: Path) -> list[LongLine]:
    """`long_lines` of a compressed file, read through: lines within one read are shorter
    than a read, so only the line each read finishes is measured."""
    found: list[LongLine] = []
    number, start, offset = 1, 0, 0  # the current line: its number and first byte
    head = b""
    with open_binary(path) as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            first = chunk.find(b"\n")
            if len(head) < _HEAD_BYTES:  # the current line goes on in this read
                head += chunk[: len(chunk) if first < 0 else first][: _HEAD_BYTES - len(head)]
            if first < 0:
                offset += len(chunk)
                continue
            if offset + first - start > MAX_ROW_BYTES:
                length = offset + first - start
                found.append(LongLine(number, start, offset + first + 1, length, head))
            last = chunk.rfind(b"\n")
            number += 1 + chunk.count(b"\n", first + 1, last + 1)
            start = offset + last + 1
            head = chunk[last + 1 : last + 1 + _HEAD_BYTES]
            offset += len(chunk)
    if offset - start > MAX_ROW_BYTES:  # a last line without a line break
        found.append(LongLine(number, start, offset, offset - start, head))
    return found


def without_lines(path: Path, lines: Sequence[LongLine], target: Path) -> Path:
    """A copy of `path` (decompressed) without `lines`; returns `target`."""
    with open_binary(path) as source, target.open("wb") as out:
        for line in lines:
            _copy(source, out, line.start - source.tell())
            source.seek(line.end)
        shutil.copyfileobj(source, out, _CHUNK_BYTES)
    return target


def _copy(source: IO[bytes], out: IO[bytes], size: int) -> None:
    while size > 0 and (chunk := source.read(min(size, _CHUNK_BYTES))):
        out.write(chunk)
        size -= len(chunk)


def reject_options(part: str, params: Params | ViewValues) -> list[str]:
    """`read_csv` arguments keeping the rows it cannot read in `rejects_table(part)`."""
    return [
        "store_rejects = true",
        f"rejects_table = {params.add(rejects_table(part))}",
        f"rejects_scan = {params.add(f'{part}_rejects_scan')}",
        f"max_line_size = {params.add(MAX_ROW_BYTES)}",
    ]


def rejects_table(part: str) -> str:
    """The temporary table where DuckDB keeps the rows of `part` it could not read."""
    return f"{part}_rejects"


def rejected_relation(part: str) -> str:
    """The temporary table of the rejected rows of `part` (`REJECTED_COLUMNS`)."""
    return f"{part}_rejected"


def has_rejects(warehouse: Warehouse, part: str) -> bool:
    """Whether a scan of `part` kept rows apart."""
    if not _exists(warehouse, rejects_table(part)):
        return False
    return bool(warehouse.fetch_value(f"SELECT count(*) > 0 FROM {ident(rejects_table(part))}"))


def _exists(warehouse: Warehouse, table: str) -> bool:
    """Whether this connection has the temporary table `table`."""
    found = warehouse.fetch_value(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $t", {"t": table}
    )
    return bool(found)


def collect_rejects(
    warehouse: Warehouse,
    part: str,
    file_name: str,
    lines_before: int,
    long: Sequence[LongLine] = (),
) -> int:
    """Turn the rows DuckDB kept apart while reading `part`, and the `long` lines left out
    of the copy it read, into its rejected relation; returns how many there are.

    `lines_before`: lines before the first data row (skipped lines and the header), since
    DuckDB numbers the rows of a file from its first line. A view scanned twice keeps a
    row twice: each row is taken once. The rows DuckDB numbers in a copy without the long
    lines are numbered as in the file: the i-th long line (row g_i) comes after g_i - i
    rows of the copy.
    """
    params = Params()

    def by_kind(part: int) -> str:
        cases = " ".join(
            f"WHEN {params.add(kind)} THEN {params.add(texts[part])}"
            for kind, texts in _KINDS.items()
        )
        return f"CASE error_type {cases} ELSE {params.add(_UNREADABLE[part])} END"

    gaps = [line.number - lines_before - i for i, line in enumerate(long, start=1)]
    row = f"line - {params.add(lines_before)}"
    row = f"{row} + len(list_filter({params.add(gaps)}::BIGINT[], g -> g < {row}))"
    rejected = ident(rejected_relation(part))
    if _exists(warehouse, rejects_table(part)):
        warehouse.run_sql(
            f"CREATE OR REPLACE TEMP TABLE {rejected} AS "
            f"SELECT {params.add(file_name)} AS _source, {row} AS _row, "
            f"{shown_text('trim(csv_line, chr(10) || chr(13))', params)} AS value, "
            "summary || ' (' || error_message || '; ' || fix || ')' AS reason, summary "
            f"FROM (SELECT *, {by_kind(0)} AS summary, {by_kind(1)} AS fix "
            f"FROM {ident(rejects_table(part))}) "
            "QUALIFY row_number() OVER (PARTITION BY line ORDER BY error_type) = 1",
            params.values,
        )
    else:
        columns = ", ".join(
            f"{ident(c)} {'BIGINT' if c == '_row' else 'VARCHAR'}" for c in REJECTED_COLUMNS
        )
        warehouse.run_sql(f"CREATE OR REPLACE TEMP TABLE {rejected} ({columns})")
    for line in long:
        text = line.head.decode("utf-8", "replace")
        shown = text[:SHOWN_CHARS] + "…"
        summary, fix = _KINDS[_LONG_LINE]
        warehouse.run_sql(
            f"INSERT INTO {rejected} VALUES ($file, $row, $value, $reason, $summary)",
            {
                "file": file_name,
                "row": line.number - lines_before,
                "value": shown,
                "reason": f"{summary} ({line.length:,} bytes; {fix})",
                "summary": summary,
            },
        )
    counted = warehouse.fetch_value(f"SELECT count(*) FROM {rejected}")
    return int(counted or 0)


def rejected_rows_sql(relations: Sequence[str]) -> str:
    """SQL of the rejected rows of some files (`REJECTED_COLUMNS`)."""
    return " UNION ALL ".join(
        f"SELECT {idents(REJECTED_COLUMNS)} FROM {ident(r)}" for r in relations
    )


def shown_text(text: str, params: Params) -> str:
    """SQL of the start of a long text as the quarantine keeps it (`…` where cut)."""
    limit = params.add(SHOWN_CHARS)
    return f"CASE WHEN length({text}) > {limit} THEN left({text}, {limit}) || '…' ELSE {text} END"


def renumbered(relation: str, part: str, *, numbered: bool = False) -> str:
    """SQL numbering the rows read into `relation` by their place in the file, the rejected
    rows of `part` counted: `_row` and the other columns. The rows' order is their rowid,
    or their `_row` where `numbered` (counted from 1 by the reader).

    The j-th rejected row (file row r_j) comes after r_j - j rows that were read, so a
    row read at position k (from 0) has k + 1 + #{j : r_j - j <= k} rows up to it.
    """
    gaps = (
        "SELECT read_before, max(shift) AS shift FROM (SELECT _row - row_number() OVER "
        "(ORDER BY _row) AS read_before, row_number() OVER (ORDER BY _row) AS shift "
        f"FROM {ident(rejected_relation(part))}) GROUP BY read_before"
    )
    position = "t._row - 1" if numbered else "t.rowid"
    columns = "t.* EXCLUDE (_row)" if numbered else "t.*"
    return (
        f"SELECT {position} + 1 + coalesce(g.shift, 0) AS _row, {columns} "
        f"FROM {ident(relation)} t ASOF LEFT JOIN ({gaps}) g ON {position} >= g.read_before"
    )


def read_json_lines(warehouse: Warehouse, table: str, part: str, path: Path, workdir: Path) -> int:
    """Read a JSON Lines file line by line into `table` (`_row` and the objects' fields),
    its lines that are no JSON object or too long into the rejected relation of `part`;
    returns how many were rejected. For a file `read_json` could not read whole."""
    lines = f"{part}_lines"
    long = long_lines(path)
    readable = without_lines(path, long, workdir / f"{path.name}.lines") if long else path
    params = Params()
    options = ", ".join(reject_options(part, params))
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(lines)} AS SELECT line FROM read_csv("
        f"{params.add(str(readable))}, columns = {{'line': 'VARCHAR'}}, header = false, "
        f"delim = {params.add(chr(0x1E))}, quote = '', escape = '', auto_detect = false, "
        f"{options})",
        params.values,
    )
    collect_rejects(warehouse, part, path.name, 0, long)
    numbered = f"{lines}_numbered"
    source = renumbered(lines, part)
    params = Params()
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(numbered)} AS SELECT _row, line, "
        "CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS is_object "
        f"FROM ({source})"
    )
    warehouse.run_sql(
        f"INSERT INTO {ident(rejected_relation(part))} BY NAME SELECT "
        f"{params.add(path.name)} AS _source, _row, {shown_text('line', params)} AS value, "
        f"{params.add(NOT_JSON)} AS reason, {params.add(NOT_JSON)} AS summary "
        f"FROM {ident(numbered)} WHERE NOT is_object",
        params.values,
    )
    objects = workdir / f"{path.name}.objects.jsonl"
    params = Params()
    warehouse.run_sql(
        f"COPY (SELECT line FROM {ident(numbered)} WHERE is_object ORDER BY _row) TO "
        f"{params.add(str(objects))} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', "
        f"DELIMITER {params.add(chr(0x1E))})",
        params.values,
    )
    parsed = f"{part}_objects"
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(parsed)} AS SELECT * FROM read_json($p, "
        "format = 'newline_delimited')",
        {"p": str(objects)},
    )
    # the objects keep the order of their lines: the k-th object is the k-th object line
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS SELECT o._row, j.* EXCLUDE (k) "
        f"FROM (SELECT rowid AS k, * FROM {ident(parsed)}) j JOIN (SELECT row_number() OVER "
        f"(ORDER BY _row) - 1 AS k, _row FROM {ident(numbered)} WHERE is_object) o USING (k) "
        "ORDER BY o._row"
    )
    counted = warehouse.fetch_value(f"SELECT count(*) FROM {ident(rejected_relation(part))}")
    return int(counted or 0)
