"""The filters offer exactly the values a breakdown can show, and stores by their names in
each page language the data gives."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.kpi import KpiQuery
from omnikpi.kpi.atoms import atoms_of
from omnikpi.kpi.domains import data_values
from omnikpi.model import table as model_table
from omnikpi.services import load_filter_choices
from omnikpi.services.choices import StoreName, covering_sources, load_store_names
from omnikpi.simulate.reference import STORE_NAMES_KO
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_END

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def breakdown_values(engine: KpiQuery, dimension: str) -> set[str]:
    """Every value the breakdowns by `dimension` show over the whole simulation, one KPI
    per source that maps the dimension (the value "Not set" left out)."""
    catalog = engine.catalog
    shown: set[str] = set()
    for source in catalog.sources:
        if dimension not in catalog.source_dimensions(source):
            continue
        kpi_id = next(
            (
                kpi_id
                for kpi_id in catalog.kpis
                if dimension in engine.dimensions(kpi_id)
                and source in {atom.source for atom in atoms_of(engine.planner.plan(kpi_id))}
            ),
            None,
        )
        assert kpi_id is not None, f"no KPI can show {dimension} of source {source}"
        rows = engine.run([kpi_id], "year", "2024-01-01", SIM_END, by=[dimension])
        shown |= {str(value) for value in rows[dimension] if not pd.isna(value)}
    return shown


@pytest.mark.parametrize("dimension", ["region", "store", "channel"])
def test_each_filter_offers_exactly_the_values_a_breakdown_shows(
    engine: KpiQuery, sim: Warehouse, dimension: str
) -> None:
    choices = load_filter_choices(engine.catalog, sim)
    offered = {"region": choices.regions, "store": choices.store_ids, "channel": choices.channels}
    assert set(offered[dimension]) == breakdown_values(engine, dimension)


@pytest.mark.parametrize("dimension", ["region", "store", "channel"])
def test_sources_taking_the_column_from_another_are_not_read_again(
    engine: KpiQuery, sim: Warehouse, dimension: str
) -> None:
    catalog = engine.catalog
    mapping = [s for s in catalog.sources if dimension in catalog.source_dimensions(s)]
    covering = covering_sources(catalog, dimension)
    assert set(covering) < set(mapping)
    assert data_values(catalog, sim, dimension, covering) == data_values(
        catalog, sim, dimension, mapping
    )
    assert "purchases" not in covering  # the orders' rows, filtered
    assert "order_lines" not in covering  # joins the order's columns from orders


def test_stores_are_named_in_english_and_in_korean(engine: KpiQuery, sim: Warehouse) -> None:
    stores = dict(load_filter_choices(engine.catalog, sim).stores)
    english = {store.name: store for store in stores.values()}
    assert english["Myeongdong Flagship"].in_language("ko") == "명동 플래그십"
    assert english["Myeongdong Flagship"].in_language("en") == "Myeongdong Flagship"
    for name, store in english.items():
        assert store.in_language("ko") == STORE_NAMES_KO[name]
        assert HANGUL.search(store.in_language("ko")), name
    assert [store.name for store in stores.values()] == sorted(english)


def test_a_warehouse_without_names_per_language_names_stores_as_stored() -> None:
    with Warehouse.create(Path(":memory:")) as warehouse:
        warehouse.run_sql('ALTER TABLE stores DROP COLUMN "name_ko"')
        warehouse.run_sql('ALTER TABLE stores DROP COLUMN "name_en"')
        columns = ", ".join(c for c in model_table("stores").column_names if "name_" not in c)
        warehouse.run_sql(
            f"INSERT INTO stores ({columns}) VALUES ('S1', 'Hongdae', 'store', 'Seoul', "
            "'Mapo-gu', 37.5, 126.9, DATE '2020-01-01', NULL, 'Asia/Seoul', 210.0)"
        )
        names = load_store_names(warehouse, ["S1", "S9"])
    assert names == {"S1": StoreName("Hongdae"), "S9": StoreName("S9")}
    assert names["S1"].in_language("ko") == "Hongdae"


def test_a_name_per_language_is_shown_only_on_pages_in_that_language() -> None:
    store = StoreName("명동 플래그십", {"en": "Myeongdong Flagship"})
    assert store.in_language("en") == "Myeongdong Flagship"
    assert store.in_language("ko") == "명동 플래그십"
    assert StoreName("Hongdae", {"ko": ""}).in_language("ko") == "Hongdae"
