"""Customer 360 on the tiny retailer (tests/customers/tiny_retailer.py), computed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from omnikpi.customers.profile import customer_features, customer_profiles, day_end
from omnikpi.customers.segments import load_segment_rules
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.warehouse import Warehouse
from tests.customers.tiny_retailer import AS_OF, build_tiny_retailer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    with Warehouse.open(path, read_only=True) as warehouse:
        yield warehouse


def profiles(warehouse: Warehouse, as_of: date = AS_OF) -> dict[str, dict[str, Any]]:
    frame = warehouse.execute(customer_profiles(warehouse, as_of, load_segment_rules()))
    return {row["customer_id"]: row for row in frame.to_dict(orient="records")}


def test_day_end_is_the_next_local_midnight() -> None:
    assert day_end(date(2025, 6, 30), "Asia/Seoul").isoformat() == "2025-06-30T15:00:00+00:00"


def test_a_customer_s_360_by_hand(tiny: Warehouse) -> None:
    a = profiles(tiny)["A"]
    # Orders OA1 10,000 + OA2 20,000 + OA3 30,000.
    assert (a["orders"], a["revenue"]) == (3, Decimal("60000.00"))
    # (10,000 - 1 x 4,000) + (20,000 - 2 x 6,000) + (30,000 - 3 x 4,000) = 32,000.
    assert a["gross_profit"] == Decimal("32000.00")
    assert a["average_order_value"] == 20_000.0
    # Signed up 2024-01-10: 366 days to 2025-01-10, then 171 to 2025-06-30.
    assert a["days_since_signup"] == 537
    # First order 2024-02-01: 515 days; last 2025-06-20: 10 days.
    assert (a["days_since_first_order"], a["days_since_last_order"]) == (515, 10)
    # Value window from 2024-07-01: OA2 + OA3.
    assert (a["orders_window"], a["revenue_window"]) == (2, Decimal("50000.00"))
    assert (a["first_channel"], a["channels"], a["stores"]) == ("web", "app,store,web", "S1")
    assert a["categories"] == "makeup,skincare"
    # Sessions 2024-03-01 and 2025-06-19; only the second is in the 90-day window.
    assert (a["visits"], a["visits_recent"]) == (2, 1)
    assert (a["tickets"], a["complaints"], a["complaints_recent"]) == (1, 1, 1)
    # Latest NPS answer 5 on 2025-06-05: a detractor's (<= 6) in the window.
    assert (a["last_nps_score"], a["detractor_recent"]) == (5, True)
    # Member since 2024-06-01; points +100 - 30 (the expiry of 2025-07-05 comes later).
    assert (a["is_member"], a["member_tier"], a["points_balance"]) == (True, "silver", 70)
    # E-mail given then withdrawn 2025-03-01; SMS given; push never.
    assert (a["email_consent"], a["sms_consent"], a["push_consent"]) == (False, True, False)
    assert a["as_of"] == pd.Timestamp(AS_OF)


def test_late_deliveries_carts_reviews_and_cancelled_orders(tiny: Warehouse) -> None:
    rows = profiles(tiny)
    # I: promised 2025-04-12, delivered 04-15 (late, in the window); the cancelled
    # 99,000 order does not count.
    assert (rows["I"]["late_deliveries"], rows["I"]["late_deliveries_recent"]) == (1, 1)
    assert (rows["I"]["orders"], rows["I"]["revenue"]) == (1, Decimal("10000.00"))
    # B's parcel came on the promised day.
    assert rows["B"]["late_deliveries"] == 0
    # E: add to cart 2025-06-10 after the last order 2025-02-15.
    assert rows["E"]["cart_abandoned"] is True
    assert rows["A"]["cart_abandoned"] is False
    # K: one review, 1 star on 2025-05-01 (a bad review in the window).
    assert (rows["K"]["reviews"], rows["K"]["average_rating"]) == (1, 1.0)
    assert rows["K"]["bad_reviews_recent"] == 1
    # G never ordered: zero counts, no dates, no gross profit.
    g = rows["G"]
    assert (g["orders"], g["revenue"], g["gross_profit"]) == (0, Decimal("0.00"), None)
    assert pd.isna(g["days_since_last_order"])


def test_revenue_window_percentile_is_the_share_spending_less(tiny: Warehouse) -> None:
    rows = profiles(tiny)
    # Window revenues of the 11 customers: G, H 0; I, J 10k; C, K 15k; F 20k; E 30k;
    # A, D 50k; B 200k. percent_rank = (rank - 1) / 10, ties take the first rank.
    expected = {"G": 0.0, "I": 0.2, "C": 0.4, "F": 0.6, "E": 0.7, "A": 0.8, "D": 0.8, "B": 1.0}
    assert {c: rows[c]["revenue_window_percentile"] for c in expected} == pytest.approx(expected)


def test_an_earlier_date_sees_only_what_had_happened(tiny: Warehouse) -> None:
    rows = profiles(tiny, date(2025, 5, 31))
    # C (signed up 2025-06-15) and H (2025-06-20) were not customers yet.
    assert set(rows) == set("ABDEFGIJK")
    a = rows["A"]
    # OA1 and OA2 only; the complaint of 2025-06-01 and NPS 5 of 06-05 came later.
    assert (a["orders"], a["revenue"], a["complaints"]) == (2, Decimal("30000.00"), 0)
    assert (a["last_nps_score"], a["detractor_recent"], a["points_balance"]) == (9, False, 100)
    assert rows["E"]["cart_abandoned"] is False  # the cart of 06-10 is after the date
    # I's parcel promised 04-12, delivered 04-15: late as of 05-31 too.
    assert rows["I"]["late_deliveries_recent"] == 1


def test_a_parcel_not_delivered_by_the_date_is_late_once_the_promise_passed(
    tiny: Warehouse,
) -> None:
    # As of 2025-04-13 the parcel promised for 04-12 is still on its way: late. As of
    # 04-12 the promised day has not passed.
    assert profiles(tiny, date(2025, 4, 13))["I"]["late_deliveries"] == 1
    assert profiles(tiny, date(2025, 4, 12))["I"]["late_deliveries"] == 0


def test_features_for_several_dates_equal_each_date_alone(tiny: Warehouse) -> None:
    rules = load_segment_rules()
    days = [date(2025, 4, 30), date(2025, 5, 31), AS_OF]
    together = tiny.execute(customer_features(tiny, days, rules.windows))
    for day in days:
        alone = tiny.execute(customer_features(tiny, day, rules.windows))
        part = together[together["as_of"] == pd.Timestamp(day)]
        left = part.sort_values("customer_id").reset_index(drop=True)
        right = alone.sort_values("customer_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right[left.columns])


def test_profiles_have_the_declared_columns_and_scores_join_when_present(
    tiny: Warehouse, tmp_path: Path
) -> None:
    frame = tiny.execute(customer_profiles(tiny, AS_OF, load_segment_rules()))
    assert tuple(frame.columns) == CUSTOMER_PROFILES.column_names
    assert frame["clv"].isna().all()  # no customer_scores table yet
    path = Path(tiny.path)
    copy = tmp_path / "scored.duckdb"
    copy.write_bytes(path.read_bytes())
    with Warehouse.open(copy) as warehouse:
        warehouse.run_sql(
            "CREATE TABLE customer_scores AS SELECT * FROM (VALUES "
            "('A', TIMESTAMPTZ '2025-06-01 00:00:00+00', 100.0, 0.5), "
            "('A', TIMESTAMPTZ '2025-06-30 00:00:00+00', 120.0, 0.9)) "
            "t(customer_id, scored_at, clv_3y, p_alive)"
        )
        scored = warehouse.execute(customer_profiles(warehouse, AS_OF, load_segment_rules()))
    a = scored[scored["customer_id"] == "A"].iloc[0]
    assert (a["clv"], a["p_alive"]) == (120.0, 0.9)  # the latest scores
    assert scored.loc[scored["customer_id"] == "B", "clv"].isna().all()
    # As of 2025-06-15 only the first scores had been written.
    with Warehouse.open(copy, read_only=True) as warehouse:
        earlier = warehouse.execute(
            customer_profiles(warehouse, date(2025, 6, 15), load_segment_rules())
        )
    assert earlier.loc[earlier["customer_id"] == "A", "clv"].tolist() == [100.0]
