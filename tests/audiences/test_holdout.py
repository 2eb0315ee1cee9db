"""The holdout draw: the fraction per stratum as exactly as whole customers allow, the
same groups for the same seed whatever the row order, another draw for another seed."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from omnikpi.audiences.holdout import assign_holdout, draw_position, holdout_size
from omnikpi.errors import InvalidChoice

IDS = [f"C{n:04d}" for n in range(1000)]


def held(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["group"] == "holdout", "customer_id"])


def test_the_fraction_is_exact_and_the_seed_reproduces_it() -> None:
    members = pd.DataFrame({"customer_id": IDS})
    first = assign_holdout(members, 0.1, seed=42)
    assert len(held(first)) == 100
    shuffled = members.sample(frac=1.0, random_state=3)
    assert held(assign_holdout(shuffled, 0.1, seed=42)) == held(first)  # row order: no matter
    other = held(assign_holdout(members, 0.1, seed=43))
    assert len(other) == 100
    assert other != held(first)
    assert 0 < len(other & held(first)) < 40  # independent draws share about 10 of 100
    assert list(first["customer_id"]) == sorted(IDS)
    assert held(assign_holdout(members, 0.0, seed=42)) == set()


def test_strata_each_get_their_share() -> None:
    # 10 hero, 25 active, 7 new: 10 x 0.1 = 1, 25 x 0.1 = 2.5 -> 3 (halves up), 0.7 -> 1
    strata = ["hero"] * 10 + ["active"] * 25 + ["new"] * 7
    members = pd.DataFrame({"customer_id": IDS[: len(strata)], "segment": strata})
    frame = assign_holdout(members, 0.1, seed=7, stratum="segment")
    counts = frame[frame["group"] == "holdout"].groupby("stratum").size().to_dict()
    assert counts == {"hero": 1, "active": 3, "new": 1}
    assert set(frame["stratum"]) == {"hero", "active", "new"}
    assert assign_holdout(members.iloc[::-1], 0.1, 7, "segment").equals(frame)


def test_the_draw_position_is_the_documented_hash() -> None:
    # first 8 bytes of SHA-256("42:C0001"), big-endian, over 2^64: fixed so that a
    # recorded seed gives the same groups in every version
    digest = hashlib.sha256(b"42:C0001").hexdigest()
    assert draw_position(42, "C0001") == int(digest[:16], 16) / 2**64
    assert [holdout_size(n, 0.25) for n in (1, 2, 3, 4, 10)] == [0, 1, 1, 1, 3]


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_fractions_outside_zero_to_one_are_refused(fraction: float) -> None:
    with pytest.raises(InvalidChoice, match="holdout fraction"):
        assign_holdout(pd.DataFrame({"customer_id": IDS}), fraction, 1)
