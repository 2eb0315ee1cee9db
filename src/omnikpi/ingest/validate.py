"""Validation of staged rows: types, required values, categories, plausibility, keys, references.

Every failed check becomes one problem row (source file, row number, column, value,
reason) in the temporary `_problems` table; rows without problems are the ones that load.
The plausibility rules themselves are declared as data in `rules.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import duckdb

from omnikpi.ingest.expressions import ColumnPlan, StagePlan
from omnikpi.ingest.rules import CROSS_RULES, ROW_RULES, RowRule, TimeRule
from omnikpi.ingest.sql import Params, ident, idents
from omnikpi.model import Table
from omnikpi.model import table as model_table

#: How far ahead of the load's clock a timestamp may be (client and server clocks drift).
FUTURE_TOLERANCE = timedelta(minutes=10)
PROBLEMS = "_problems"
References = Literal["all", "required"]


@dataclass(frozen=True)
class ValidatedTable:
    """A staged table after validation: where its good rows are and what was dropped."""

    table: Table
    good: str
    staged: int
    problem_rows: int
    merged: int


def create_problems(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary table collecting every problem of this load."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PROBLEMS} (table_name VARCHAR, stage_row BIGINT, "
        "source VARCHAR, row_number BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
    )


def validate_stage(
    con: duckdb.DuckDBPyConnection,
    stage: StagePlan,
    duplicates: str,
    now: datetime,
    references: References = "all",
    batch_tables: Sequence[str] = (),
) -> ValidatedTable:
    """Run every check on one staged table; its referenced tables must be validated first."""
    table = stage.table
    if stage.flagged:
        _check_flags(con, stage)
    for plan in stage.columns:
        _check_column(con, stage, plan)
    for rule in ROW_RULES:
        if rule.table == table.name:
            _check_rule(con, stage, rule)
    _check_future(con, stage, now)
    if duplicates == "reject":
        _check_duplicates(con, stage)
    _check_references(con, stage, references, batch_tables)
    for cross in CROSS_RULES:
        if cross.table == table.name:
            _check_cross(con, stage, cross, batch_tables)
    return _good_rows(con, stage, duplicates)


def good_relation(table: str) -> str:
    """The temporary relation holding the rows of `table` that passed validation."""
    return f"_good_{table}"


# -- checks ----------------------------------------------------------------------------------
def _insert_problems(
    con: duckdb.DuckDBPyConnection,
    stage: StagePlan,
    column_label: str,
    value_sql: str,
    reason_sql: str,
    condition: str,
    params: Params,
    extra_from: str = "",
) -> None:
    sql = (
        f"INSERT INTO {PROBLEMS} SELECT {params.add(stage.table.name)}, s.rowid, s._source, "
        f"s._row, {params.add(column_label)}, CAST({value_sql} AS VARCHAR), {reason_sql} "
        f"FROM {ident(stage.relation)} s{extra_from} WHERE ({condition}) "
        f"{'AND s._problem IS NULL ' if stage.flagged else ''}"
        f"AND s.rowid NOT IN (SELECT stage_row FROM {PROBLEMS} "
        f"WHERE table_name = {params.add(stage.table.name)} AND column_name = "
        f"{params.add(column_label)})"
    )
    con.execute(sql, params.values)


def _shown(stage: StagePlan, column: str) -> tuple[str, str]:
    """The label and value SQL to show for a column: the source text when there is one."""
    plan = stage.plan(column)
    value = f"s.{ident(plan.raw_name)}" if plan.raw is not None else f"s.{ident(column)}"
    return plan.label, value


def _check_flags(con: duckdb.DuckDBPyConnection, stage: StagePlan) -> None:
    """Rows a preset view flagged with `_problem` (e.g. a cancellation with no sale)."""
    con.execute(
        f"INSERT INTO {PROBLEMS} SELECT $t, rowid, _source, _row, _problem_column, "
        f"CAST(_problem_value AS VARCHAR), _problem FROM {ident(stage.relation)} "
        "WHERE _problem IS NOT NULL",
        {"t": stage.table.name},
    )


def _check_column(con: duckdb.DuckDBPyConnection, stage: StagePlan, plan: ColumnPlan) -> None:
    if plan.raw is None:
        return  # constants were checked with the mapping; unmapped columns are null
    column = plan.column
    name = f"s.{ident(column.name)}"
    label, value = _shown(stage, column.name)
    text = _qualify(plan)
    if plan.failure:
        params = Params()
        condition = f"{text} IS NOT NULL AND {name} IS NULL"
        _insert_problems(con, stage, label, value, params.add(plan.failure), condition, params)
    if not column.nullable:
        params = Params()
        reason = f"is empty, but {stage.table.name}.{column.name} is required"
        condition = f"{name} IS NULL AND {text} IS NULL"
        _insert_problems(con, stage, label, value, params.add(reason), condition, params)
    if column.allowed_values:
        params = Params()
        allowed = list(column.allowed_values)
        where = f"tables.{stage.table.name}.columns.{column.name}"
        reason = f"is not one of {', '.join(allowed)} (map it with map: under {where})"
        condition = f"{name} IS NOT NULL AND NOT list_contains({params.add(allowed)}, {name})"
        _insert_problems(con, stage, label, value, params.add(reason), condition, params)


def _qualify(plan: ColumnPlan) -> str:
    """The checked-text expression of a column, over the staged row `s`."""
    text = plan.checked_text
    assert text is not None
    for column in (plan.text_name, plan.raw_name):
        text = text.replace(ident(column), f"s.{ident(column)}")
    return text


def _check_rule(con: duckdb.DuckDBPyConnection, stage: StagePlan, rule: RowRule) -> None:
    plan = stage.plan(rule.column)
    if plan.raw is None and plan.value.startswith("CAST(NULL"):
        return
    params = Params()
    label, value = _shown(stage, rule.column)
    condition = f"NOT ({rule.condition()})"
    _insert_problems(con, stage, label, value, params.add(rule.reason), condition, params)


def _check_future(con: duckdb.DuckDBPyConnection, stage: StagePlan, now: datetime) -> None:
    table = stage.table
    for plan in stage.columns:
        column = plan.column
        is_time_column = column.name == table.time_column
        if column.type != "timestamp" and not (column.type == "date" and is_time_column):
            continue
        if plan.raw is None:
            continue
        params = Params()
        label, value = _shown(stage, column.name)
        bound = params.add(now + FUTURE_TOLERANCE)
        if column.type == "date":
            bound = f"CAST({bound} AS DATE)"
        reason = f"is in the future (after {now:%Y-%m-%d %H:%M} UTC; check the time zone)"
        condition = f"s.{ident(column.name)} > {bound}"
        _insert_problems(con, stage, label, value, params.add(reason), condition, params)


def _check_duplicates(con: duckdb.DuckDBPyConnection, stage: StagePlan) -> None:
    keys = stage.table.primary_key
    key_sql = idents(keys)
    relation = ident(stage.relation)
    unflagged = f"rowid NOT IN (SELECT stage_row FROM {PROBLEMS} WHERE table_name = $t)"
    row = con.execute(
        f"SELECT count(*) - count(DISTINCT ({key_sql})) FROM {relation} WHERE {unflagged}",
        {"t": stage.table.name},
    ).fetchone()
    if not row or not row[0]:
        return
    params = Params()
    unflagged = unflagged.replace("$t", params.add(stage.table.name))
    ranked = (
        f"(SELECT rowid AS stage_row, min(_row) OVER (PARTITION BY {key_sql}) AS first_row, "
        f"row_number() OVER (PARTITION BY {key_sql} ORDER BY _source, _row) AS nth "
        f"FROM {relation} WHERE {unflagged})"
    )
    reason = (
        f"{params.add('is a duplicate key (first at row ')} || CAST(d.first_row AS VARCHAR) || "
        f"{params.add('; keep one row per key, or set duplicates: first or last)')}"
    )
    value = f"concat_ws(', ', {', '.join(f's.{ident(k)}' for k in keys)})"
    _insert_problems(
        con,
        stage,
        ", ".join(keys),
        value,
        reason,
        "d.nth > 1",
        params,
        extra_from=f" JOIN {ranked} d ON d.stage_row = s.rowid",
    )


def _check_references(
    con: duckdb.DuckDBPyConnection,
    stage: StagePlan,
    references: References,
    batch_tables: Sequence[str],
) -> None:
    """Keys must exist; rows with other problems are not checked (they do not load)."""
    clean = f"s.rowid NOT IN (SELECT stage_row FROM {PROBLEMS} WHERE table_name = {{table}})"
    for column in stage.table.foreign_keys:
        if references == "required" and column.nullable:
            continue
        assert column.references is not None
        target, key = column.references.split(".")
        name = f"s.{ident(column.name)}"
        label, value = _shown(stage, column.name)
        known = [f"SELECT {ident(key)} FROM main.{ident(target)} WHERE {ident(key)} NOT NULL"]
        if target in batch_tables:
            known.append(f"SELECT {ident(key)} FROM {ident(good_relation(target))}")
            params = Params()
            quarantined = (
                f"SELECT {ident(key)} FROM {ident(f'_stage_{target}')} WHERE rowid IN "
                f"(SELECT stage_row FROM {PROBLEMS} WHERE table_name = {params.add(target)})"
            )
            reason = f"refers to a row of {target} that is quarantined itself (see its problem)"
            condition = (
                f"{name} IN ({quarantined}) AND {name} NOT IN ({' UNION ALL '.join(known)}) AND "
                + clean.format(table=params.add(stage.table.name))
            )
            _insert_problems(con, stage, label, value, params.add(reason), condition, params)
        params = Params()
        reason = f"is not a known {target}.{key} (load {target} first, or in the same batch)"
        condition = (
            f"{name} IS NOT NULL AND {name} NOT IN ({' UNION ALL '.join(known)}) AND "
            + clean.format(table=params.add(stage.table.name))
        )
        _insert_problems(con, stage, label, value, params.add(reason), condition, params)


def _check_cross(
    con: duckdb.DuckDBPyConnection,
    stage: StagePlan,
    rule: TimeRule,
    batch_tables: Sequence[str],
) -> None:
    target = model_table(rule.target)
    (key,) = target.primary_key
    pair = f"{ident(key)}, {ident(rule.target_column)}"
    current = f"SELECT {pair} FROM main.{ident(rule.target)}"
    if rule.target in batch_tables:
        good = ident(good_relation(rule.target))
        current = (
            f"SELECT {pair} FROM {good} UNION ALL {current} "
            f"WHERE {ident(key)} NOT IN (SELECT {ident(key)} FROM {good})"
        )
    params = Params()
    label, value = _shown(stage, rule.column)
    reason = f"is before {rule.target}.{rule.target_column} of its {rule.via}"
    clean = (
        f"s.rowid NOT IN (SELECT stage_row FROM {PROBLEMS} "
        f"WHERE table_name = {params.add(stage.table.name)})"
    )
    _insert_problems(
        con,
        stage,
        label,
        value,
        params.add(reason),
        f"s.{ident(rule.column)} < t.{ident(rule.target_column)} AND {clean}",
        params,
        extra_from=f" JOIN ({current}) t ON t.{ident(key)} = s.{ident(rule.via)}",
    )


# -- what loads --------------------------------------------------------------------------------
def _good_rows(con: duckdb.DuckDBPyConnection, stage: StagePlan, duplicates: str) -> ValidatedTable:
    table = stage.table
    relation = ident(stage.relation)
    counts = con.execute(
        f"SELECT (SELECT count(*) FROM {relation}), "
        f"(SELECT count(DISTINCT stage_row) FROM {PROBLEMS} WHERE table_name = $t)",
        {"t": table.name},
    ).fetchone()
    staged, problem_rows = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    columns = idents(["_source", "_row", *table.column_names])
    select = f"SELECT {columns} FROM {relation} s"
    if problem_rows:
        select += f" WHERE s.rowid NOT IN (SELECT stage_row FROM {PROBLEMS} WHERE table_name = $t)"
    if duplicates in ("first", "last"):
        order = "DESC" if duplicates == "last" else ""
        select = (
            f"SELECT * FROM ({select}) QUALIFY row_number() OVER "
            f"(PARTITION BY {idents(table.primary_key)} ORDER BY _source {order}, _row {order}) = 1"
        )
    good = good_relation(table.name)
    if problem_rows or duplicates != "reject":
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(good)} AS {select}",
            {"t": table.name} if problem_rows else None,
        )
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(good)} AS {select}")
    merged = 0
    if duplicates != "reject":
        row = con.execute(f"SELECT count(*) FROM {ident(good)}").fetchone()
        merged = staged - problem_rows - (int(row[0]) if row else 0)
    return ValidatedTable(table, good, staged, problem_rows, merged)
