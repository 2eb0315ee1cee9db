"""The strptime codes a mapping may use are exactly those DuckDB reads."""

from __future__ import annotations

import string

import duckdb
import pytest

from omnikpi.ingest.formats import CODES, UNPADDED, time_format_problem


def duckdb_reads(fmt: str) -> bool:
    try:
        duckdb.connect().execute("SELECT try_strptime('x', $f)", {"f": fmt})
    except duckdb.Error:
        return False
    return True


@pytest.mark.parametrize("code", sorted(set(string.ascii_letters) | {"%", "-"}))
def test_the_codes_are_those_duckdb_reads(code: str) -> None:
    for fmt in (f"%Y %{code}", f"%Y %-{code}"):
        assert (time_format_problem(fmt) is None) == duckdb_reads(fmt), fmt
    assert (code in CODES) == duckdb_reads(f"%{code}")
    assert (code in UNPADDED) == duckdb_reads(f"%-{code}")


@pytest.mark.parametrize("fmt", ["", "%", "%Y %", "%Y%-", "yyyy-MM-dd", "%%"])
def test_formats_without_a_code_or_with_a_broken_one_are_refused(fmt: str) -> None:
    assert time_format_problem(fmt) is not None
