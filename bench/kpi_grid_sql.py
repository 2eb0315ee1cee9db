"""The 47 lead KPIs by day and channel, hand-written in plain SQL for DuckDB and PostgreSQL.

Written as an analyst would from `omnikpi kpi show`: one query per source (or per KPI when
its time column differs), three temporary tables for work several queries share (facts per
session, page views per day and page, completed orders of known customers). Each query
returns `day`, `dim` (the KPI's channel-like dimension; NULL is a group of its own) and
either one column per KPI or `kpi` and `value`. The rules of the catalog are spelled out
where they matter: a ratio of summed parts is "no data" when its denominator is 0, a sum over
no rows is 0, and a part outside its source's dates is "no data".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from kpi_grid_sql_sales import SALES_QUERIES, SALES_TEMP_TABLES
from kpi_grid_sql_web import WEB_QUERIES, WEB_TEMP_TABLES


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines: parameter markers, text order, temp-table stats."""

    name: str
    parameter: Callable[[str], str]
    #: Appended to a text ORDER BY key to sort by code point.
    binary_order: str
    #: The session's last page view (latest time, then highest event id), as an aggregate.
    last_page_view: str
    analyze_temp_tables: bool


DIALECTS = {
    "duckdb": Dialect(
        "duckdb",
        lambda name: f"${name}",
        "",
        "ARG_MAX(event_id, (occurred_at, event_id)) FILTER (WHERE event_type = 'page_view')",
        False,
    ),
    "postgres": Dialect(
        "postgres",
        lambda name: f"%({name})s",
        ' COLLATE "C"',
        "(ARRAY_AGG(event_id ORDER BY occurred_at DESC, event_id DESC)"
        " FILTER (WHERE event_type = 'page_view'))[1]",
        True,
    ),
}

#: Temporary tables several queries share, created first in this order.
TEMP_TABLES = {**WEB_TEMP_TABLES, **SALES_TEMP_TABLES}
#: Query name -> SQL; each returns day, dim and either a column per KPI, or `kpi` and
#: `value`, or only `value` (the KPI named like the query).
QUERIES = {**WEB_QUERIES, **SALES_QUERIES}

Execute = Callable[[str, dict[str, date] | None], pd.DataFrame]


def run_queries(execute: Execute, dialect: Dialect, start: date, end: date) -> pd.DataFrame:
    """Every query of the grid through `execute`; a long table kpi, day, dim, payment_method,
    value (dim NULL for KPIs without a breakdown as well as for a NULL channel)."""
    params = {"start": start, "end": end}
    start, end = dialect.parameter("start"), dialect.parameter("end")
    markers = {
        "start": start,
        "end": end,
        # Local midnights bounding the range: filters on raw timestamps, not on their dates.
        "since": f"CAST({start} AS TIMESTAMPTZ)",
        "until": f"CAST({end} AS TIMESTAMPTZ) + INTERVAL '1 day'",
        "order": dialect.binary_order,
        "last_page_view": dialect.last_page_view,
    }
    for name, sql in TEMP_TABLES.items():
        execute(f"DROP TABLE IF EXISTS {name}", None)
        uses_range = "{since}" in sql or "{start}" in sql
        execute(
            f"CREATE TEMP TABLE {name} AS {sql.format(**markers)}", params if uses_range else None
        )
        if dialect.analyze_temp_tables:
            execute(f"ANALYZE {name}", None)
    frames = [
        long_table(name, execute(sql.format(**markers), _needed(sql, params)))
        for name, sql in QUERIES.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _needed(sql: str, params: dict[str, date]) -> dict[str, date] | None:
    """The range parameters if the statement uses them (DuckDB refuses unused ones)."""
    markers = ("{start}", "{end}", "{since}", "{until}")
    return params if any(m in sql for m in markers) else None


def long_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A query's result as kpi, day, dim, payment_method, value."""
    keys = ["day", "dim", "payment_method"]
    for key in keys[1:]:
        if key not in frame.columns:
            frame[key] = None
    if "kpi" not in frame.columns:
        if "value" in frame.columns:
            frame["kpi"] = name
        else:
            kpis = [c for c in frame.columns if c not in keys]
            frame = frame.melt(id_vars=keys, value_vars=kpis, var_name="kpi")
    frame["value"] = pd.to_numeric(frame["value"].astype("float64"), errors="coerce")
    return frame[["kpi", *keys, "value"]]
