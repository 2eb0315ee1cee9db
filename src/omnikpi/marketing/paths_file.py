"""Reading aggregated paths from a CSV file an analyst wrote or exported.

Columns: `path` (channels in order, joined by " > "), `conversions`, `non_conversions`,
optional `value` (the revenue of the path's conversions) and optional `days` (each
touch's days before the conversion, joined by " > ", for time decay). Errors name the
file, the row, the column and the fix.

    path,conversions,non_conversions,value
    search > email > direct,2,1,200
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

from omnikpi.errors import DataError, NotFound
from omnikpi.marketing.paths import JourneyPaths, PathRecord, paths_from_records

SEPARATOR = ">"
REQUIRED_COLUMNS = ("path", "conversions", "non_conversions")
OPTIONAL_COLUMNS = ("value", "days")


def read_paths_csv(file: Path) -> JourneyPaths:
    """The paths of `file`, encoded; the same path on two rows is counted once, summed."""
    if not file.is_file():
        raise NotFound(f"paths file {file} does not exist (give a CSV with columns path, "
                       "conversions, non_conversions [, value] [, days])")  # fmt: skip
    with file.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [(name or "").strip() for name in reader.fieldnames or []]
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise DataError(
                f"{file.name}: missing column(s) {', '.join(missing)} (needed: path, "
                "conversions, non_conversions; optional: value, days)"
            )
        records = [
            _parse_row(file.name, number, raw, header) for number, raw in enumerate(reader, start=2)
        ]
    if not records:
        raise DataError(f"{file.name}: no paths (add one row per path under the header)")
    return paths_from_records(records)


def _parse_row(
    file: str, number: int, raw: dict[str | None, str | None], header: list[str]
) -> PathRecord:
    row = {(k or "").strip(): (v if isinstance(v, str) else "").strip() for k, v in raw.items()}
    if None in raw:
        raise DataError(f"{file} row {number}: more values than columns (quote a path with commas)")

    def fail(column: str, message: str) -> DataError:
        return DataError(f'{file} row {number}: column "{column}" value "{row[column]}" {message}')

    channels = tuple(part.strip() for part in row["path"].split(SEPARATOR))
    if not row["path"] or any(not channel for channel in channels):
        raise fail("path", 'has an empty channel (join channels with " > ", e.g. "search > email")')

    def number_in(column: str, whole: bool) -> float:
        try:
            value = float(row[column])
        except ValueError:
            raise fail(column, "is not a number (give a count ≥ 0)") from None
        if not math.isfinite(value) or value < 0 or (whole and not value.is_integer()):
            kind = "a whole number ≥ 0" if whole else "a number ≥ 0"
            raise fail(column, f"is not {kind} (fix the row)")
        return value

    value = number_in("value", whole=False) if "value" in header and row["value"] else None
    if "value" in header and value is None:
        raise fail("value", "is empty (give the revenue of the path's conversions, 0 if none)")
    days = None
    if "days" in header:
        days = _days(row["days"], len(channels), fail)
    return PathRecord(
        channels=channels,
        conversions=number_in("conversions", whole=True),
        non_conversions=number_in("non_conversions", whole=True),
        value=value,
        days_before=days,
    )


def _days(text: str, touches: int, fail: Callable[[str, str], DataError]) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(SEPARATOR)]
    try:
        days = tuple(float(part) for part in parts)
    except ValueError:
        raise fail(
            "days", 'is not numbers joined by " > " (one per touch, e.g. "9 > 2 > 0")'
        ) from None
    if len(days) != touches:
        raise fail(
            "days", f"has {len(days)} touch times for {touches} touches (give one per touch)"
        )
    if any(not math.isfinite(d) or d < 0 for d in days):
        raise fail("days", "has a negative or invalid time (days before the conversion, ≥ 0)")
    return days
