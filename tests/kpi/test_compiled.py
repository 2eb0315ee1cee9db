"""Compiled SQL per query shape: reused for other dates and filter values, same answers."""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd
import pytest

from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.kpi.atoms import Atom, atoms_of
from omnikpi.kpi.compiled import compile_shape, sentinel_scope
from omnikpi.kpi.compute import Computer
from omnikpi.kpi.periods import Grain
from omnikpi.kpi.scope import Scope
from omnikpi.warehouse import Warehouse

KPIS = ["revenue", "aov", "orders", "conversion_rate", "exit_rate_product_pages", "nps"]


def _uncompiled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Computer, "_run_compiled", lambda self, batch, scope: None)


@pytest.mark.parametrize(
    ("grain", "start", "end", "parts"),
    [
        ("day", "2024-03-01", "2024-03-10", {"by": ["channel"]}),
        ("week", "2024-02-26", "2024-04-07", {}),
        ("month", "2024-01-01", "2025-03-31", {"filters": {"channel": ["web", "app"]}}),
        ("month", "2024-01-01", "2025-03-31", {"compare": "yoy", "by": ["region"]}),
    ],
)
def test_compiled_queries_answer_what_built_queries_answer(
    golden: Warehouse,
    monkeypatch: pytest.MonkeyPatch,
    grain: str,
    start: str,
    end: str,
    parts: dict[str, object],
) -> None:
    catalog = load_catalog()
    kpis = [k for k in KPIS if k in catalog.kpis]
    compiled = KpiQuery(catalog, golden, rollups=False).run(kpis, grain, start, end, **parts)
    _uncompiled(monkeypatch)
    built = KpiQuery(catalog, golden, rollups=False).run(kpis, grain, start, end, **parts)
    pd.testing.assert_frame_equal(compiled, built)
    assert compiled["value"].notna().any()


def test_a_shape_compiles_once_for_every_range_and_filter_value(
    golden: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog()
    engine = KpiQuery(catalog, golden, rollups=False)
    engine.run(["revenue"], "day", "2024-03-01", "2024-03-05", filters={"channel": ["web"]})
    built: list[object] = []
    query = Computer._query
    monkeypatch.setattr(
        Computer,
        "_query",
        lambda self, batch, scope: built.append(scope) or query(self, batch, scope),
    )
    later = KpiQuery(catalog, golden, rollups=False)  # a new request on the same warehouse
    frame = later.run(["revenue"], "day", "2024-03-06", "2024-03-20", filters={"channel": ["app"]})
    assert built == []  # no Ibis query was built: the SQL of the shape was reused
    _uncompiled(monkeypatch)
    again = KpiQuery(catalog, golden, rollups=False).run(
        ["revenue"], "day", "2024-03-06", "2024-03-20", filters={"channel": ["app"]}
    )
    pd.testing.assert_frame_equal(frame, again)


def test_values_are_written_as_quoted_literals() -> None:
    table = ibis.table({"day": "date", "channel": "string"}, name="t")
    scope = Scope(Grain.DAY, date(2024, 1, 1), date(2024, 1, 31), (), (("channel", ("x",)),))
    shaped = sentinel_scope(scope)
    value = shaped.filters[0][1][0]
    expr = (
        table.filter(table.day.between(shaped.start, shaped.end), table.channel.isin([value]))
        .count()
        .as_table()
    )
    compiled = compile_shape(expr, scope, "Asia/Seoul")
    assert compiled is not None
    hostile = Scope(
        Grain.DAY, date(2024, 2, 1), date(2024, 2, 2), (), (("channel", ("it's'; DROP",)),)
    )
    sql = compiled.bind(hostile, "Asia/Seoul")
    assert sql is not None
    assert "'it''s''; DROP'" in sql
    assert "MAKE_DATE(2024, 2, 1)" in sql
    assert "1234" not in sql


def test_atoms_that_need_a_window_run_apart_and_joins_are_shared(golden: Warehouse) -> None:
    """A count of repeat orders needs each customer's order number, a window over every
    order: the other order counts do not pay it. The exit count's per-session exit and
    the stock of the day are joins: the event counts needing them share the events'
    query with the others (one read of the events, not three)."""
    from omnikpi.kpi.rollups import catalog_atoms

    catalog = load_catalog()
    computer = KpiQuery(catalog, golden, rollups=False).computer
    scope = Scope(Grain.DAY, date(2024, 3, 1), date(2024, 3, 31))
    atoms = [a for a in catalog_atoms(catalog) if a.kind == "count"]

    def filtered(source: str) -> list[Atom]:
        return [a for a in atoms if a.source == source and a.text("time") is None]

    orders = filtered("orders")
    repeat = [a for a in orders if "is_repeat_order" in (a.text("filter") or "")]
    assert repeat
    assert len(repeat) < len(orders)
    batches = computer.batches(orders, scope)
    assert sorted(map(len, batches)) == [len(repeat), len(orders) - len(repeat)]
    assert any(b == repeat for b in batches)
    assert computer.costly(repeat[0], scope) == {"orders.customer_order_number"}

    events = filtered("events")
    texts = [a.text("filter") or "" for a in events]
    assert any("is_exit" in t for t in texts)
    assert any("dc_on_hand" in t for t in texts)
    assert computer.batches(events, scope) == [events]


def test_funnels_of_one_unit_run_in_one_query(golden: Warehouse) -> None:
    catalog = load_catalog()
    engine = KpiQuery(catalog, golden, rollups=False)
    funnels = [
        a
        for k in ("view_to_basket_rate", "view_to_order_rate", "basket_to_order_rate")
        if k in catalog.kpis
        for a in atoms_of(engine.planner.plan(k))
        if a.kind == "funnel"
    ]
    assert len(funnels) == 3
    scope = Scope(Grain.DAY, date(2024, 3, 1), date(2024, 3, 31), ("channel",))
    assert engine.computer.batches(funnels, scope) == [funnels]


def test_a_query_with_a_date_derived_from_the_range_is_not_compiled_by_shape() -> None:
    table = ibis.table({"day": "date"}, name="t")
    scope = Scope(Grain.DAY, date(2024, 1, 1), date(2024, 1, 31))
    shaped = sentinel_scope(scope)
    moved = date(shaped.start.year - 1, shaped.start.month, shaped.start.day)
    expr = table.filter(table.day.between(moved, shaped.end)).count().as_table()
    assert compile_shape(expr, scope, "Asia/Seoul") is None
