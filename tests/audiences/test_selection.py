"""Rules compiled to one Ibis expression over the tiny retailer (tests/customers/
tiny_retailer.py, as of 2025-06-30), each membership checked by hand from its docstring.

Lifecycle segments there: A, I, K negative_experience; B hero; C, H new; D active;
E cart_abandoner; F lapsed; G prospect; J at_risk. Consent: A has SMS only (e-mail
withdrawn 2025-03-01); nobody else has any. No CLV model has run (clv, p_alive empty).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis.expr.types as ir
import pytest

from omnikpi.audiences import parse_rule, select_customers
from omnikpi.audiences.selection import count_customers
from omnikpi.customers.profile import customer_profiles
from omnikpi.customers.segments import load_segment_rules
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF

EVERYONE = set("ABCDEFGHIJK")


def members(
    tiny: Warehouse, rule: dict[str, Any], channel: str = "none", day: date = AS_OF
) -> set[str]:
    """Who `rule` selects: from the stored 360 as of 2025-06-30, else one computed."""
    stored = day == AS_OF
    profiles = (
        tiny.table("customer_profiles")
        if stored
        else customer_profiles(tiny, day, load_segment_rules())
    )
    expr = select_customers(parse_rule(rule), channel, profiles, tiny, day)
    assert isinstance(expr, ir.Table)
    assert expr.columns == ("customer_id",)
    return set(tiny.execute(expr)["customer_id"])


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # skincare (P1) in 2025-04-02..06-30: A 06-20, B 05-15 and 06-25, C 06-16, D 05-10,
        # I 04-10 (its 06-01 order was cancelled); C is new.
        ({"all": [{"bought": {"category": "skincare", "days": 90}}, {"not": {"segment": "new"}}]},
         "ABDI"),
        # hero, or added to cart in the last 30 days (E on 06-10)
        ({"any": [{"segment": "hero"}, {"event": {"type": "add_to_cart", "days": 30}}]}, "BE"),
        ({"event": {"type": "add_to_cart", "days": 20}}, ""),  # 06-11..06-30: not E's 06-10
        ({"bought": {"channel": "store", "days": 30}}, "A"),  # A in S1 on 06-20; F in 2024
        # two orders in 90 days: A (05-01, 06-20), B (05-15, 06-25); I's second was cancelled
        ({"bought": {"days": 90, "min_orders": 2}}, "AB"),
        # makeup (P2) only in A's 05-01 order of 20,000: 60 days start on 05-02, 61 on 05-01
        ({"bought": {"category": "makeup", "days": 60}}, ""),
        ({"bought": {"category": "makeup", "days": 61}}, "A"),
        ({"bought": {"product": "P2", "days": 90, "min_amount": 20000}}, "A"),
        ({"bought": {"product": ["P2"], "days": 90, "min_amount": 20000.01}}, ""),
        # revenue: B 200,000; A 60,000; every other customer less
        ({"column": "revenue", "op": ">=", "value": 100000}, "B"),
        # days since the last order: A 10 (06-20), B 5 (06-25), C 14, D 51
        ({"column": "days_since_last_order", "op": "between", "value": [5, 10]}, "AB"),
        ({"column": "segment", "op": "in", "value": ["new", "prospect"]}, "CGH"),
        ({"column": "segment", "op": "not_in", "value": ["new", "prospect"]}, "ABDEFIJK"),
        ({"column": "acquisition_channel", "op": "!=", "value": "web"}, "F"),
        ({"column": "is_member", "op": "=", "value": True}, "A"),
        # empty values: no condition on them holds, so `not` of one holds for everyone
        ({"column": "p_alive", "op": "<", "value": 0.5}, ""),
        ({"not": {"column": "p_alive", "op": "<", "value": 0.5}}, EVERYONE),
        ({"column": "clv", "op": "is_null"}, EVERYONE),
        ({"column": "days_since_last_order", "op": "is_null"}, "GH"),  # no orders
        ({"all": [{"consent": "sms"}, {"not": {"consent": "email"}}]}, "A"),
        # nested: (bought in 90 days AND NOT negative) OR prospect
        ({"any": [{"all": [{"bought": {"days": 90}}, {"not": {"segment": "negative_experience"}}]},
                  {"segment": "prospect"}]}, "BCDG"),
    ],
)  # fmt: skip
def test_membership_is_the_hand_checked_one(
    tiny: Warehouse, rule: dict[str, Any], expected: str | set[str]
) -> None:
    assert members(tiny, rule) == set(expected)


def test_the_channel_consent_is_always_required(tiny: Warehouse) -> None:
    everyone_but_new = {"not": {"segment": "new"}}
    assert members(tiny, everyone_but_new, "none") == EVERYONE - {"C", "H"}
    assert members(tiny, everyone_but_new, "sms") == {"A"}
    assert members(tiny, everyone_but_new, "email") == set()  # A withdrew on 2025-03-01
    # as of 2025-02-28 A's e-mail consent still held
    only_a = {"column": "customer_id", "op": "=", "value": "A"}
    assert members(tiny, only_a, "email", date(2025, 2, 28)) == {"A"}


def test_the_size_preview_counts_the_same_expression(tiny: Warehouse) -> None:
    profiles = tiny.table("customer_profiles")
    rule = parse_rule({"bought": {"days": 90}})  # A, B, C, D, I
    assert tiny.ibis.execute(count_customers(rule, "none", profiles, tiny, AS_OF)) == 5
    assert tiny.ibis.execute(count_customers(rule, "sms", profiles, tiny, AS_OF)) == 1
