"""The catalog's expression language: what it accepts, what it refuses, how it says so."""

from __future__ import annotations

import ibis
import pytest

from omnikpi.errors import ConfigError
from omnikpi.kpi.expressions import compile_expression, referenced_names

TABLE = ibis.memtable(
    {
        "status": ["paid", "cancelled", "completed"],
        "net": [10.0, 5.0, 7.5],
        "qty": [1, 2, 3],
        "tag": [None, "a", "b"],
    }
)


def run(text: str) -> list[object]:
    return ibis.duckdb.connect().execute(TABLE.select(v=compile_expression(text, TABLE))).v.tolist()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status in ('paid', 'completed')", [True, False, True]),
        ("status not in ('paid',)", [False, True, True]),
        ("net * qty - 1", [9.0, 9.0, 21.5]),
        ("qty / 2", [0.5, 1.0, 1.5]),
        ("iif(qty >= 2, 'many', 'one')", ["one", "many", "many"]),
        ("'many' if qty >= 2 else 'one'", ["one", "many", "many"]),
        ("tag is None", [True, False, False]),
        ("coalesce(tag, 'none')", ["none", "a", "b"]),
        ("1 < qty <= 2", [False, True, False]),
        ("not (net > 6 and qty < 3)", [False, True, True]),
        ("lpad(qty, 2, '0')", ["01", "02", "03"]),
    ],
)
def test_expressions(text: str, expected: list[object]) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", "calls an unknown function"),
        ("net.real", "Attribute is not allowed"),
        ("[1, 2][0]", "is not allowed"),
        ("lambda: 1", "Lambda is not allowed"),
        ("nett > 1", 'unknown column "nett" (available: net, qty, status, tag)'),
        ("sum(net)", "sum() summarises rows and is not allowed here"),
        ("status in status", "`in` needs a literal list"),
        ("net >", "is not valid"),
    ],
)
def test_refused_expressions_say_why(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        compile_expression(text, TABLE)
    assert message in str(info.value)


def test_referenced_names_skip_functions() -> None:
    assert referenced_names("hours_between(placed_at, coalesce(shipped_at, now_at)) < 24") == {
        "placed_at",
        "shipped_at",
        "now_at",
    }
