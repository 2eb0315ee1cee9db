"""Top customers and lookalikes: the top-share cut, the profile shares and the window's
gross profit by hand on tiny data; on the simulated retailer, the lookalike model beats
chance on its holdout and shuffled labels do not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omnikpi.customers.profile import customer_features
from omnikpi.customers.top import (
    Window,
    analyse_top_customers,
    fit_lookalike,
    lookalike_features,
    tenure_band,
    top_customers,
    top_profile,
    window_gross_profit,
)
from omnikpi.errors import DataError, InvalidChoice
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import build_tiny_retailer


def profits(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(values), "gross_profit": list(values.values())})


def top_ids(frame: pd.DataFrame) -> list[str]:
    return frame.loc[frame["is_top"], "customer_id"].tolist()


def test_the_top_fifth_of_ten_buyers_is_the_two_most_profitable() -> None:
    ten = profits({c: 10.0 * (i + 1) for i, c in enumerate("abcdefghij")})
    ranked = top_customers(ten, 0.2)
    # ceil(0.2 x 10) = 2: j (100) and i (90).
    assert top_ids(ranked) == ["j", "i"]
    assert ranked["rank"].tolist()[:3] == [1, 2, 3]


def test_a_partial_customer_rounds_up_and_ties_go_by_customer_id() -> None:
    eleven = profits({**{c: 10.0 for c in "abcdefgh"}, "x": 50.0, "y": 40.0, "z": 10.0})
    # ceil(0.2 x 11) = ceil(2.2) = 3: x, y, then of the nine at 10 the first by id, a.
    assert top_ids(top_customers(eleven, 0.2)) == ["x", "y", "a"]


def test_only_customers_with_a_positive_gross_profit_are_top() -> None:
    five = profits({"a": 50.0, "b": -10.0, "c": 0.0, "d": 0.0, "e": 0.0})
    # ceil(0.5 x 5) = 3 places, but only a made a profit.
    assert top_ids(top_customers(five, 0.5)) == ["a"]


@pytest.mark.parametrize("share", [0.0, 1.0, -0.2, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(InvalidChoice, match="share"):
        top_customers(profits({"a": 1.0}), share)


def test_the_profile_compares_shares_of_each_group_by_hand() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "is_top": [True, True, False, False, False],
            "region": ["Seoul", "Busan", "Seoul", "Seoul", None],
            "window_channels": ["app,web", "web", "store", "store,web", "web"],
        }
    )
    profile = top_profile(customers, ["region", "channel"])
    cells = {
        (r.facet, r.value): (r.top_customers, r.top_share, r.rest_customers, r.rest_share)
        for r in profile.itertuples()
    }
    # Top {a, b}: Seoul 1 of 2, Busan 1 of 2. Rest {c, d, e}: Seoul 2 of 3, none 1 of 3.
    assert cells["region", "Seoul"] == (1, 0.5, 2, pytest.approx(2 / 3))
    assert cells["region", "Busan"] == (1, 0.5, 0, 0.0)
    assert cells["region", "(none)"] == (0, 0.0, 1, pytest.approx(1 / 3))
    # Channels (several per customer): web a, b of the top (2/2); d, e of the rest (2/3);
    # app a (1/2) and no one of the rest; store c, d of the rest (2/3), no one of the top.
    assert cells["channel", "web"] == (2, 1.0, 2, pytest.approx(2 / 3))
    assert cells["channel", "app"] == (1, 0.5, 0, 0.0)
    assert cells["channel", "store"] == (0, 0.0, 2, pytest.approx(2 / 3))
    seoul = profile[(profile["facet"] == "region") & (profile["value"] == "Seoul")]
    assert seoul["difference"].item() == pytest.approx(0.5 - 2 / 3)
    # Within a facet, the largest differences first: store (-2/3) before web and Busan...
    assert profile[profile["facet"] == "channel"]["value"].tolist() == ["store", "app", "web"]


def test_tenure_bands_start_at_their_lower_bound() -> None:
    bands = tenure_band(pd.Series([0, 182, 183, 364, 365, 729, 730, 1095, None]))
    assert bands.tolist() == [
        "under 6 months",
        "under 6 months",
        "6-12 months",
        "6-12 months",
        "1-2 years",
        "1-2 years",
        "2-3 years",
        "3 years and more",
        "(none)",
    ]


def test_the_model_matrix_spells_out_categories_and_lists() -> None:
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "orders": [2, 0],
            "is_member": [True, None],
            "region": ["Seoul", None],
            "channels": ["app,web", None],
        }
    )
    matrix = lookalike_features(features)
    assert matrix.loc["a"].to_dict() == {
        "orders": 2.0,
        "is_member": 1.0,
        "region=(none)": 0.0,
        "region=Seoul": 1.0,
        "channels=app": 1.0,
        "channels=web": 1.0,
    }
    assert matrix.loc["b", "is_member"] == 0.0
    assert matrix.loc["b", "channels=web"] == 0.0


def test_too_few_top_customers_to_learn_from_is_said() -> None:
    matrix = pd.DataFrame({"orders": np.arange(30.0)})
    labels = np.array([1] * 3 + [0] * 27)
    with pytest.raises(DataError, match="too few customers"):
        fit_lookalike(matrix, labels)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as warehouse:
        yield warehouse


def test_the_window_s_gross_profit_by_hand(tiny: Warehouse) -> None:
    window = Window(date(2025, 1, 1), date(2025, 6, 30))
    frame = tiny.execute(window_gross_profit(tiny, window)).set_index("customer_id")
    # Net amount - quantity x unit cost (skincare P1 4,000, makeup P2 6,000), completed
    # orders placed 2025-01-01..2025-06-30 (OA1, OB1, OD1, OF1, OK1 are earlier; OI2 was
    # cancelled):
    # A: OA2 20,000 - 2 x 6,000 = 8,000; OA3 30,000 - 3 x 4,000 = 18,000 -> 26,000.
    # B: OB2 36,000 + OB3 56,000 + OB4 46,000 = 138,000.  C: 11,000.  D: OD2 21,000.
    # E: 26,000.  I: OI1 6,000.  J: 6,000.  K: OK2 5,000 - 4,000 = 1,000.
    expected = {
        "A": 26_000,
        "B": 138_000,
        "C": 11_000,
        "D": 21_000,
        "E": 26_000,
        "I": 6_000,
        "J": 6_000,
        "K": 1_000,
    }
    assert frame["gross_profit"].to_dict() == expected
    assert frame.loc["A", "window_channels"] == "app,store"
    assert frame.loc["A", "window_categories"] == "makeup,skincare"
    assert frame.loc["I", "orders"] == 1
    # The top 20% of 8 buyers: ceil(1.6) = 2, B and then A, tied with E and first by id.
    ranked = top_customers(frame.reset_index(), 0.2)
    assert top_ids(ranked) == ["B", "A"]


def test_the_profile_on_the_tiny_retailer(tiny: Warehouse) -> None:
    window = Window(date(2025, 1, 1), date(2025, 6, 30))
    analysis = analyse_top_customers(tiny, window, share=0.2, lookalikes=False)
    assert (analysis.buyers, analysis.top_count) == (8, 2)
    # B 138,000 + A 26,000 of 235,000 in all.
    assert analysis.top_gross_profit_share == pytest.approx(164_000 / 235_000)
    assert analysis.threshold == 26_000
    profile = analysis.profile.set_index(["facet", "value"])
    # A is a silver member, B is not; of the six others none is a member.
    assert profile.loc[("membership", "member: silver"), "top_share"] == 0.5
    assert profile.loc[("membership", "non-member"), "rest_share"] == 1.0
    # Channels in the window: A app and store, B web and app; the rest all bought on web.
    assert profile.loc[("channel", "app"), "top_share"] == 1.0
    assert profile.loc[("channel", "web"), "rest_share"] == 1.0


def test_lookalikes_beat_chance_on_the_simulated_retailer(sim_path: Path) -> None:
    # The simulation starts 2024-09-08: the second half of 2025 leaves ten months of
    # history before the window (about 7,000 customers to learn from; measured AUC ~0.8).
    window = Window(date(2025, 7, 1), date(2025, 12, 31))
    with Warehouse.open(sim_path, read_only=True) as sim:
        analysis = analyse_top_customers(sim, window, share=0.2, seed=0)
        before = sim.execute(customer_features(sim, date(2025, 6, 30)))
    before = before.sort_values("customer_id", ignore_index=True)
    model = analysis.model
    assert model is not None
    print(f"holdout AUC {model.holdout_auc:.3f} on {model.holdout_customers} customers")
    assert model.holdout_auc > 0.7
    # The scores are for the customers who are not top, highest first.
    top = set(analysis.ranked.loc[analysis.ranked["is_top"], "customer_id"])
    assert not top & set(analysis.scores["customer_id"])
    assert analysis.scores["lookalike_score"].is_monotonic_decreasing
    # The same features with the labels shuffled carry no signal.
    matrix = lookalike_features(before)
    labels = matrix.index.isin(top).astype(int)
    shuffled = np.random.default_rng(3).permutation(labels)
    chance = fit_lookalike(matrix, shuffled, seed=0)
    print(f"shuffled-label AUC {chance.holdout_auc:.3f}")
    assert abs(chance.holdout_auc - 0.5) < 0.08
