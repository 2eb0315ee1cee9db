"""Reading a paths CSV: channels split on " > ", repeated rows summed, a BOM and spaces
tolerated, touch times per touch; errors name the file, row, column and fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnikpi.errors import DataError, NotFound
from omnikpi.marketing.paths_file import read_paths_csv


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "paths.csv"
    file.write_text(text, encoding="utf-8-sig")
    return file


def decoded(file: Path) -> dict[tuple[str, ...], tuple[float, float, float | None]]:
    paths = read_paths_csv(file)
    values = paths.value if paths.value is not None else [None] * len(paths)
    return {
        tuple(paths.channels[c] for c in row if c >= 0): (conv, non, value)
        for row, conv, non, value in zip(
            paths.touches, paths.conversions, paths.non_conversions, values, strict=True
        )
    }


def test_rows_are_read_and_repeated_paths_summed(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        " path , conversions,non_conversions,value\n"
        "search>email,2,1,20.5\n"
        "search > email ,1,0,9.5\n"
        "Paid Social,0,4,0\n",
    )
    assert decoded(file) == {
        ("search", "email"): (3.0, 1.0, 30.0),
        ("Paid Social",): (0.0, 4.0, 0.0),
    }


def test_days_column(tmp_path: Path) -> None:
    file = write(tmp_path, "path,conversions,non_conversions,days\na > b > a,1,0,10 > 3.5 > 0\n")
    paths = read_paths_csv(file)
    assert paths.days_before is not None
    np.testing.assert_array_equal(paths.days_before[0], [10.0, 3.5, 0.0])
    assert paths.value is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,conversions,non_conversions\n", "paths.csv: no paths"),
        (
            "path,conversions,non_conversions\na,1,2,3\n",
            "paths.csv row 2: more values than columns",
        ),
        ("path,conversions,non_conversions\na,-1,2\n", 'value "-1" is not a whole number ≥ 0'),
        ("path,conversions,non_conversions\n,1,2\n", 'row 2: column "path" value "" has an empty'),
        (
            "path,conversions,non_conversions,days\na > b,1,2,x > 0\n",
            'row 2: column "days" value "x > 0" is not numbers joined by " > "',
        ),
        (
            "path,conversions,non_conversions,days\na,1,2,-3\n",
            'row 2: column "days" value "-3" has a negative or invalid time',
        ),
    ],
)
def test_bad_rows(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError) as error:
        read_paths_csv(write(tmp_path, text))
    assert message in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        read_paths_csv(tmp_path / "none.csv")
