"""The quarantine: rows that failed validation, kept with their source, row, value and reason.

It holds the latest problems of each source and table; loading the same file again
replaces them, so the quarantine shows what is still wrong rather than a growing history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from omnikpi.ingest.validate import PROBLEMS
from omnikpi.model import Table
from omnikpi.model.schema import Column as C
from omnikpi.warehouse import Warehouse

QUARANTINE = Table(
    name="quarantine",
    description="Rows that failed validation at ingest, one row per problem found.",
    primary_key=("batch_id", "source", "row_number", "table_name", "column_name"),
    kind="system",
    group="ingest",
    time_column="quarantined_at",
    columns=(
        C("batch_id", "string", "Load batch that found the problem (see load_log)."),
        C("source", "string", "File, database table or query the row came from."),
        C("row_number", "int", "Row in the source; 1 is the first data row after the header."),
        C("table_name", "string", "Canonical table the row was meant for."),
        C("column_name", "string", "Source column (or canonical column) that failed."),
        C("value", "string", "The value as found in the source.", nullable=True),
        C("reason", "string", "What is wrong and how to fix it."),
        C("quarantined_at", "timestamp", "When the problem was found (UTC)."),
    ),
)


@dataclass(frozen=True)
class Problem:
    """One quarantined value."""

    source: str
    row_number: int
    table: str
    column: str
    value: str | None
    reason: str

    def message(self) -> str:
        """The problem as one line: `orders.csv row 1,204: column "X" value "Y" is …`, or
        `… row 7: row "7,d,40,extra" has more fields …` for a row that could not be read."""
        value = "" if self.value is None else self.value
        where = f'column "{self.column}" value' if self.column else "row"
        return f'{self.source} row {self.row_number:,}: {where} "{value}" {self.reason}'


Outcome = Literal["quarantined", "set_aside", "merged"]


@dataclass(frozen=True)
class ReasonCount:
    """Rows of one table that did not become rows of their own, for one reason.

    `outcome`: quarantined (a problem; counts against --max-error-rate), set aside (not an
    error, just not a row of this table, e.g. a stock adjustment written as an invoice) or
    merged (one of several rows with the same key). `column` is the source column the
    reason is about, if any.
    """

    outcome: Outcome
    column: str
    reason: str
    rows: int

    def as_record(self) -> dict[str, object]:
        """The count as load_log keeps it."""
        return {
            "outcome": self.outcome,
            "column": self.column,
            "reason": self.reason,
            "rows": self.rows,
        }


def reason_counts(warehouse: Warehouse) -> dict[str, tuple[ReasonCount, ...]]:
    """Per canonical table, the rows quarantined or set aside by this load, per reason,
    most frequent first (a row with problems in two columns counts under both)."""
    rows = warehouse.fetch_rows(
        "SELECT table_name, set_aside, column_name, coalesce(summary, reason) AS why, "
        f"count(DISTINCT stage_row) AS n FROM {PROBLEMS} GROUP BY ALL "
        "ORDER BY table_name, n DESC, set_aside, column_name, why"
    )
    counts: dict[str, list[ReasonCount]] = {}
    for table, set_aside, column, why, n in rows:
        outcome: Outcome = "set_aside" if set_aside else "quarantined"
        counts.setdefault(str(table), []).append(
            ReasonCount(outcome, str(column or ""), str(why), int(n))
        )
    return {table: tuple(found) for table, found in counts.items()}


def sample_problems(warehouse: Warehouse, limit: int) -> list[Problem]:
    """The first problems of this load in source order, each source value once.

    A bad cell that feeds two tables (say a date for orders and customers) is quarantined
    for both, but shown once.
    """
    rows = warehouse.fetch_rows(
        "SELECT source, row_number, min(table_name), column_name, value, reason "
        f"FROM {PROBLEMS} WHERE NOT set_aside "
        "GROUP BY source, row_number, column_name, value, reason "
        "ORDER BY source, row_number, column_name LIMIT $n",
        {"n": limit},
    )
    return [Problem(str(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], str(r[5])) for r in rows]


def problem_rows(warehouse: Warehouse) -> int:
    """Distinct source rows with at least one problem (rows set aside are no problem)."""
    counted = warehouse.fetch_value(
        "SELECT count(*) FROM (SELECT DISTINCT source, row_number "
        f"FROM {PROBLEMS} WHERE NOT set_aside)"
    )
    return int(counted or 0)


def replace_quarantine(
    warehouse: Warehouse,
    batch_id: str,
    sources: Sequence[str],
    tables: Sequence[str],
    now: datetime,
) -> int:
    """Swap the quarantined rows of these sources and tables for this load's problems
    (rows set aside are counted in the load report, not quarantined)."""
    warehouse.run_sql(
        "DELETE FROM main.quarantine WHERE list_contains($sources, source) "
        "AND list_contains($tables, table_name)",
        {"sources": list(sources), "tables": list(tables)},
    )
    warehouse.run_sql(
        "INSERT INTO main.quarantine SELECT $batch, source, row_number, table_name, column_name, "
        f"value, reason, $now FROM {PROBLEMS} WHERE NOT set_aside",
        {"batch": batch_id, "now": now},
    )
    return int(warehouse.fetch_value(f"SELECT count(*) FROM {PROBLEMS} WHERE NOT set_aside") or 0)
