"""Reading lift-study inputs from CSV files an analyst wrote or a platform exported.

Conversion lift, one row per group (`exposed` and `holdout`; a platform's `test`/`treatment`
and `control` are read as those):

    group,units,conversions,revenue,revenue_sd
    exposed,4000,280,11200000,210000
    holdout,1000,50,1500000,150000

`revenue` (the group's total) and `revenue_sd` (the standard deviation of revenue per unit)
are optional: without `revenue` there is no incremental revenue or iROAS, without
`revenue_sd` no interval for them.

Brand lift, one row per answer (`group` exposed or control; `answer` yes/no, 1/0 or
true/false):

    group,question,answer
    exposed,awareness,yes
    control,consideration,0

Errors name the file, the row, the column and the fix.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from omnikpi.errors import DataError, NotFound
from omnikpi.marketing.lift import GroupTotals

__all__ = ["read_lift_groups_csv", "read_survey_answers_csv"]

#: A group's name in a file → the lift study's group.
EXPOSED_NAMES = frozenset({"exposed", "test", "treatment"})
HOLDOUT_NAMES = frozenset({"holdout", "control"})
_POSITIVE = frozenset({"yes", "y", "1", "true"})
_NEGATIVE = frozenset({"no", "n", "0", "false"})


def _rows(file: Path, required: tuple[str, ...], form: str) -> Iterator[tuple[int, dict[str, str]]]:
    if not file.is_file():
        raise NotFound(f"file {file} does not exist (give a CSV with columns {form})")
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [(name or "").strip().lower() for name in reader.fieldnames or []]
        missing = [column for column in required if column not in header]
        if missing:
            raise DataError(f"{file.name}: missing column(s) {', '.join(missing)} (needed: {form})")
        for number, raw in enumerate(reader, start=2):
            if None in raw:
                raise DataError(f"{file.name} row {number}: more values than columns")
            yield (
                number,
                {
                    (k or "").strip().lower(): (v if isinstance(v, str) else "").strip()
                    for k, v in raw.items()
                },
            )


def read_lift_groups_csv(file: Path) -> tuple[GroupTotals, GroupTotals]:
    """(holdout, exposed) totals of `file` (see the module docstring)."""
    form = "group, units, conversions [, revenue] [, revenue_sd]"
    groups: dict[str, GroupTotals] = {}
    for number, row in _rows(file, ("group", "units", "conversions"), form):

        def fail(
            column: str, fix: str, row: dict[str, str] = row, number: int = number
        ) -> DataError:
            value = row.get(column, "")
            return DataError(f'{file.name} row {number}: column "{column}" value "{value}" {fix}')

        def amount(column: str, whole: bool, row: dict[str, str] = row) -> float | None:
            text = row.get(column, "")
            if not text:
                return None
            try:
                value = float(text)
            except ValueError:
                raise fail(column, "is not a number") from None
            if not math.isfinite(value) or value < 0 or (whole and not value.is_integer()):
                raise fail(column, "is not " + ("a whole number ≥ 0" if whole else "a number ≥ 0"))
            return value

        name = row["group"].lower()
        group = "exposed" if name in EXPOSED_NAMES else "holdout" if name in HOLDOUT_NAMES else ""
        if not group:
            raise fail("group", "is not a group (exposed or holdout; test or control)")
        if group in groups:
            raise fail("group", f"repeats the {group} group (give one row per group)")
        units, conversions = amount("units", True), amount("conversions", True)
        if units is None or conversions is None:
            raise fail("units" if units is None else "conversions", "is empty (give a count)")
        if units < 1 or conversions > units:
            raise fail("conversions", f"is not between 0 and the group's {units:.0f} units")
        groups[group] = GroupTotals(
            units=int(units),
            conversions=int(conversions),
            revenue=amount("revenue", False),
            revenue_sd=amount("revenue_sd", False),
        )
    missing = [g for g in ("exposed", "holdout") if g not in groups]
    if missing:
        raise DataError(f"{file.name}: no {' or '.join(missing)} row (give one row per group)")
    return groups["holdout"], groups["exposed"]


def read_survey_answers_csv(file: Path) -> list[tuple[str, str, bool]]:
    """(group, question, positive) per answer of `file`, group "control" or "exposed"."""
    answers = []
    for number, row in _rows(file, ("group", "question", "answer"), "group, question, answer"):
        name, answer = row["group"].lower(), row["answer"].lower()
        group = "exposed" if name in EXPOSED_NAMES else "control" if name in HOLDOUT_NAMES else ""
        where = f"{file.name} row {number}"
        if not group:
            raise DataError(
                f'{where}: column "group" value "{row["group"]}" is not exposed or control'
            )
        if not row["question"]:
            raise DataError(f'{where}: column "question" is empty (e.g. awareness)')
        if answer not in _POSITIVE | _NEGATIVE:
            raise DataError(
                f'{where}: column "answer" value "{row["answer"]}" is not yes/no, 1/0 or true/false'
            )
        answers.append((group, row["question"], answer in _POSITIVE))
    if not answers:
        raise DataError(f"{file.name}: no answers (add one row per answer under the header)")
    return answers
