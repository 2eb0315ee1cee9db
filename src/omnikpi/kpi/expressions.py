"""The small expression language of the KPI catalog, compiled to Ibis.

Catalog entries write filters and formulas as Python-like expressions over column names:

    status in ('paid', 'completed') and channel != 'store'
    hours_between(placed_at, shipped_at) <= 24
    iif(score >= 9, 100, iif(score <= 6, -100, 0))

Expressions are parsed with `ast` and only the constructs below are accepted, so a catalog
file can never run arbitrary code. The same expression compiles for every Ibis backend.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import ibis
import ibis.expr.types as ir

from omnikpi.errors import ConfigError
from omnikpi.kpi.local_time import local_date, local_hour

Value = Any  # an Ibis value expression or a Python literal

_COMPARE: dict[type[ast.cmpop], Callable[[Value, Value], Value]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: a % b,
}


def _lit(value: Value) -> Value:
    return value if isinstance(value, ir.Expr) else ibis.literal(value)


def _local_date(value: Value) -> Value:
    """Local calendar date of a timestamp (the session time zone is the configured one)."""
    return local_date(_lit(value))


def _seconds_between(start: Value, end: Value) -> Value:
    return _lit(end).delta(_lit(start), unit="second")


def _days_between(start: Value, end: Value) -> Value:
    return _local_date(end).delta(_local_date(start), unit="day")


def _add_days(day: Value, days: Value) -> Value:
    days = _lit(days)
    return (_local_date(day) + days.cast("int64").as_interval("D")).cast("date")


def _add_hours(moment: Value, hours: Value) -> Value:
    seconds = (_lit(hours) * 3600).round().cast("int64")
    return _lit(moment) + seconds.as_interval("s")


def _if(condition: Value, then: Value, otherwise: Value) -> Value:
    return ibis.ifelse(_lit(condition), _lit(then), _lit(otherwise))


def _date_literal(text: Value) -> Value:
    if isinstance(text, str):
        return ibis.literal(date.fromisoformat(text))
    return _local_date(text)


#: Row-level functions available to every expression.
SCALAR_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "iif": _if,
    "coalesce": lambda *args: ibis.coalesce(*(_lit(a) for a in args)),
    "greatest": lambda *args: ibis.greatest(*(_lit(a) for a in args)),
    "least": lambda *args: ibis.least(*(_lit(a) for a in args)),
    "date": _date_literal,
    "hour": lambda t: local_hour(_lit(t)),
    "weekday": lambda d: _local_date(d).day_of_week.index(),
    "seconds_between": _seconds_between,
    # Cast first: Spark reads the literal 3600.0 as a DECIMAL and would round the result.
    "hours_between": lambda a, b: _seconds_between(a, b).cast("float64") / 3600.0,
    "days_between": _days_between,
    "add_days": _add_days,
    "add_hours": _add_hours,
    "abs": lambda x: _lit(x).abs(),
    "round": lambda x, digits=0: _lit(x).round(digits),
    "lower": lambda s: _lit(s).lower(),
    "lpad": lambda s, width, fill=" ": _lit(s).cast("string").lpad(width, fill),
    "is_null": lambda x: _lit(x).isnull(),
    "not_null": lambda x: _lit(x).notnull(),
    "float": lambda x: _lit(x).cast("float64"),
    "int": lambda x: _lit(x).cast("int64"),
    "str": lambda x: _lit(x).cast("string"),
}


def _count(condition: Value = None) -> Value:
    if condition is None:
        return ibis.literal(1).count()
    return _lit(condition).sum().cast("int64")


#: Aggregate functions, allowed where an expression summarises many rows.
AGGREGATE_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "count": _count,
    "sum": lambda x: _lit(x).sum(),
    "min": lambda x: _lit(x).min(),
    "max": lambda x: _lit(x).max(),
    # Averages are doubles (Ibis would type the mean of a DECIMAL column as that DECIMAL).
    "mean": lambda x: _lit(x).cast("float64").mean(),
    "any": lambda c: _lit(c).any(),
    "nunique": lambda x: _lit(x).nunique(),
}


@dataclass(frozen=True)
class Expression:
    """A parsed catalog expression; `names` are the columns it reads.

    >>> sorted(Expression.parse("hours_between(placed_at, shipped_at) <= sla").names)
    ['placed_at', 'shipped_at', 'sla']
    """

    text: str
    tree: ast.expr
    names: frozenset[str]

    @staticmethod
    def parse(text: str) -> Expression:
        return _parse(text)

    def compile(
        self,
        table: ir.Table,
        extra: Mapping[str, Value] | None = None,
        aggregate: bool = False,
    ) -> Value:
        """The Ibis expression over `table`; `extra` adds named values (e.g. period_start)."""
        return _Compiler(self.text, table, extra or {}, aggregate).visit(self.tree)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Expression:
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f'expression "{text}" is not valid: {exc.msg}') from None
    names: set[str] = set()
    functions = SCALAR_FUNCTIONS.keys() | AGGREGATE_FUNCTIONS.keys()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in ("True", "False", "None"):
            names.add(node.id)
        elif isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in functions
        ):
            raise ConfigError(
                f'expression "{text}" calls an unknown function (use one of: '
                f"{', '.join(sorted(functions))})"
            )
    # A called function's name is a Name node too; it is not a column.
    call_names = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    return Expression(text, tree, frozenset(names - call_names))


class _Compiler:
    def __init__(
        self, text: str, table: ir.Table, extra: Mapping[str, Value], aggregate: bool
    ) -> None:
        self.text = text
        self.table = table
        self.extra = extra
        self.aggregate = aggregate

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f'expression "{self.text}": {what}')

    def visit(self, node: ast.expr) -> Value:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.fail(f"{type(node).__name__} is not allowed")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Value:
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return node.value
        raise self.fail(f"literal {node.value!r} is not allowed")

    def visit_Name(self, node: ast.Name) -> Value:
        if node.id in self.extra:
            return self.extra[node.id]
        if node.id in self.table.columns:
            return self.table[node.id]
        raise self.fail(
            f'unknown column "{node.id}" (available: {", ".join(sorted(self.table.columns))})'
        )

    def visit_IfExp(self, node: ast.IfExp) -> Value:
        return _if(self.visit(node.test), self.visit(node.body), self.visit(node.orelse))

    def visit_BoolOp(self, node: ast.BoolOp) -> Value:
        values = [_lit(self.visit(v)) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = (result & value) if isinstance(node.op, ast.And) else (result | value)
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Value:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~_lit(operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.fail("unsupported unary operator")

    def visit_BinOp(self, node: ast.BinOp) -> Value:
        op = _ARITHMETIC.get(type(node.op))
        if op is None:
            raise self.fail("only + - * / % are allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Div):
            left = _lit(left).cast("float64")
        return op(left, right)

    def visit_Compare(self, node: ast.Compare) -> Value:
        result: Value = None
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(comparator, ast.Tuple | ast.List | ast.Set):
                    raise self.fail("`in` needs a literal list such as ('web', 'app')")
                options = [self.visit(e) for e in comparator.elts]
                part = _lit(left).isin(options)
                part = ~part if isinstance(op, ast.NotIn) else part
            elif isinstance(op, ast.Is | ast.IsNot):
                if not (isinstance(comparator, ast.Constant) and comparator.value is None):
                    raise self.fail("`is` only compares with None")
                part = _lit(left).isnull() if isinstance(op, ast.Is) else _lit(left).notnull()
            else:
                right = self.visit(comparator)
                part = _COMPARE[type(op)](_lit(left), right)
                left = right
            result = part if result is None else result & part
        return result

    def visit_Call(self, node: ast.Call) -> Value:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if node.keywords:
            raise self.fail(f"{name}() takes positional arguments only")
        args = [self.visit(a) for a in node.args]
        if name in AGGREGATE_FUNCTIONS and name not in SCALAR_FUNCTIONS:
            if not self.aggregate:
                raise self.fail(f"{name}() summarises rows and is not allowed here")
            return AGGREGATE_FUNCTIONS[name](*args)
        try:
            return SCALAR_FUNCTIONS[name](*args)
        except TypeError as exc:
            raise self.fail(f"{name}(): {exc}") from None


def compile_expression(
    text: str,
    table: ir.Table,
    extra: Mapping[str, Value] | None = None,
    aggregate: bool = False,
) -> Value:
    """Compile `text` against `table` (see the module docstring for the language)."""
    return Expression.parse(text).compile(table, extra, aggregate)


def referenced_names(text: str) -> frozenset[str]:
    """Column names an expression reads."""
    return Expression.parse(text).names
