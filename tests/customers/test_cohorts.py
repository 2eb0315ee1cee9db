"""Acquisition cohorts on the tiny retailer (tests/customers/tiny_retailer.py), by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest

from omnikpi.customers.cohorts import NO_STORE, cohort_counts, cohort_metrics
from omnikpi.errors import InvalidChoice
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as warehouse:
        yield warehouse


def metrics(warehouse: Warehouse, as_of: date = AS_OF, by: str | None = None) -> pd.DataFrame:
    return cohort_metrics(warehouse.execute(cohort_counts(warehouse, as_of, by)), as_of)


def test_the_december_cohort_by_hand(tiny: Warehouse) -> None:
    table = metrics(tiny)
    december = table[table["cohort"] == date(2024, 12, 1)].set_index("months_since")
    # First orders in December 2024: D (12-01, 25,000) and K (12-20, 10,000): 2 customers.
    # Month 1 (Jan 2025): K 5,000. Months 2-4: nothing. Month 5 (May): D 25,000.
    # Month 6 (June, complete: the date is its last day): nothing.
    assert december["cohort_customers"].unique().tolist() == [2]
    assert december["active_customers"].tolist() == [2, 1, 0, 0, 0, 1, 0]
    assert december["retention"].tolist() == [1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0]
    assert december["revenue_per_customer"].tolist() == [17_500, 2_500, 0, 0, 0, 12_500, 0]
    # Cumulated: 35,000 / 2, then + 2,500, + 12,500 in May = 32,500.
    assert december["cumulative_revenue_per_customer"].tolist() == [
        17_500,
        20_000,
        20_000,
        20_000,
        20_000,
        32_500,
        32_500,
    ]
    assert december["complete"].all()


def test_every_cohort_and_its_size(tiny: Warehouse) -> None:
    table = metrics(tiny)
    sizes = table.groupby("cohort")["cohort_customers"].first().to_dict()
    # First orders: A 2024-02, F 2024-08, B 2024-09, D and K 2024-12, J 2025-01,
    # E 2025-02, I 2025-04 (the cancelled order of June does not count), C 2025-06.
    assert sizes == {
        date(2024, 2, 1): 1,
        date(2024, 8, 1): 1,
        date(2024, 9, 1): 1,
        date(2024, 12, 1): 2,
        date(2025, 1, 1): 1,
        date(2025, 2, 1): 1,
        date(2025, 4, 1): 1,
        date(2025, 6, 1): 1,
    }
    # A's cohort runs from February 2024 (month 0) to June 2025 (month 16); A ordered again
    # in May 2025 (month 15) and June 2025 (month 16).
    a = table[table["cohort"] == date(2024, 2, 1)].set_index("months_since")
    assert a.index.tolist() == list(range(17))
    assert a.loc[[0, 15, 16], "active_customers"].tolist() == [1, 1, 1]
    assert a["active_customers"].sum() == 3


def test_a_date_inside_a_month_leaves_it_incomplete(tiny: Warehouse) -> None:
    table = metrics(tiny, date(2025, 6, 20))
    june = table[table["cohort"] == date(2025, 6, 1)]
    # C's first order 06-16 is in; the month is cut at 06-20.
    assert june[["months_since", "active_customers", "complete"]].values.tolist() == [[0, 1, False]]
    # B's order of 06-25 is after the date: B's cohort (2024-09) has nobody in month 9.
    b = table[table["cohort"] == date(2024, 9, 1)].set_index("months_since")
    assert b.loc[9, "active_customers"] == 0


def test_split_by_first_store_and_by_acquisition_channel(tiny: Warehouse) -> None:
    by_store = metrics(tiny, by="first_store")
    first = by_store[by_store["months_since"] == 0].set_index(["cohort", "first_store"])
    # F's first order was in store S1 (August 2024); everyone else's online.
    assert first.loc[(date(2024, 8, 1), "S1"), "cohort_customers"] == 1
    assert first.loc[(date(2024, 12, 1), NO_STORE), "cohort_customers"] == 2
    by_channel = metrics(tiny, by="acquisition_channel")
    channels = by_channel[by_channel["months_since"] == 0].groupby("acquisition_channel")
    # F was acquired in store, the other 8 buyers on the web.
    assert channels["cohort_customers"].sum().to_dict() == {"store": 1, "web": 8}


def test_an_unknown_split_names_the_choices(tiny: Warehouse) -> None:
    with pytest.raises(InvalidChoice, match="acquisition_channel, first_channel, first_store"):
        cohort_counts(tiny, AS_OF, "region")
