"""Validation: stage each table with its row checks, then check keys and references.

Every failed check becomes one problem row (source file, row number, column, value,
reason) in the temporary `_problems` table; rows without problems are the ones that load.
Rows a preset sets aside (`_set_aside`: not errors, just not rows of that table, such as
stock adjustments written as invoices) are kept there too, marked `set_aside`, so the
load report can count them by reason.
Checks of a row on its own run while the table is staged (`checks.py`); the checks here
need the whole batch or the warehouse. The plausibility rules are declared in `rules.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from omnikpi.ingest.checks import problems_sql, row_checks, shown_value
from omnikpi.ingest.expressions import ColumnPlan, StagePlan
from omnikpi.ingest.rules import CROSS_RULES, TimeRule
from omnikpi.ingest.sql import Params, ident, idents
from omnikpi.model import Table
from omnikpi.model import table as model_table
from omnikpi.warehouse import Warehouse

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
    set_aside: int = 0


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
    if duplicates == "reject":
        _check_duplicates(warehouse, stage)
    _check_references(warehouse, stage, references, batch_tables)
    for cross in CROSS_RULES:
        if cross.table == table.name and not stage.plan(cross.column).is_empty:
            _check_cross(warehouse, stage, cross, batch_tables)
    return _good_rows(warehouse, stage, duplicates)


def good_relation(table: str) -> str:
    """The temporary relation holding the rows of `table` that passed validation."""
    return f"_good_{table}"


def quarantined_relation(table: str) -> str:
    """The temporary table of the staged rows of `table` that do not load: each with
    `set_aside` true when it was set aside, false when it has a problem."""
    return f"_quarantined_{table}"


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


def _reported_later(stage: StagePlan) -> list[ColumnPlan]:
    """Columns whose source text the checks after staging may show, if it is not the value."""
    table = stage.table
    names = {c.name for c in table.foreign_keys}
    names |= {rule.column for rule in CROSS_RULES if rule.table == table.name}
    return [
        p
        for p in stage.columns
        if p.column.name in names and p.source_sql is not None and not p.is_source_text
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
        f"AND s.rowid NOT IN (SELECT stage_row FROM {PROBLEMS} "
        f"WHERE table_name = {params.add(stage.table.name)})"
    )
    warehouse.run_sql(sql, params.values)


def _check_duplicates(warehouse: Warehouse, stage: StagePlan) -> None:
    keys = stage.table.primary_key
    key_sql = idents(keys)
    relation = ident(stage.relation)
    clean = f"rowid NOT IN (SELECT stage_row FROM {PROBLEMS} WHERE table_name = $t)"
    row = warehouse.fetch_row(
        f"SELECT count(*) - count(DISTINCT ({key_sql})) FROM {relation} WHERE {clean}",
        {"t": stage.table.name},
    )
    if not row or not row[0]:
        return
    params = Params()
    clean = clean.replace("$t", params.add(stage.table.name))
    ranked = (
        f"(SELECT rowid AS stage_row, min(_row) OVER (PARTITION BY {key_sql}) AS first_row, "
        f"row_number() OVER (PARTITION BY {key_sql} ORDER BY _source, _row) AS nth "
        f"FROM {relation} WHERE {clean})"
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
    """The rows that load: a view over the staged rows without problems.

    With `duplicates: first` or `last`, one row per key is kept, in a table (later checks
    and the load read it several times).
    """
    table = stage.table
    relation = ident(stage.relation)
    quarantined = ident(quarantined_relation(table.name))
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {quarantined} AS SELECT stage_row, "
        f"bool_or(set_aside) AS set_aside FROM {PROBLEMS} WHERE table_name = $t GROUP BY ALL",
        {"t": table.name},
    )
    counts = warehouse.fetch_row(
        f"SELECT (SELECT count(*) FROM {relation}), count(*) FILTER (WHERE NOT set_aside), "
        f"count(*) FILTER (WHERE set_aside) FROM {quarantined}"
    )
    staged, problem_rows, set_aside = (int(c) for c in counts) if counts else (0, 0, 0)
    columns = idents(["_source", "_row", *table.column_names])
    select = f"SELECT {columns} FROM {relation}"
    if problem_rows or set_aside:
        select += f" WHERE rowid NOT IN (SELECT stage_row FROM {quarantined})"
    good = good_relation(table.name)
    if duplicates == "reject":
        warehouse.run_sql(f"CREATE OR REPLACE TEMP VIEW {ident(good)} AS {select}")
        return ValidatedTable(table, good, staged, problem_rows, merged=0, set_aside=set_aside)
    order = "DESC" if duplicates == "last" else ""
    warehouse.run_sql(
        f"CREATE OR REPLACE TEMP TABLE {ident(good)} AS SELECT * FROM ({select}) QUALIFY "
        f"row_number() OVER (PARTITION BY {idents(table.primary_key)} "
        f"ORDER BY _source {order}, _row {order}) = 1"
    )
    kept = int(warehouse.fetch_value(f"SELECT count(*) FROM {ident(good)}") or 0)
    merged = staged - problem_rows - set_aside - kept
    return ValidatedTable(table, good, staged, problem_rows, merged, set_aside)
