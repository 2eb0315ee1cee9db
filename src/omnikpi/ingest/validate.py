"""Validation: stage each table with its row checks, then check keys and references.

A table's rows are converted once, into its stage (a temporary table of typed rows, each
with the list of its problems), which the checks across rows, the report and the load
then read: converting a row again costs more than keeping it converted (see the ingest
section of bench/RESULTS.md). Every failed check becomes one problem row (stage row, source
file, row number, column, value, reason) in the temporary `_problems` table; rows without
problems are the ones that load, through a view of the stage (`_good_<table>`).
Rows a preset sets aside (`_set_aside`: not errors, just not rows of that table, such as
stock adjustments written as invoices) are kept there too, marked `set_aside`, so the
load report can count them by reason.
Checks of a row on its own run while the table is staged (`checks.py`); the checks here
need the whole batch or the warehouse. The plausibility rules are declared in `rules.py`.
Rows of the source that could not be read as rows (`rejects.py`) are problems of every
table the source feeds; having no stage row, they are numbered below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from omnikpi.ingest.checks import problems_sql, row_checks, shown_value
from omnikpi.ingest.expressions import ColumnPlan, StagePlan
from omnikpi.ingest.rejects import rejected_rows_sql
from omnikpi.ingest.rules import CROSS_RULES, TimeRule
from omnikpi.ingest.sql import Params, ident, idents
from omnikpi.model import Table
from omnikpi.model import table as model_table
from omnikpi.warehouse import Warehouse

PROBLEMS = "_problems"
References = Literal["all", "required"]


@dataclass(frozen=True)
class ValidatedTable:
    """A staged table after validation: where its good rows are and what was dropped.

    `staged` rows were read; `rejected` could not be read as rows (and are among the
    `problem_rows`).
    """

    table: Table
    good: str
    staged: int
    problem_rows: int
    merged: int
    set_aside: int = 0
    rejected: int = 0


def create_problems(warehouse: Warehouse) -> None:
    """The temporary table collecting every problem of this load."""
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {PROBLEMS} (table_name VARCHAR, stage_row BIGINT, "
        "source VARCHAR, row_number BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR, "
        # set aside: not loaded, but not an error; summary: the reason as the load report
        # counts it, when `reason` names one row (say the first row of a duplicate key)
        "set_aside BOOLEAN, summary VARCHAR)"
    )


def validate_stage(
    warehouse: Warehouse,
    stage: StagePlan,
    duplicates: str,
    now: datetime,
    references: References = "all",
    batch_tables: Sequence[str] = (),
) -> ValidatedTable:
    """Stage one table and run every check; its referenced tables must be validated first."""
    table = stage.table
    _create_stage(warehouse, stage, now)
    rejected = _record_rejected(warehouse, stage)
    if duplicates == "reject":
        _check_duplicates(warehouse, stage)
    _check_references(warehouse, stage, references, batch_tables)
    for cross in CROSS_RULES:
        if cross.table == table.name and not stage.plan(cross.column).is_empty:
            _check_cross(warehouse, stage, cross, batch_tables)
    return replace(_good_rows(warehouse, stage, duplicates), rejected=rejected)


def discard_problems(warehouse: Warehouse, table: str) -> None:
    """Forget the problems found in `table` (before it is staged again)."""
    warehouse.run_sql(f"DELETE FROM {PROBLEMS} WHERE table_name = $t", {"t": table})


def good_relation(table: str) -> str:
    """The temporary view of the staged rows of `table` that load."""
    return f"_good_{table}"


def quarantined_relation(table: str) -> str:
    """The temporary table of the staged rows of `table` that do not load: each with
    `set_aside` true when it was set aside, false when it has a problem."""
    return f"_quarantined_{table}"


def merged_relation(table: str) -> str:
    """The temporary table of the staged rows of `table` merged into another row with the
    same key (`duplicates: first` or `last` keeps that one)."""
    return f"_merged_{table}"


# -- staging -----------------------------------------------------------------------------------
def _create_stage(warehouse: Warehouse, stage: StagePlan, now: datetime) -> None:
    """Convert and check the rows in one pass; keep typed values and each row's problems.

    Source text is kept whole only for the columns the later checks report and whose typed
    value differs from it (say a mapped reference); every other problem carries its value.
    """
    params = Params("c")
    checks = row_checks(stage, now, params)
    kept = [ident(plan.raw_name) for plan in _reported_later(stage)]
    columns = ["_source", "_row", *(ident(p.column.name) for p in stage.columns), *kept]
    problems = problems_sql(stage, checks)
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(stage.relation)} AS "
        f"SELECT {', '.join(columns)}, {problems} AS _row_problems FROM ({stage.select}) s",
        {**stage.params, **params.used_in(problems)},
    )
    if stage.numbers_rows:  # filled in file order on every thread: rowid is the row's place
        warehouse.run_sql(f"UPDATE {ident(stage.relation)} SET _row = rowid + 1")
    # A source column feeding several columns (say one date for placed_at and
    # status_changed_at) is reported once per row: its first problem.
    warehouse.run_sql(
        f'INSERT INTO {PROBLEMS} SELECT $t, stage_row, _source, _row, problem."column", '
        'problem."value", problem.reason, problem.set_aside, NULL '
        "FROM (SELECT rowid AS stage_row, _source, _row, "
        "unnest(_row_problems) AS problem, generate_subscripts(_row_problems, 1) AS nth "
        f"FROM {ident(stage.relation)} WHERE _row_problems IS NOT NULL) "
        'QUALIFY row_number() OVER (PARTITION BY stage_row, problem."column" ORDER BY nth) = 1',
        {"t": stage.table.name},
    )


def _record_rejected(warehouse: Warehouse, stage: StagePlan) -> int:
    """Record the rows of the source that could not be read as rows; how many there are."""
    if not stage.rejected:
        return 0
    # A row of a source with pseudonymised columns is not shown: it holds their raw text.
    shown = (
        "value, reason"
        if not any(p.hashed for p in stage.columns)
        else ("NULL, summary || ' (the row is not shown: its source has pseudonymised columns)'")
    )
    warehouse.run_sql(
        f"INSERT INTO {PROBLEMS} SELECT $t, -row_number() OVER (ORDER BY _source, _row), "
        f"_source, _row, '', {shown}, false, summary "
        f"FROM ({rejected_rows_sql(stage.rejected)})",
        {"t": stage.table.name},
    )
    counted = warehouse.fetch_value(f"SELECT count(*) FROM ({rejected_rows_sql(stage.rejected)})")
    return int(counted or 0)


def _no_problem(warehouse: Warehouse, table: str, params: Params) -> str:
    """SQL: the staged row `s` has no problem yet (rows with one are not checked on);
    `true` while the table has none (sparing the checks a join)."""
    found = warehouse.fetch_value(
        f"SELECT EXISTS (SELECT 1 FROM {PROBLEMS} WHERE table_name = $t)", {"t": table}
    )
    if not found:
        return "true"
    return (
        f"NOT EXISTS (SELECT 1 FROM {PROBLEMS} p WHERE p.stage_row = s.rowid "
        f"AND p.table_name = {params.add(table)})"
    )


def _reported_later(stage: StagePlan) -> list[ColumnPlan]:
    """Columns whose source text the checks after staging may show, if it is not the value."""
    table = stage.table
    names = {c.name for c in table.foreign_keys}
    names |= {rule.column for rule in CROSS_RULES if rule.table == table.name}
    return [
        p
        for p in stage.columns
        if p.column.name in names
        and p.source_sql is not None
        and not p.is_source_text
        and not p.hashed
    ]


def _shown(stage: StagePlan, column: str) -> tuple[str, str]:
    """The label and value SQL to show for a staged column (after staging)."""
    plan = stage.plan(column)
    if plan in _reported_later(stage):
        return plan.label, shown_value(plan)
    return plan.label, f"s.{ident(column)}"


# -- checks across rows ----------------------------------------------------------------------
def _insert_problems(
    warehouse: Warehouse,
    stage: StagePlan,
    column_label: str,
    value_sql: str,
    reason_sql: str,
    condition: str,
    params: Params,
    extra_from: str = "",
    *,
    summary: str | None = None,
    set_aside: bool = False,
) -> None:
    """Record a problem for each staged row meeting `condition` that has none yet.

    Rows with a problem do not load, so they are not checked further. `summary` is the
    reason as the load report counts it, when `reason_sql` differs from row to row.
    """
    summary_sql = "NULL" if summary is None else params.add(summary)
    sql = (
        f"INSERT INTO {PROBLEMS} SELECT {params.add(stage.table.name)}, s.rowid, s._source, "
        f"s._row, {params.add(column_label)}, CAST({value_sql} AS VARCHAR), {reason_sql}, "
        f"{params.add(set_aside)}, {summary_sql} "
        f"FROM {ident(stage.relation)} s{extra_from} WHERE ({condition}) "
        f"AND {_no_problem(warehouse, stage.table.name, params)}"
    )
    warehouse.run_sql(sql, params.values)


def _has_duplicates(warehouse: Warehouse, stage: StagePlan) -> bool:
    """Whether two rows without problems have the same key."""
    params = Params()
    clean = _no_problem(warehouse, stage.table.name, params)
    found = warehouse.fetch_value(
        f"SELECT count(*) - count(DISTINCT ({idents(stage.table.primary_key)})) "
        f"FROM {ident(stage.relation)} s WHERE {clean}",
        params.values,
    )
    return bool(found)


def _check_duplicates(warehouse: Warehouse, stage: StagePlan) -> None:
    if not _has_duplicates(warehouse, stage):
        return
    key_sql = idents(stage.table.primary_key)
    keys = stage.table.primary_key
    params = Params()
    ranked = (
        f"(SELECT rowid AS stage_row, min(_row) OVER (PARTITION BY {key_sql}) AS first_row, "
        f"row_number() OVER (PARTITION BY {key_sql} ORDER BY _source, _row, rowid) AS nth "
        f"FROM {ident(stage.relation)} s WHERE {_no_problem(warehouse, stage.table.name, params)})"
    )
    reason = (
        f"{params.add('is a duplicate key (first at row ')} || CAST(d.first_row AS VARCHAR) || "
        f"{params.add('; keep one row per key, or set duplicates: first or last)')}"
    )
    value = f"concat_ws(', ', {', '.join(f's.{ident(k)}' for k in keys)})"
    _insert_problems(
        warehouse,
        stage,
        ", ".join(keys),
        value,
        reason,
        "d.nth > 1",
        params,
        extra_from=f" JOIN {ranked} d ON d.stage_row = s.rowid",
        summary="is a duplicate key (keep one row per key, or set duplicates: first or last)",
    )


def _check_references(
    warehouse: Warehouse,
    stage: StagePlan,
    references: References,
    batch_tables: Sequence[str],
) -> None:
    """Keys must exist in the warehouse or among the good rows of this batch."""
    for column in stage.table.foreign_keys:
        if (references == "required" and column.nullable) or stage.plan(column.name).is_empty:
            continue
        assert column.references is not None
        target, key = column.references.split(".")
        name = f"s.{ident(column.name)}"
        label, value = _shown(stage, column.name)
        known = [f"SELECT {ident(key)} FROM main.{ident(target)} WHERE {ident(key)} NOT NULL"]
        if target in batch_tables:
            known.append(f"SELECT {ident(key)} FROM {ident(good_relation(target))}")
            not_known = f"{name} NOT IN ({' UNION ALL '.join(known)})"
            for set_aside, reason in (
                (True, f"refers to a row of {target} that was set aside (see its reason)"),
                (
                    False,
                    f"refers to a row of {target} that is quarantined itself (see its problem)",
                ),
            ):
                params = Params()
                left_out = (
                    f"SELECT {ident(key)} FROM {ident(f'_stage_{target}')} WHERE rowid IN "
                    f"(SELECT stage_row FROM {ident(quarantined_relation(target))} "
                    f"WHERE set_aside = {params.add(set_aside)})"
                )
                condition = f"{name} IN ({left_out}) AND {not_known}"
                reason_sql = params.add(reason)
                _insert_problems(
                    warehouse,
                    stage,
                    label,
                    value,
                    reason_sql,
                    condition,
                    params,
                    set_aside=set_aside,
                )
        params = Params()
        reason = f"is not a known {target}.{key} (load {target} first, or in the same batch)"
        condition = f"{name} IS NOT NULL AND {name} NOT IN ({' UNION ALL '.join(known)})"
        _insert_problems(warehouse, stage, label, value, params.add(reason), condition, params)


def _check_cross(
    warehouse: Warehouse,
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
    _insert_problems(
        warehouse,
        stage,
        label,
        value,
        params.add(reason),
        f"s.{ident(rule.column)} < t.{ident(rule.target_column)}",
        params,
        extra_from=f" JOIN ({current}) t ON t.{ident(key)} = s.{ident(rule.via)}",
    )


# -- what loads --------------------------------------------------------------------------------
def _good_rows(warehouse: Warehouse, stage: StagePlan, duplicates: str) -> ValidatedTable:
    """The rows that load: a view over the stage, without the rows that have a problem or
    were set aside and, with `duplicates: first` or `last`, those merged into another row
    with the same key (small tables of their stage rows)."""
    table = stage.table
    relation = ident(stage.relation)
    quarantined = quarantined_relation(table.name)
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(quarantined)} AS SELECT stage_row, "
        f"bool_or(set_aside) AS set_aside FROM {PROBLEMS} WHERE table_name = $t GROUP BY ALL",
        {"t": table.name},
    )
    counts = warehouse.fetch_row(
        f"SELECT (SELECT count(*) FROM {relation}), count(*) FILTER (WHERE NOT set_aside), "
        f"count(*) FILTER (WHERE set_aside) FROM {ident(quarantined)}"
    )
    staged, problem_rows, set_aside = (int(c) for c in counts) if counts else (0, 0, 0)
    left_out = [quarantined] if problem_rows or set_aside else []
    merged = 0
    if duplicates != "reject" and _has_duplicates(warehouse, stage):
        merged = _merge_duplicates(warehouse, stage, duplicates)
        left_out.append(merged_relation(table.name))
    columns = ", ".join(f"s.{ident(c)}" for c in ["_source", "_row", *table.column_names])
    without = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {ident(name)} x WHERE x.stage_row = s.rowid)"
        for name in left_out
    )
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP VIEW {ident(good_relation(table.name))} AS "
        f"SELECT {columns} FROM {relation} s" + (f" WHERE {without}" if without else "")
    )
    good = good_relation(table.name)
    return ValidatedTable(table, good, staged, problem_rows, merged, set_aside)


def _merge_duplicates(warehouse: Warehouse, stage: StagePlan, duplicates: str) -> int:
    """Record the rows without problems whose key an earlier row (`first`) or a later one
    (`last`, in file order) has; returns how many there are."""
    keys = idents(stage.table.primary_key)
    order = "DESC" if duplicates == "last" else ""
    params = Params()
    merged = merged_relation(stage.table.name)
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(merged)} AS SELECT stage_row FROM "
        f"(SELECT rowid AS stage_row, row_number() OVER (PARTITION BY {keys} "
        f"ORDER BY _source {order}, _row {order}, rowid {order}) AS nth "
        f"FROM {ident(stage.relation)} s WHERE {_no_problem(warehouse, stage.table.name, params)}) "
        "WHERE nth > 1",
        params.values,
    )
    return int(warehouse.fetch_value(f"SELECT count(*) FROM {ident(merged)}") or 0)
