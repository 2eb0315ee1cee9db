"""The population of a KPI value — the distinct customers behind it — on the golden
retailer, counted by hand from the orders table in tests/kpi/golden_data.py; and the same
counts read from rollups."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from omnikpi.kpi import load_catalog
from omnikpi.kpi.atoms import atoms_of, make_atom
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.plan import Planner
from omnikpi.kpi.population import population_atom, population_atoms
from omnikpi.kpi.request import KpiRequest
from omnikpi.kpi.rollup_reader import RollupReader
from omnikpi.kpi.rollups import catalog_atoms
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick

MARCH = ("month", "2025-03-01", "2025-03-31")


def _counted(kpis: str, *view: str, **parts: object) -> KpiRequest:
    return replace(KpiRequest.parse(kpis, *view, **parts), population=True)  # type: ignore[arg-type]


def test_the_population_is_the_distinct_customers_behind_each_value(golden: Warehouse) -> None:
    request = _counted(
        "revenue,orders,payment_type_share", *MARCH, by=["channel"], compare="previous"
    )
    frame = KpiQuery(load_catalog(), golden).answer(request)

    def population(kpi: str, column: str = "population", **dims: str) -> object:
        return pick(frame, kpi, "2025-03-01", column, **dims)

    # Completed web orders in March: O6 (C1) and O7 (C4); the guest's O9 was cancelled.
    assert population("revenue", channel="web") == 2
    # Every web order counts for `orders`: O6 (C1), O7 (C4) and O9 (a guest: one person).
    assert population("orders", channel="web") == 3
    # Store: O8 (C2) and O11 (C1); app: O10 (C3).
    assert population("revenue", channel="store") == 2
    assert population("revenue", channel="app") == 1
    # February, the compared month: web O5 (C3), app O4 (C1), no store order.
    assert population("revenue", "comparison_population", channel="web") == 1
    assert population("revenue", "comparison_population", channel="app") == 1
    assert population("revenue", "comparison_population", channel="store") == 0
    # A share's cells are its parts: web card orders O6 (C1) and O9 (guest), mobile O7 (C4).
    assert population("payment_type_share", channel="web", payment_method="card") == 2
    assert population("payment_type_share", channel="web", payment_method="mobile_pay") == 1


def test_the_total_counts_each_customer_once(golden: Warehouse) -> None:
    frame = KpiQuery(load_catalog(), golden).answer(_counted("revenue", *MARCH))
    # C1 bought on the web and in a store: C1, C2, C3, C4.
    assert pick(frame, "revenue", "2025-03-01", "population") == 4


def test_kpis_describing_no_customer_have_no_population(golden: Warehouse) -> None:
    catalog = load_catalog()
    frame = KpiQuery(catalog, golden).answer(_counted("ad_spend", *MARCH))
    assert frame["population"].tolist() == [None]
    spend = atoms_of(Planner(catalog).plan("ad_spend"))
    assert [population_atom(catalog, atom) for atom in spend] == [None]


def test_without_asking_there_are_no_population_columns(golden: Warehouse) -> None:
    frame = KpiQuery(load_catalog(), golden).answer(KpiRequest.parse("revenue", *MARCH))
    assert "population" not in frame.columns


def test_each_kind_of_atom_counts_the_customers_of_its_own_rows() -> None:
    catalog = load_catalog()
    key = "coalesce(customer_id, order_id)"
    total = make_atom("sum", "order_lines", expr="net_amount", filter="is_completed")
    assert population_atom(catalog, total) == make_atom(
        "count_distinct", "order_lines", expr=key, filter="is_completed"
    )
    # A trailing window counts the customers of the whole window, not of the period.
    active = make_atom("trailing_count", "purchases", entity="customer_id", window_days=365)
    assert population_atom(catalog, active) == make_atom(
        "trailing_count", "purchases", entity=key, min_events=1, window_days=365
    )
    # A funnel's population took its first step; a level of customers is its own count.
    searches = make_atom(
        "funnel", "events", unit="session_id", start="event_type == 'search'", then="x"
    )
    found = population_atom(catalog, searches)
    assert found is not None
    assert found.get("filter") == "event_type == 'search'"
    members = make_atom("level", "customers", start="member_since", end="member_until")
    assert population_atom(catalog, members) == members


def test_a_source_built_on_another_inherits_its_customer_unless_it_summarizes() -> None:
    catalog = load_catalog()
    assert catalog.source_customer("purchases") == catalog.source_customer("orders")
    assert catalog.source_customer("orders") == "coalesce(customer_id, order_id)"
    assert catalog.source_customer("competitor_daily") is None
    assert catalog.source_customer("marketing") is None


def test_rollups_store_population_atoms_and_give_the_direct_counts(
    golden_rolled_path: Path, tmp_path: Path
) -> None:
    catalog = load_catalog()
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    planner = Planner(catalog)
    every = {a.key for k in catalog.kpis for a in population_atoms(catalog, planner.plan(k))}
    assert every <= {a.key for a in catalog_atoms(catalog)}
    kpis = "revenue,orders,aov,conversion_rate,active_customers,payment_type_share"
    wanted = {a.key for k in kpis.split(",") for a in population_atoms(catalog, planner.plan(k))}
    shapes = [
        _counted(kpis, *MARCH, by=["channel"], compare="previous"),
        _counted(kpis, "week", "2025-03-03", "2025-03-16"),
        _counted(kpis, "day", "2025-03-01", "2025-03-14", filters={"channel": ["web"]}),
    ]
    with Warehouse.open(path) as warehouse:
        stored = RollupReader(catalog, warehouse).available
        assert wanted <= stored
        direct = KpiQuery(catalog, warehouse, rollups=False).answer_many(shapes)
        rolled = KpiQuery(catalog, warehouse).answer_many(shapes)
    for from_raw, from_rollups in zip(direct, rolled, strict=True):
        for column in ("population", "comparison_population"):
            assert from_raw[column].tolist() == from_rollups[column].tolist(), column
        assert from_raw["population"].notna().any()


@pytest.mark.parametrize("kpi", ["revenue", "nps", "visits", "backlog"])
def test_kpis_of_customer_sources_have_population_atoms(kpi: str) -> None:
    catalog = load_catalog()
    assert population_atoms(catalog, Planner(catalog).plan(kpi))
