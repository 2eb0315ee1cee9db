"""Checks of one row on its own: types, bounds, required values, categories, plausibility,
the clock.

They are compiled into the statement that stages a table (`validate.py`), so a table is
converted and checked in one pass over its source: each row gets the list of its
problems (column, value as found in the source, reason), NULL when it has none, and the
source text of a value is only kept where the value failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from omnikpi.ingest.bounds import Bounds, column_bounds, has_bounds
from omnikpi.ingest.expressions import (
    PLACEHOLDER_TEXT,
    ColumnPlan,
    StagePlan,
    is_placeholder_checked,
)
from omnikpi.ingest.rules import ROW_RULES, RowRule
from omnikpi.ingest.sql import Params, ident

#: How far ahead of the load's clock a timestamp may be (client and server clocks drift).
FUTURE_TOLERANCE = timedelta(minutes=10)
#: What the model's numeric types hold, for the reason of a value beyond them.
_NUMBER_LIMITS = {
    "int": "whole numbers from -9,223,372,036,854,775,808 to 9,223,372,036,854,775,807",
    "money": "amounts up to 9,999,999,999,999,999.99 (DECIMAL(18,2))",
    "float": "finite numbers",
}
#: DuckDB type of a row's problems: what `problems_sql` gives.
PROBLEM_LIST = 'STRUCT("column" VARCHAR, "value" VARCHAR, reason VARCHAR, set_aside BOOLEAN)[]'


@dataclass(frozen=True)
class RowCheck:
    """One check of a converted row `s`, as SQL: when it `fails`, and the problem to report
    (`column` as users know it, `value` as found in the source, `reason`)."""

    column: str
    value: str
    reason: str
    fails: str


def row_checks(stage: StagePlan, now: datetime, params: Params) -> list[RowCheck]:
    """Every check of one row, in the order their problems are reported."""
    checks = [c for plan in stage.columns for c in _column_checks(stage, plan, now, params)]
    for rule in ROW_RULES:
        if rule.table == stage.table.name:
            checks += _rule_check(stage, rule, params)
    checks += _future_checks(stage, now, params)
    return checks


def problems_sql(stage: StagePlan, checks: list[RowCheck]) -> str:
    """SQL of a row's problems: a list of (column, value, reason), or NULL for a good row.

    A row a preset view set aside (`_set_aside`) or flagged (`_problem`) has that entry
    only. Only rows failing some check build the list, so good rows cost one test of each
    condition.
    """
    cases = []
    if stage.sets_aside:
        aside = _problem_struct("''", "NULL", "s._set_aside", set_aside=True)
        cases.append(f"WHEN s._set_aside IS NOT NULL THEN [{aside}]")
    if stage.flagged:
        flag = _problem_struct("s._problem_column", "s._problem_value", "s._problem")
        cases.append(f"WHEN s._problem IS NOT NULL THEN [{flag}]")
    if checks:
        fails = " OR ".join(f"({c.fails})" for c in checks)
        found = ", ".join(
            f"CASE WHEN {c.fails} THEN {_problem_struct(c.column, c.value, c.reason)} END"
            for c in checks
        )
        cases.append(f"WHEN {fails} THEN list_filter([{found}], lambda p: p IS NOT NULL)")
    if not cases:
        return f"CAST(NULL AS {PROBLEM_LIST})"
    return f"CAST(CASE {' '.join(cases)} END AS {PROBLEM_LIST})"


def shown_value(plan: ColumnPlan) -> str:
    """SQL of a column's value as messages show it: the source text when there is one,
    but the keyed hash of a pseudonymised column (its source text never reaches the
    quarantine)."""
    name = plan.raw_name if plan.source_sql is not None and not plan.hashed else plan.column.name
    return f"s.{ident(name)}"


def _problem_struct(column: str, value: str, reason: str, *, set_aside: bool = False) -> str:
    return (
        f'struct_pack("column" := CAST({column} AS VARCHAR), '
        f'"value" := CAST({value} AS VARCHAR), reason := CAST({reason} AS VARCHAR), '
        f"set_aside := {'true' if set_aside else 'false'})"
    )


def _column_checks(
    stage: StagePlan, plan: ColumnPlan, now: datetime, params: Params
) -> list[RowCheck]:
    if plan.source_sql is None:
        return []  # constants were checked with the mapping; unmapped columns are null
    column = plan.column
    name = f"s.{ident(column.name)}"
    label, value = params.add(plan.label), shown_value(plan)
    text = _qualify(plan)
    checks = []
    # A placeholder date (year 1 or 9999) is no value: unknown where the column is optional.
    placeholder = (
        f"regexp_matches({text}, {params.add(PLACEHOLDER_TEXT)})"
        if is_placeholder_checked(plan)
        else None
    )
    if plan.failure:
        fails = f"{text} IS NOT NULL AND {name} IS NULL"
        if placeholder:
            fails += f" AND NOT {placeholder}"
        reason = params.add(plan.failure)
        if column.type in _NUMBER_LIMITS:
            reason = _number_reason(column.type, text, reason, params)
        checks.append(RowCheck(label, value, reason, fails))
    if column.type == "float":  # NaN and infinity convert; no KPI can add them up
        reason = params.add(f"is not a finite number ({_NUMBER_LIMITS['float']} only)")
        checks.append(RowCheck(label, value, reason, f"NOT isfinite({name})"))
    if has_bounds(stage.table.name, column.name, column.type):
        checks.append(_bounds_check(stage, plan, now, params))
    if not column.nullable:
        reason = f"is empty, but {stage.table.name}.{column.name} is required"
        fails = f"{name} IS NULL AND {text} IS NULL"
        checks.append(RowCheck(label, value, params.add(reason), fails))
        if placeholder:
            reason = (
                "stands for no date (year 1 or 9999), but "
                f"{stage.table.name}.{column.name} is required"
            )
            fails = f"{name} IS NULL AND {text} IS NOT NULL AND {placeholder}"
            checks.append(RowCheck(label, value, params.add(reason), fails))
    if column.allowed_values:
        allowed = list(column.allowed_values)
        where = f"tables.{stage.table.name}.columns.{column.name}"
        reason = f"is not one of {', '.join(allowed)} (map it with map: under {where})"
        fails = f"{name} IS NOT NULL AND NOT list_contains({params.add(allowed)}, {name})"
        checks.append(RowCheck(label, value, params.add(reason), fails))
    return checks


def _number_reason(kind: str, text: str, reason: str, params: Params) -> str:
    """SQL of the reason a number failed: beyond its type, not finite, or not a number
    (only rows that failed compute it)."""
    separators = params.add(r"[\s,_']")
    number = f"TRY_CAST(regexp_replace({text}, {separators}, '', 'g') AS DOUBLE)"
    return (
        f"CASE WHEN {number} IS NULL THEN {reason} "
        f"WHEN isfinite({number}) THEN {params.add(f'is beyond the {_NUMBER_LIMITS[kind]}')} "
        f"ELSE {params.add('is not a finite number (NaN or infinity)')} END"
    )


def _bounds_check(stage: StagePlan, plan: ColumnPlan, now: datetime, params: Params) -> RowCheck:
    """The value lies within its column's bounds (`bounds.py`): the mapping's, else the
    defaults on the load's day."""
    table, column = stage.table.name, plan.column
    bounds = column_bounds(table, column.name, now.date(), plan.earliest, plan.latest)
    name = f"s.{ident(column.name)}"
    fails = f"{name} NOT BETWEEN {_limit_sql(bounds, column.type, params)}"
    field = f"tables.{table}.columns.{column.name}"
    reason = (
        f"is outside {bounds.describe()}, the range of {table}.{column.name} "
        f"(set earliest: or latest: under {field} in the mapping to change it)"
    )
    return RowCheck(params.add(plan.label), shown_value(plan), params.add(reason), fails)


def _limit_sql(bounds: Bounds, column_type: str, params: Params) -> str:
    """`low AND high` for BETWEEN: dates, UTC instants (the latest day whole) or years."""
    if column_type == "timestamp":
        last = bounds.end_instant() - timedelta(microseconds=1)
        return f"{params.add(bounds.first_instant())} AND {params.add(last)}"
    if column_type == "date":
        return f"{params.add(bounds.earliest)} AND {params.add(bounds.latest)}"
    return f"{params.add(bounds.earliest.year)} AND {params.add(bounds.latest.year)}"


def _qualify(plan: ColumnPlan) -> str:
    """The checked-text expression of a column, over the staged row `s`."""
    text = plan.checked_text
    assert text is not None
    for column in (plan.text_name, plan.raw_name):
        text = text.replace(ident(column), f"s.{ident(column)}")
    return text


def _rule_check(stage: StagePlan, rule: RowRule, params: Params) -> list[RowCheck]:
    plan = stage.plan(rule.column)
    if plan.is_empty:
        return []
    fails = f"NOT ({rule.condition()})"
    return [RowCheck(params.add(plan.label), shown_value(plan), params.add(rule.reason), fails)]


def _future_checks(stage: StagePlan, now: datetime, params: Params) -> list[RowCheck]:
    table = stage.table
    checks = []
    for plan in stage.columns:
        column = plan.column
        is_time_column = column.name == table.time_column
        if column.type != "timestamp" and not (column.type == "date" and is_time_column):
            continue
        if plan.source_sql is None:
            continue
        bound = params.add(now + FUTURE_TOLERANCE)
        if column.type == "date":
            bound = f"CAST(timezone({params.add(stage.time_zone)}, {bound}) AS DATE)"
        reason = f"is in the future (after {now:%Y-%m-%d %H:%M} UTC; check the time zone)"
        fails = f"s.{ident(column.name)} > {bound}"
        checks.append(
            RowCheck(params.add(plan.label), shown_value(plan), params.add(reason), fails)
        )
    return checks
