"""`omnikpi ingest --infer FILE`: propose a mapping to start from.

It reads the file, picks the canonical table whose columns its headers resemble most
(names, common synonyms in English and Korean, difflib similarity), detects date formats
and lists the category values to map. Everything it is unsure about is marked TODO.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from pathlib import Path

import yaml

from omnikpi.ingest.encoding import detect_encoding
from omnikpi.ingest.mapping import ReadOptions
from omnikpi.ingest.readers import SourceTable, file_format, read_files, sniff_csv
from omnikpi.ingest.sql import ident
from omnikpi.model import TABLES, Column, Table
from omnikpi.warehouse import Warehouse

#: Source header words that mean a canonical column (normalized: lowercase, no separators).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("invoice", "invoiceno", "orderno", "ordernumber", "name", "주문번호"),
    "customer_id": ("customer", "customerid", "custid", "clientid", "memberid", "회원번호"),
    "product_id": ("stockcode", "sku", "itemid", "productcode", "상품코드", "상품번호"),
    "placed_at": ("invoicedate", "orderdate", "createdat", "date", "orderedat", "주문일시"),
    "quantity": ("qty", "units", "numberofcds", "수량"),
    "unit_price": ("price", "unitprice", "단가", "판매가"),
    "net_amount": ("amount", "revenue", "sales", "dollarvalue", "subtotal", "금액"),
    "total_amount": ("total", "grandtotal", "결제금액"),
    "channel": ("saleschannel", "source", "채널"),
    "status": ("orderstatus", "financialstatus", "상태"),
    "name": ("description", "productname", "title", "상품명"),
    "region": ("country", "state", "province", "지역"),
    "email_hash": ("email", "e-mail", "이메일"),
    "phone_hash": ("phone", "mobile", "전화번호"),
    "currency": ("currencycode", "통화"),
}
_TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y.%m.%d", "%Y/%m/%d")
_SAMPLE_ROWS = 1000
_MAX_CATEGORY_VALUES = 12


def infer_mapping(path: Path) -> str:
    """A proposed mapping for `path` as commented YAML text."""
    with (
        tempfile.TemporaryDirectory(prefix="omnikpi-infer-") as workdir,
        Warehouse(Path(":memory:")) as scratch,
    ):
        options = ReadOptions()
        source = read_files(scratch, "input", [path], options, Path(workdir))
        samples = _samples(scratch, source)
        read_section = _read_section(scratch, path, Path(workdir))
    table, matches = best_table(list(source.columns))
    lines = [
        f"# Proposed by `omnikpi ingest --infer {path.name}`: check every line marked TODO,",
        "# then load with `omnikpi ingest --mapping THIS.yaml FILE`. Columns and allowed",
        "# values of every table: docs/data-model.md.",
        f"name: {_scalar(path.stem)}",
    ]
    lines += read_section
    lines += [
        "dates:",
        "  time_zone: Asia/Seoul  # TODO: the time zone of the file's dates and times",
        "currency: KRW  # TODO: the currency of the amounts",
        "# (the first load into an empty warehouse stores this zone and currency as its own)",
        "tables:",
        f"  {table.name}:",
        "    columns:",
    ]
    for column in table.columns:
        source_column = matches.get(column.name)
        lines += _column_lines(column, source_column, samples.get(source_column or "", []))
    unused = [c for c in source.columns if c not in matches.values()]
    if unused:
        lines.append(f"# Not mapped: {', '.join(unused)}")
    return "\n".join(lines) + "\n"


def best_table(headers: list[str]) -> tuple[Table, dict[str, str]]:
    """The canonical table the headers fit best, and canonical column → header."""
    candidates = [t for t in TABLES if t.kind != "system"]
    scored = []
    for table in candidates:
        matches = match_columns(table, headers)
        required = sum(1 for c in matches if not table.column(c).nullable)
        scored.append((len(matches) + required / 2 - len(table.columns) / 100, table, matches))
    _, table, matches = max(scored, key=lambda item: item[0])
    return table, matches


def match_columns(table: Table, headers: list[str]) -> dict[str, str]:
    """Canonical column → source header, by name, synonym, then similarity."""
    normalized = {_normalize(h): h for h in headers}
    matches: dict[str, str] = {}
    for column in table.columns:
        keys = [_normalize(column.name), *(_normalize(s) for s in SYNONYMS.get(column.name, ()))]
        found = next((normalized[k] for k in keys if k in normalized), None)
        if found is None:
            close = difflib.get_close_matches(_normalize(column.name), list(normalized), 1, 0.85)
            found = normalized[close[0]] if close else None
        if found is not None and found not in matches.values():
            matches[column.name] = found
    return matches


def _normalize(name: str) -> str:
    return re.sub(r"[\s_\-.()]+", "", name.lower())


def _samples(scratch: Warehouse, source: SourceTable) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for name in source.columns:
        rows = scratch.fetch_rows(
            f"SELECT DISTINCT CAST({ident(name)} AS VARCHAR) AS v FROM "
            f"(SELECT {ident(name)} FROM {ident(source.relation)} LIMIT $n) "
            "WHERE v IS NOT NULL AND trim(v) <> '' LIMIT $n",
            {"n": _SAMPLE_ROWS},
        )
        result[name] = [str(r[0]) for r in rows]
    return result


def _read_section(scratch: Warehouse, path: Path, workdir: Path) -> list[str]:
    fmt = file_format(path, ReadOptions())
    if fmt != "csv":
        return []
    encoding = detect_encoding(path)
    lines = ["read:"]
    lines.append(f"  encoding: {'utf-8' if encoding == 'utf-8-sig' else encoding}")
    delimiter, header = sniff_csv(scratch, path, workdir)
    lines.append(f"  delimiter: {_scalar(delimiter)}")
    lines.append(f"  header: {'true' if header else 'false'}")
    return lines


def _column_lines(column: Column, source: str | None, samples: list[str]) -> list[str]:
    required = "" if column.nullable else " (required)"
    if source is None:
        if column.nullable:
            return []
        example = f"{{value: {column.allowed_values[0]}}}" if column.allowed_values else "COLUMN"
        return [f"      # TODO{required}: {column.name}: {example}"]
    lines = [f"      {column.name}:", f"        column: {_scalar(source)}"]
    if column.type in ("date", "timestamp"):
        formats = _DATE_FORMATS if column.type == "date" else _TIMESTAMP_FORMATS
        fitting = [f for f in formats if samples and all(_parses(s, f) for s in samples[:50])]
        if fitting:
            note = f"  # TODO: or {', '.join(fitting[1:])}" if len(fitting) > 1 else ""
            lines.append(f"        format: {_scalar(fitting[0])}{note}")
        elif samples:
            lines.append(f"        # TODO: format, e.g. {_scalar(samples[0])}")
    if column.allowed_values and samples:
        values = samples[:_MAX_CATEGORY_VALUES]
        if not all(v in column.allowed_values for v in values):
            lines.append(f"        map:  # TODO: allowed: {', '.join(column.allowed_values)}")
            for value in values:
                guess = difflib.get_close_matches(value.lower(), column.allowed_values, 1, 0.6)
                target = guess[0] if guess else "TODO"
                lines.append(f"          {_scalar(value)}: {target}")
    if column.name.endswith("_hash"):
        lines.append("        hash: true  # pseudonymized with OMNIKPI_PSEUDONYM_KEY")
    return lines


def _parses(value: str, fmt: str) -> bool:
    from datetime import datetime

    try:
        datetime.strptime(value.strip(), fmt)
    except ValueError:
        return False
    return True


def _scalar(value: str) -> str:
    """`value` as a YAML scalar, quoted when YAML would read it as something else."""
    dumped = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True)
    return dumped.removesuffix("\n...\n").strip()
