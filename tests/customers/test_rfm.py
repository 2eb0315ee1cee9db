"""RFM scores and groups: quintiles on the tiny retailer and fixed edges on a hand-made
table, each score worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pandas as pd
import pytest
from pydantic import ValidationError

from omnikpi.customers.profile import customer_features
from omnikpi.customers.rfm import RfmConfig, rfm_group_sizes, rfm_scores
from omnikpi.customers.segments import load_segment_rules
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as warehouse:
        yield warehouse


def scored(warehouse: Warehouse, config: RfmConfig) -> pd.DataFrame:
    features = customer_features(warehouse, AS_OF, load_segment_rules().windows)
    return warehouse.execute(rfm_scores(features, config)).set_index("customer_id")


def test_quintile_scores_and_groups_by_hand(tiny: Warehouse) -> None:
    frame = scored(tiny, RfmConfig())
    # 9 buyers; score = min(1 + floor(5 x (rank - 1) / 8), 5), ties take the first rank.
    # Recency ranks the oldest last order first: F 333 d (rank 1), J 171, K 166, E 135,
    # I 81, D 51, C 14, A 10, B 5 (rank 9) -> 1, 1, 2, 2, 3, 4, 4, 5, 5.
    # Frequency: C, E, F, I, J 1 order (rank 1) -> 1; D, K 2 (rank 6: 5/8) -> 4;
    # A 3 (rank 8: 7/8) -> 5; B 4 -> 5.
    # Monetary: I, J 10k (rank 1) -> 1; C, K 15k (rank 3: 2/8) -> 2; F 20k (4/8) -> 3;
    # E 30k (5/8) -> 4; D 50k (6/8) -> 4; A 60k (7/8) -> 5; B 200k -> 5.
    expected = {
        "A": (5, 5, 5, "champions"),
        "B": (5, 5, 5, "champions"),
        "C": (4, 1, 2, "promising"),
        "D": (4, 4, 4, "loyal"),
        "E": (2, 1, 4, "hibernating"),
        "F": (1, 1, 3, "hibernating"),
        "I": (3, 1, 1, "about_to_sleep"),
        "J": (1, 1, 1, "hibernating"),
        "K": (2, 4, 2, "at_risk"),
    }
    columns = ["recency_score", "frequency_score", "monetary_score", "rfm_group"]
    found = {
        c: tuple(int(v) if not isinstance(v, str) else v for v in frame.loc[c, columns])
        for c in expected
    }
    assert found == expected
    # G and H never ordered: no scores.
    assert frame.loc[["G", "H"], columns].isna().all().all()


def test_group_sizes_by_hand(tiny: Warehouse) -> None:
    frame = scored(tiny, RfmConfig()).reset_index()
    sizes = rfm_group_sizes(frame, RfmConfig()).set_index("rfm_group")
    # 9 buyers: champions A, B; hibernating E, F, J; one each loyal D, promising C,
    # about_to_sleep I, at_risk K.
    assert sizes["customers"].to_dict() == {
        "champions": 2,
        "loyal": 1,
        "potential_loyalists": 0,
        "new_customers": 0,
        "promising": 1,
        "need_attention": 0,
        "about_to_sleep": 1,
        "cannot_lose_them": 0,
        "at_risk": 1,
        "hibernating": 3,
    }
    assert sizes.loc["champions", "share"] == pytest.approx(2 / 9)
    # Hibernating E 135, F 333, J 171 days: mean 213; orders 1; revenue (30+20+10)k / 3.
    assert sizes.loc["hibernating", "recency_days"] == pytest.approx(213.0)
    assert sizes.loc["hibernating", "orders"] == pytest.approx(1.0)
    assert sizes.loc["hibernating", "revenue"] == pytest.approx(20_000.0)
    assert pd.isna(sizes.loc["new_customers", "recency_days"])  # no one: no mean


def test_fixed_edges() -> None:
    config = RfmConfig(
        bins=3,
        edges={"recency": [30, 90], "frequency": [2, 5], "monetary": [100, 1000]},
        groups=[{"id": "all", "recency": (1, 3), "frequency": (1, 3)}],
    )
    table = ibis.memtable(
        {
            "customer_id": ["x", "y", "z", "w"],
            "orders": [1, 2, 7, 0],
            "days_since_last_order": [30, 31, 200, None],
            "revenue": [50.0, 100.0, 5000.0, 0.0],
        }
    )
    frame = ibis.duckdb.connect().execute(rfm_scores(table, config)).set_index("customer_id")
    # Recency 3 - edges below the days: x 30 -> none below -> 3; y 31 -> 30 below -> 2;
    # z 200 -> 2 below -> 1. Frequency 1 + edges at or below: x 1 -> 1; y 2 -> 2; z 7 -> 3.
    # Monetary: x 50 -> 1; y 100 -> 2; z 5000 -> 3. w never ordered.
    columns = ["recency_score", "frequency_score", "monetary_score"]
    assert frame.loc["x", columns].tolist() == [3, 1, 1]
    assert frame.loc["y", columns].tolist() == [2, 2, 2]
    assert frame.loc["z", columns].tolist() == [1, 3, 3]
    assert frame.loc["w", columns].isna().all()


def test_bad_configs_say_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="give 4 increasing cut points for 5 bins"):
        RfmConfig(edges={"recency": [30, 90]})
    with pytest.raises(ValidationError, match='"tenure" is not one of recency'):
        RfmConfig(edges={"tenure": [1, 2, 3, 4]})
    with pytest.raises(ValidationError, match="leave R1F1 without a group"):
        RfmConfig(
            bins=2,
            groups=[
                {"id": "some", "recency": (1, 2), "frequency": (2, 2)},
                {"id": "more", "recency": (2, 2), "frequency": (1, 1)},
            ],
        )
