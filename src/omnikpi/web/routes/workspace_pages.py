"""The analysts' SQL workspace (`/workspace/sql`): a read-only query over the warehouse,
its rows as a table, a bar chart when they have a label and a number, a CSV download,
and the user's history with links to run a query again.

Thin handlers over `omnikpi.services.workspace`, which checks the permission table
(RUN_ADHOC_SQL: analysts and admins, 403 otherwise), refuses anything but one SELECT over
warehouse tables, and audits every run.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from omnikpi.auth import Action
from omnikpi.errors import ConfigError
from omnikpi.i18n import LocaleFormat, t
from omnikpi.services.workspace import (
    DEFAULT_ROW_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    MAX_ROW_LIMIT,
    QueryTimedOut,
    WorkspaceResult,
    chart_columns,
    history_entry,
    plain,
    result_csv,
    run_sql,
    workspace_history,
)
from omnikpi.web.actor import request_actor
from omnikpi.web.context import web_context
from omnikpi.web.rendering import locale_format, render
from omnikpi.web.routes.kpi_pages import attachment, csv_response
from omnikpi.web.security import Principal, requires, signed_in

router = APIRouter(include_in_schema=False)
_TEMPLATE = "workspace/sql.html"
_NEEDS = requires(Action.RUN_ADHOC_SQL)
#: The query the empty form suggests.
EXAMPLE_SQL = (
    "SELECT channel, count(*) AS orders, sum(net_amount) AS revenue\n"
    "FROM orders\nGROUP BY channel\nORDER BY revenue DESC"
)


def result_chart(result: WorkspaceResult, fmt: LocaleFormat) -> dict[str, Any] | None:
    """Horizontal bars of the first number column by the first label column (None: the
    result has no such pair, see `chart_columns`)."""
    picked = chart_columns(result)
    if picked is None:
        return None
    label, value = picked
    values = [None if row[value] is None else float(row[value]) for row in result.rows]
    return {
        "kind": "hbar",
        "axis": "number",
        "currency": fmt.currency,
        "labels": ["—" if row[label] is None else str(plain(row[label])) for row in result.rows],
        "series": [
            {
                "name": result.columns[value],
                "role": "value",
                "values": values,
                "text": ["—" if v is None else fmt.number(v) for v in values],
            }
        ],
    }


def cell(value: object, fmt: LocaleFormat) -> str:
    """A result value as the table shows it: numbers by locale, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return fmt.number(value)
    if isinstance(value, Decimal):
        return fmt.number(value, digits=min(6, max(0, -int(value.as_tuple().exponent))))
    if isinstance(value, float):
        return fmt.number(value, digits=2 if abs(value) >= 100 else 4)
    shown = plain(value)
    return shown if isinstance(shown, str) else str(shown)


def _page(
    request: Request,
    principal: Principal,
    sql: str,
    *,
    row_limit: int = DEFAULT_ROW_LIMIT,
    result: WorkspaceResult | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = web_context(request)
    fmt = locale_format(request)
    values: dict[str, Any] = {
        "sql": sql,
        "row_limit": row_limit,
        "max_row_limit": MAX_ROW_LIMIT,
        "timeout": DEFAULT_TIMEOUT_SECONDS,
        "result": result,
        "error": error,
        "chart": result_chart(result, fmt) if result else None,
        "cell": lambda value: cell(value, fmt),
        "history": workspace_history(context.store, request_actor(request)),
    }
    return render(request, _TEMPLATE, values, status_code=status_code)


@router.get("/workspace/sql", openapi_extra=_NEEDS)
def workspace_page(
    request: Request, run: int | None = None, principal: Principal = Depends(signed_in)
) -> Response:
    """The form (with a query of the user's history when `run` names one) and the history."""
    entry = history_entry(web_context(request).store, request_actor(request), run) if run else None
    return _page(request, principal, entry.sql if entry else EXAMPLE_SQL)


@router.post("/workspace/sql", openapi_extra=_NEEDS)
def run_query(
    request: Request,
    sql: str = Form(""),
    row_limit: int = Form(DEFAULT_ROW_LIMIT),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Run the query; the page again with its rows, or with why it was not run (400)."""
    result = _run(request, principal, sql, row_limit, download=False)
    if isinstance(result, Response):
        return result
    return _page(request, principal, sql, row_limit=row_limit, result=result)


@router.post("/workspace/sql.csv", openapi_extra=_NEEDS)
def download_csv(
    request: Request,
    sql: str = Form(""),
    row_limit: int = Form(DEFAULT_ROW_LIMIT),
    principal: Principal = Depends(signed_in),
) -> Response:
    """Run the query again (audited as a download) and send its rows as CSV."""
    result = _run(request, principal, sql, row_limit, download=True)
    if isinstance(result, Response):
        return result
    return csv_response(
        [result_csv(result, for_spreadsheets=True)], attachment("omnikpi-query.csv")
    )


def _run(
    request: Request, principal: Principal, sql: str, row_limit: int, *, download: bool
) -> WorkspaceResult | Response:
    """The query's result, or the page saying why it was not run (400)."""
    context = web_context(request)
    try:
        return run_sql(
            context.settings,
            context.store,
            request_actor(request),
            sql,
            row_limit=row_limit,
            download=download,
            now=context.now(),
        )
    except ConfigError as exc:
        return _page(
            request, principal, sql, row_limit=row_limit, error=_why(exc, request), status_code=400
        )


def _why(exc: ConfigError, request: Request) -> str:
    """The error as the page says it: a timeout in the page's language, a refusal as the
    checks word it (it names SQL)."""
    if isinstance(exc, QueryTimedOut):
        return t(
            "workspace.timed_out", locale_format(request).locale, seconds=DEFAULT_TIMEOUT_SECONDS
        )
    return str(exc)
