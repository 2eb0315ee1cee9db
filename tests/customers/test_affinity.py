"""Co-purchase support, confidence and lift, and the next-best category per segment, each
computed by hand on tiny baskets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pandas as pd
import pytest

from omnikpi.customers.affinity import basket_items, co_purchase, next_best_categories
from omnikpi.errors import InvalidChoice
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import build_tiny_retailer

#: Five orders of four customers (s = skincare, m = makeup, h = hair):
#: o1 X {s, m}; o2 Z {s, m, h}; o3 X {s}; o4 Y {h}; o5 W {m, h}.
ORDERS = {
    "o1": ("X", "sm"),
    "o2": ("Z", "smh"),
    "o3": ("X", "s"),
    "o4": ("Y", "h"),
    "o5": ("W", "mh"),
}


def items(basis: str) -> ibis.Table:
    rows = [
        (order if basis == "order" else customer, item, customer)
        for order, (customer, bought) in ORDERS.items()
        for item in bought
    ]
    frame = pd.DataFrame(rows, columns=["basket", "item", "customer_id"]).drop_duplicates()
    return ibis.memtable(frame)


def rules(basis: str, min_support: float = 0.0) -> dict[tuple[str, str], dict[str, float]]:
    frame = co_purchase(items(basis), min_support).execute()
    return {(r["antecedent"], r["consequent"]): r for r in frame.to_dict(orient="records")}


def test_lift_over_orders_by_hand() -> None:
    found = rules("order")
    # N = 5 orders; P(s) = 3/5 (o1, o2, o3), P(m) = 3/5 (o1, o2, o5), P(h) = 3/5 (o2, o4, o5).
    # s and m: o1, o2 -> support 2/5; lift = 0.4 / (0.6 x 0.6) = 1.111;
    #   confidence s -> m = 2/3 (of o1, o2, o3), m -> s = 2/3.
    sm = found["s", "m"]
    assert (sm["baskets"], sm["both_baskets"], sm["antecedent_baskets"]) == (5, 2, 3)
    assert sm["support"] == pytest.approx(0.4)
    assert sm["confidence"] == pytest.approx(2 / 3)
    assert sm["lift"] == pytest.approx(0.4 / 0.36)
    # s and h: o2 only -> support 1/5; lift = 0.2 / 0.36 = 0.556 (bought together less
    # often than by chance); confidence h -> s = 1/3.
    assert found["s", "h"]["lift"] == pytest.approx(0.2 / 0.36)
    assert found["h", "s"]["confidence"] == pytest.approx(1 / 3)
    # m and h: o2, o5 -> support 2/5, lift 1.111, confidence h -> m = 2/3.
    assert found["h", "m"]["lift"] == pytest.approx(0.4 / 0.36)
    # Each pair both ways, six rules; the customers behind s and m: X (o1) and Z (o2).
    assert len(found) == 6
    assert sm["customers"] == 2


def test_lift_over_customers_by_hand() -> None:
    found = rules("customer")
    # Baskets per customer: X {s, m}, Y {h}, Z {s, m, h}, W {m, h}; N = 4.
    # P(s) = 2/4, P(m) = 3/4, P(h) = 3/4.
    # s and m: X, Z -> support 2/4; lift = 0.5 / (0.5 x 0.75) = 1.333; s -> m = 2/2 = 1,
    #   m -> s = 2/3.
    assert found["s", "m"]["lift"] == pytest.approx(0.5 / 0.375)
    assert found["s", "m"]["confidence"] == 1.0
    assert found["m", "s"]["confidence"] == pytest.approx(2 / 3)
    # s and h: Z -> 1/4; lift = 0.25 / (0.5 x 0.75) = 0.667.
    assert found["s", "h"]["lift"] == pytest.approx(0.25 / 0.375)
    # m and h: Z, W -> 2/4; lift = 0.5 / (0.75 x 0.75) = 0.889: over customers makeup and
    # hair go together less than chance, over orders more (the basis matters).
    assert found["m", "h"]["lift"] == pytest.approx(0.5 / 0.5625)


def test_minimum_support_keeps_the_frequent_pairs_only() -> None:
    # Over orders, s-h has support 0.2 and the other pairs 0.4.
    assert set(rules("order", 0.3)) == {("s", "m"), ("m", "s"), ("m", "h"), ("h", "m")}
    frame = co_purchase(items("order"), 0.0, min_baskets=2).execute()
    assert len(frame) == 4
    with pytest.raises(InvalidChoice, match="min-support"):
        co_purchase(items("order"), 1.5)


def test_the_next_best_category_per_segment_by_hand() -> None:
    # Customers and their categories: X {s, m}, Y {h}, Z {s, m, h}, W {m, h}, V {m};
    # segments: X, Y, V active; Z, W hero.
    pairs = ["Xs", "Xm", "Yh", "Zs", "Zm", "Zh", "Wm", "Wh", "Vm"]
    bought = pd.DataFrame(
        [(pair[0], pair[1]) for pair in pairs],
        columns=["customer_id", "category"],
    )
    segments = pd.DataFrame(
        {"customer_id": list("XYZWV"), "segment": ["active", "active", "hero", "hero", "active"]}
    )
    customer_items = ibis.memtable(
        bought.rename(columns={"customer_id": "basket", "category": "item"})
    )
    found = co_purchase(customer_items, 0.0).execute()
    # N = 5: P(s) = 2/5, P(m) = 4/5, P(h) = 3/5. s-m: X, Z -> 0.4, lift 0.4 / 0.32 = 1.25;
    # s-h: Z -> 0.2, lift 0.2 / 0.24 = 0.833; m-h: Z, W -> 0.4, lift 0.4 / 0.48 = 0.833.
    # Only s <-> m has lift above 1: m -> s has confidence 2/4 = 0.5.
    table = next_best_categories(bought, segments, found)
    rows = {(r["segment"], r["category"]): r for r in table.to_dict(orient="records")}
    # X and Z have both s and m; Y (h) has no rule above 1. W (m, h) and V (m) lack s.
    assert set(rows) == {("active", "s"), ("hero", "s")}
    active, hero = rows["active", "s"], rows["hero", "s"]
    assert (active["customers"], active["segment_customers"]) == (1, 3)  # V of X, Y, V
    assert active["share"] == pytest.approx(1 / 3)
    assert (hero["customers"], hero["segment_customers"]) == (1, 2)  # W of Z, W
    assert hero["confidence"] == pytest.approx(0.5)
    assert hero["lift"] == pytest.approx(1.25)
    assert active["rank"] == hero["rank"] == 1


def test_confidence_and_lift_can_choose_differently() -> None:
    # A customer who bought a; rules a -> b (confidence 0.8, lift 1.1) and a -> c
    # (confidence 0.3, lift 3.0): the likeliest next category is b, the most specific c.
    bought = pd.DataFrame({"customer_id": ["u"], "category": ["a"]})
    segments = pd.DataFrame({"customer_id": ["u"], "segment": ["active"]})
    found = pd.DataFrame(
        {
            "antecedent": ["a", "a"],
            "consequent": ["b", "c"],
            "confidence": [0.8, 0.3],
            "lift": [1.1, 3.0],
        }
    )
    assert next_best_categories(bought, segments, found)["category"].tolist() == ["b"]
    by_lift = next_best_categories(bought, segments, found, rank_by="lift")
    assert by_lift["category"].tolist() == ["c"]


def test_baskets_of_the_tiny_retailer(tmp_path: Path) -> None:
    path = build_tiny_retailer(tmp_path / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as tiny:
        by_customer = tiny.execute(
            basket_items(tiny, date(2025, 1, 1), date(2025, 6, 30), "category", "customer")
        )
        by_order = tiny.execute(
            basket_items(tiny, date(2025, 1, 1), date(2025, 6, 30), "product", "order")
        )
    baskets = by_customer.groupby("basket")["item"].apply(lambda s: sorted(s)).to_dict()
    # A bought makeup (OA2) and skincare (OA3) in the window; everyone else skincare only;
    # F bought before the window and I's second order was cancelled.
    assert baskets["A"] == ["makeup", "skincare"]
    assert set(baskets) == set("ABCDEIJK")
    # Per order, one product each: OI2 (cancelled) and the orders before 2025 are left out.
    assert set(by_order["basket"]) == {"OA2", "OA3", "OB2", "OB3", "OB4", "OC1", "OD2", "OE1"} | {
        "OI1",
        "OJ1",
        "OK2",
    }
