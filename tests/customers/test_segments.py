"""Lifecycle segments on the tiny retailer (tests/customers/tiny_retailer.py): the default
rules, overrides, bad rules, sizes over time and transitions, each worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.customers.profile import customer_features
from omnikpi.customers.segments import (
    NOT_YET,
    SegmentRules,
    assign_segments,
    load_segment_rules,
    month_ends,
    segment_sizes,
    segment_transitions,
)
from omnikpi.errors import ConfigError
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, MONTH_BEFORE, build_tiny_retailer

#: As of 2025-06-30, by the packaged rules (first match in priority order):
#: A complained on 06-01 (and answered NPS 5): negative_experience, before hero/active;
#: B ordered 4 times in the value window, 5 days ago, top spender: hero;
#: C first ordered 14 days ago, H signed up 10 days ago without ordering: new;
#: D ordered 51 days ago; spends like A (percentile 0.8) but only 2 orders: active;
#: E last ordered 135 days ago, added to cart on 06-10: cart_abandoner (before at_risk);
#: F last ordered 333 days ago: lapsed; G signed up long ago, never ordered: prospect;
#: I's parcel came late on 04-15, K wrote a 1-star review on 05-01: negative_experience;
#: J last ordered 171 days ago (a promoter's NPS changes nothing): at_risk.
EXPECTED = {
    "A": "negative_experience",
    "B": "hero",
    "C": "new",
    "D": "active",
    "E": "cart_abandoner",
    "F": "lapsed",
    "G": "prospect",
    "H": "new",
    "I": "negative_experience",
    "J": "at_risk",
    "K": "negative_experience",
}
#: As of 2025-05-31: A had ordered 30 days before and not complained yet: active; B hero;
#: D active; E (105 days, the cart came later) and J (141 days) at_risk; F lapsed;
#: G prospect; I (late parcel) and K (bad review) negative_experience; C, H not yet.
EXPECTED_BEFORE = {
    "A": "active",
    "B": "hero",
    "D": "active",
    "E": "at_risk",
    "F": "lapsed",
    "G": "prospect",
    "I": "negative_experience",
    "J": "at_risk",
    "K": "negative_experience",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as warehouse:
        yield warehouse


def segments_at(warehouse: Warehouse, rules: SegmentRules, day: date) -> dict[str, str]:
    frame = warehouse.execute(
        assign_segments(customer_features(warehouse, day, rules.windows), rules)
    )
    return dict(zip(frame["customer_id"], frame["segment"], strict=True))


def test_the_packaged_rules_and_their_precedence(tiny: Warehouse) -> None:
    rules = load_segment_rules()
    assert rules.segment_ids == [
        "negative_experience",
        "hero",
        "new",
        "active",
        "cart_abandoner",
        "at_risk",
        "lapsed",
        "prospect",
    ]
    assert segments_at(tiny, rules, AS_OF) == EXPECTED
    assert segments_at(tiny, rules, MONTH_BEFORE) == EXPECTED_BEFORE


def test_a_folder_overrides_parameters_and_segments(tiny: Warehouse, tmp_path: Path) -> None:
    (tmp_path / "ours.yaml").write_text(
        "parameters:\n"
        "  hero_min_orders: 2\n"  # D (2 orders, percentile 0.8, 51 days) becomes a hero
        "segments:\n"
        "  - id: vip_member\n"
        "    priority: 5\n"  # before negative_experience: A is a member
        "    condition: is_member and orders >= 3\n"
        "  - id: lapsed\n"
        "    priority: 70\n"
        "    condition: orders > 0 and days_since_last_order > 300\n",
        encoding="utf-8",
    )
    rules = load_segment_rules([tmp_path])
    assert rules.parameters["hero_min_orders"] == 2
    assert rules.parameters["active_days"] == 90  # packaged, not overridden
    assert rules.origin["vip_member"] == tmp_path / "ours.yaml"
    assert rules.segment_ids[0] == "vip_member"
    found = segments_at(tiny, rules, AS_OF)
    assert found == {**EXPECTED, "A": "vip_member", "D": "hero"}  # F: 333 days, still lapsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "segments:\n  - {id: big, priority: 1, condition: 'basket_size > 3'}\n",
            r'bad\.yaml: segment "big" condition "basket_size > 3": .*unknown column '
            r'"basket_size"',
        ),
        (
            "segments:\n  - {id: big, priority: 1, condition: 'orders + 1'}\n",
            r'segment "big" condition "orders \+ 1": is not a true/false condition',
        ),
        (
            "segments:\n  - {id: big, priority: first, condition: 'orders > 1'}\n",
            r'bad\.yaml: segment "big" field "priority"',
        ),
        ("segments: [\n", r"bad\.yaml: not valid YAML"),
        (
            "rfm:\n  bins: 5\n  groups:\n"
            "    - {id: all_but_one, recency: [1, 5], frequency: [1, 4]}\n",
            r"bad\.yaml: rfm: .*leave R1F5, R2F5, R3F5, R4F5, R5F5 without a group",
        ),
        (
            "fallback: {id: hero}\n",
            r'segment "hero" is also the fallback',
        ),
    ],
)
def test_a_bad_rule_names_the_file_and_the_rule(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_segment_rules([tmp_path])


def test_a_missing_rules_folder_says_which_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist \(check --segments"):
        load_segment_rules([tmp_path / "nowhere"])


def test_month_ends_close_with_the_date_itself() -> None:
    assert month_ends(date(2025, 1, 15), date(2025, 3, 10)) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 10),
    ]
    assert month_ends(date(2025, 5, 1), date(2025, 6, 30)) == [date(2025, 5, 31), AS_OF]


def test_sizes_count_every_segment_at_every_date() -> None:
    frame = pd.DataFrame(
        {
            "as_of": [AS_OF] * 4 + [MONTH_BEFORE] * 2,
            "segment": ["hero", "hero", "new", "odd", "new", "new"],
        }
    )
    sizes = segment_sizes(frame, ["hero", "new", "lapsed"])
    # 2025-05-31: 2 new of 2. 2025-06-30: 2 hero, 1 new, 1 "odd" (a segment the list lacks,
    # listed after it) of 4.
    assert sizes.to_dict(orient="records") == [
        {"as_of": MONTH_BEFORE, "segment": "hero", "customers": 0, "share": 0.0},
        {"as_of": MONTH_BEFORE, "segment": "new", "customers": 2, "share": 1.0},
        {"as_of": MONTH_BEFORE, "segment": "lapsed", "customers": 0, "share": 0.0},
        {"as_of": MONTH_BEFORE, "segment": "odd", "customers": 0, "share": 0.0},
        {"as_of": AS_OF, "segment": "hero", "customers": 2, "share": 0.5},
        {"as_of": AS_OF, "segment": "new", "customers": 1, "share": 0.25},
        {"as_of": AS_OF, "segment": "lapsed", "customers": 0, "share": 0.0},
        {"as_of": AS_OF, "segment": "odd", "customers": 1, "share": 0.25},
    ]


def test_sizes_split_by_a_column() -> None:
    frame = pd.DataFrame(
        {"as_of": [AS_OF] * 3, "segment": ["hero", "new", "new"], "member": [True, True, False]}
    )
    sizes = segment_sizes(frame, ["hero", "new"], by="member")
    records = {
        (r["member"], r["segment"]): (r["customers"], r["share"]) for _, r in sizes.iterrows()
    }
    # Members: 1 hero, 1 new of 2; non-members: 1 new of 1.
    assert records == {
        (False, "hero"): (0, 0.0),
        (False, "new"): (1, 1.0),
        (True, "hero"): (1, 0.5),
        (True, "new"): (1, 0.5),
    }


def test_transitions_of_the_tiny_retailer_from_may_to_june(tiny: Warehouse) -> None:
    rules = load_segment_rules()
    before = pd.DataFrame(list(segments_at(tiny, rules, MONTH_BEFORE).items()))
    after = pd.DataFrame(list(segments_at(tiny, rules, AS_OF).items()))
    before.columns = after.columns = ["customer_id", "segment"]
    moved = segment_transitions(before, after, rules.segment_ids)
    cells = {
        (r["from_segment"], r["to_segment"]): (r["customers"], r["share"])
        for _, r in moved.iterrows()
        if r["customers"]
    }
    # From EXPECTED_BEFORE to EXPECTED: active A -> negative_experience, D stays active;
    # at_risk E -> cart_abandoner, J stays; C and H were not customers yet -> new.
    assert cells == {
        ("negative_experience", "negative_experience"): (2, 1.0),  # I, K
        ("hero", "hero"): (1, 1.0),  # B
        ("active", "negative_experience"): (1, 0.5),  # A
        ("active", "active"): (1, 0.5),  # D
        ("at_risk", "cart_abandoner"): (1, 0.5),  # E
        ("at_risk", "at_risk"): (1, 0.5),  # J
        ("lapsed", "lapsed"): (1, 1.0),  # F
        ("prospect", "prospect"): (1, 1.0),  # G
        (NOT_YET, "new"): (2, 1.0),  # C, H
    }
    # Every pair is listed: 8 from-segments and NOT_YET, times 8 to-segments.
    assert len(moved) == 9 * 8
    empty = moved[(moved["from_segment"] == "new")]
    assert empty["customers"].sum() == 0
    assert empty["share"].isna().all()  # no one was new in May: no share
