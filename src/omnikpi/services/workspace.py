"""The analysts' ad-hoc SQL workspace: read-only queries over the warehouse, audited.

Any SQL over the warehouse can read customer rows, so running one is a customer-level
action (RUN_ADHOC_SQL: analysts and admins; everyone else ActionDenied, HTTP 403, and the
refusal is audited). Every run goes through the audit guard `customer_level`: who, the
SQL text, how many rows came back, and whether it ran or was refused (the entry's detail
names the error). Each user's runs are kept in their history (the app-state store).

Read-only is enforced by the warehouse (`Warehouse.run_read_only`, see
`omnikpi.warehouse.read_only_sql`): one SELECT over warehouse tables, no file or network
access, run in a READ ONLY transaction, at most `row_limit` rows, stopped after
`timeout_seconds`.

>>> sql = "SELECT channel, count(*) FROM orders GROUP BY 1"
>>> result = run_sql(settings, store, actor, sql)  # doctest: +SKIP
>>> result.rows[:1]  # doctest: +SKIP
(('web', 1204),)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from omnikpi.auth import Action, AppStateStore, check_allowed
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.store import from_text, now_utc, to_text
from omnikpi.errors import InvalidChoice
from omnikpi.services.audit import customer_level
from omnikpi.services.export import write_csv
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse.read_only_sql import QueryTimedOut, SqlRefused, classify

__all__ = [
    "DEFAULT_ROW_LIMIT",
    "DEFAULT_TIMEOUT_SECONDS",
    "MAX_ROW_LIMIT",
    "MAX_SQL_LENGTH",
    "MAX_TIMEOUT_SECONDS",
    "HistoryEntry",
    "QueryTimedOut",
    "SqlRefused",
    "WorkspaceResult",
    "chart_columns",
    "history_entry",
    "result_csv",
    "run_sql",
    "workspace_history",
]

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 60.0
#: Longest query text the workspace takes (longer is refused before parsing).
MAX_SQL_LENGTH = 20_000
#: Most history entries a listing returns.
MAX_HISTORY = 200


@dataclass(frozen=True)
class WorkspaceResult:
    """A query's first `row_limit` rows (`truncated`: there were more), its columns, which
    of them are numbers, the warehouse tables it read and how long it took."""

    sql: str
    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    row_limit: int
    tables: tuple[str, ...]
    elapsed_ms: int


@dataclass(frozen=True)
class HistoryEntry:
    """One run in a user's history: `status` is `ok`, `refused` or `timed_out`."""

    run_id: int
    ran_at: datetime
    sql: str
    status: str
    row_count: int | None
    truncated: bool
    elapsed_ms: int | None
    message: str | None


def _checked_limits(row_limit: int, timeout_seconds: float) -> None:
    if not 1 <= row_limit <= MAX_ROW_LIMIT:
        raise InvalidChoice("row limit", str(row_limit), f"1 to {MAX_ROW_LIMIT}")
    if not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidChoice("timeout", f"{timeout_seconds:g}", f"up to {MAX_TIMEOUT_SECONDS:g} s")


def run_sql(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    sql: str,
    *,
    row_limit: int = DEFAULT_ROW_LIMIT,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    download: bool = False,
    now: datetime | None = None,
) -> WorkspaceResult:
    """Run an analyst's read-only query over the warehouse: audited, kept in the user's
    history. SqlRefused says why a statement is not run (a write, a file, two
    statements); QueryTimedOut that it ran too long; ActionDenied that the role may not.
    `download`: the rows leave as a file (CSV), which the audit entry says."""
    _checked_limits(row_limit, timeout_seconds)
    text = sql.strip()
    started = time.perf_counter()
    with customer_level(
        store,
        actor,
        Action.RUN_ADHOC_SQL,
        text[:1000] or "(empty query)",
        detail="ad-hoc SQL, CSV download" if download else "ad-hoc SQL",
        event=AuditEvent.ADHOC_SQL,
        now=now,
    ) as access:
        try:
            if len(text) > MAX_SQL_LENGTH:
                raise SqlRefused(
                    f"the query is {len(text):,} characters long; the workspace takes at most "
                    f"{MAX_SQL_LENGTH:,} (shorten it, e.g. move repeated parts into a CTE)"
                )
            classify(text)  # a write or a setting is refused before the file is opened
            with read_warehouse(settings) as warehouse:
                answer = warehouse.run_read_only(
                    text, max_rows=row_limit, timeout_seconds=timeout_seconds
                )
        except (SqlRefused, QueryTimedOut) as exc:
            status = "timed_out" if isinstance(exc, QueryTimedOut) else "refused"
            _remember(store, actor, text, status, None, False, _since(started), str(exc), now)
            access.rows(0)
            raise
        access.rows(len(answer.rows))
    elapsed = _since(started)
    _remember(store, actor, text, "ok", len(answer.rows), answer.truncated, elapsed, None, now)
    return WorkspaceResult(
        sql=text,
        columns=answer.columns,
        numeric=answer.numeric,
        rows=answer.rows,
        truncated=answer.truncated,
        row_limit=row_limit,
        tables=answer.tables,
        elapsed_ms=elapsed,
    )


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _remember(
    store: AppStateStore,
    actor: Actor,
    sql: str,
    status: str,
    row_count: int | None,
    truncated: bool,
    elapsed_ms: int,
    message: str | None,
    now: datetime | None,
) -> None:
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO workspace_history (username, ran_at, sql_text, status, row_count, "
            "truncated, elapsed_ms, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                actor.username,
                to_text(now or now_utc()),
                sql[:MAX_SQL_LENGTH],
                status,
                row_count,
                int(truncated),
                elapsed_ms,
                message,
            ),
        )


def workspace_history(store: AppStateStore, actor: Actor, *, limit: int = 50) -> list[HistoryEntry]:
    """The actor's own latest `limit` runs, newest first (analysts and admins)."""
    if not 1 <= limit <= MAX_HISTORY:
        raise InvalidChoice("limit", str(limit), f"1 to {MAX_HISTORY}")
    return _history(store, actor, "", (), limit)


def _history(
    store: AppStateStore, actor: Actor, where: str, params: tuple[object, ...], limit: int
) -> list[HistoryEntry]:
    check_allowed(actor.role, Action.RUN_ADHOC_SQL, actor.scopes)
    with store.connect() as connection:
        rows = connection.execute(
            "SELECT * FROM workspace_history WHERE username = ? COLLATE NOCASE "
            f"{where} ORDER BY run_id DESC LIMIT ?",
            (actor.username, *params, limit),
        ).fetchall()
    return [
        HistoryEntry(
            run_id=int(row["run_id"]),
            ran_at=from_text(row["ran_at"]) or now_utc(),
            sql=str(row["sql_text"]),
            status=str(row["status"]),
            row_count=row["row_count"],
            truncated=bool(row["truncated"]),
            elapsed_ms=row["elapsed_ms"],
            message=row["message"],
        )
        for row in rows
    ]


def history_entry(store: AppStateStore, actor: Actor, run_id: int) -> HistoryEntry | None:
    """One of the actor's own runs (None: no such run of theirs), to run again."""
    found = _history(store, actor, "AND run_id = ?", (run_id,), 1)
    return found[0] if found else None


def chart_columns(result: WorkspaceResult) -> tuple[int, int] | None:
    """The label and value column to chart (None: no chart): the first column that is not
    a number, and the first number column after it, when there are 2 to 100 rows.

    >>> r = WorkspaceResult("", ("channel", "orders"), (False, True), (("web", 3), ("app", 1)),
    ...                     False, 10, (), 1)
    >>> chart_columns(r)
    (0, 1)
    """
    if not 2 <= len(result.rows) <= 100:
        return None
    labels = [i for i, number in enumerate(result.numeric) if not number]
    if not labels:
        return None
    values = [i for i, number in enumerate(result.numeric) if number and i > labels[0]]
    return (labels[0], values[0]) if values else None


def plain(value: Any) -> Any:
    """A result value as JSON and CSV take it (decimals as floats, dates as ISO text)."""
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def result_csv(result: WorkspaceResult, *, for_spreadsheets: bool = False) -> str:
    """The result as CSV by the one CSV writer (cells that would start a spreadsheet
    formula are written as text); columns named alike keep their order."""
    keys = [f"c{index}" for index in range(len(result.columns))]
    rows: Sequence[dict[str, object]] = [
        {key: plain(value) for key, value in zip(keys, row, strict=True)} for row in result.rows
    ]
    return write_csv(keys, rows, headers=list(result.columns), for_spreadsheets=for_spreadsheets)
