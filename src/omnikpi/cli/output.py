"""Rendering results for the terminal: Rich tables, CSV and JSON, and progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omnikpi.services import write_csv

# Piped output is not cut at 80 columns.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
error_console = Console(stderr=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class InfoFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def render_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    title: str | None = None,
    json_document: Any = None,
) -> None:
    """Print `rows` as a table, CSV or JSON (`json_document` replaces the rows for JSON)."""
    if fmt == OutputFormat.JSON:
        payload = json_document if json_document is not None else list(rows)
        console.print_json(json.dumps(payload, ensure_ascii=False, default=str))
    elif fmt == OutputFormat.CSV:
        console.file.write(write_csv(columns, rows))
    else:
        table = Table(title=title, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        console.print(table)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A Rich progress bar on stderr (quiet when stderr is not a terminal)."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=error_console,
        transient=False,
    ) as progress:
        yield progress
