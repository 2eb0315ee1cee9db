"""Every measure type on the golden retailer, with hand-computed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnikpi.kpi import load_catalog, query
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick

MARCH = ("month", "2025-03-01", "2025-03-31")


def month(golden: Warehouse, kpis: list[str], **kwargs: object) -> object:
    return query(kpis, *MARCH, warehouse=golden, **kwargs)  # type: ignore[arg-type]


def test_sum_count_and_distinct(golden: Warehouse) -> None:
    result = month(golden, ["revenue", "orders", "unique_visitors", "units_sold"])
    assert pick(result, "revenue", "2025-03-01") == 71_000  # completed O6 O7 O8 O10 O11
    assert pick(result, "orders", "2025-03-01") == 6
    assert pick(result, "unique_visitors", "2025-03-01") == 6  # V1 V6 V2 V3 V7 V8
    # completed lines: O6 P2x1, O7 P1x2 + P3x1, O8 P3x1, O10 P1x1, O11 P1x1 = 7 units
    assert pick(result, "units_sold", "2025-03-01") == 7


def test_mean_is_summed_parts(golden: Warehouse) -> None:
    # March tickets: T2 answered after 3 minutes (0.05 h), T1 after 15 h: (0.05 + 15) / 2
    result = month(golden, ["first_response_hours"])
    assert pick(result, "first_response_hours", "2025-03-01") == pytest.approx(7.525)


def test_percentile(golden: Warehouse) -> None:
    # hours to ship: SH6 7.5 (07:30 -> 15:00), SH7 15 (18:00 -> 09:00), SH10 14 -> median 14;
    # February: SH4 11, SH5 13 -> median 12 (interpolated).
    result = query(
        ["order_to_shipment_hours"], "month", "2025-02-01", "2025-03-31", warehouse=golden
    )
    assert pick(result, "order_to_shipment_hours", "2025-03-01") == pytest.approx(14.0)
    assert pick(result, "order_to_shipment_hours", "2025-02-01") == pytest.approx(12.0)


def test_level_at_period_end(golden: Warehouse) -> None:
    # e-mail consent open at the end of the day: C1 always; C2 until 2025-03-04 12:00; C4
    # from 2025-03-02 11:00.
    result = query(
        ["newsletter_subscribers", "active_issues"],
        "day",
        "2025-03-03",
        "2025-03-04",
        warehouse=golden,
    )
    assert pick(result, "newsletter_subscribers", "2025-03-03") == 3  # C1 C2 C4
    assert pick(result, "newsletter_subscribers", "2025-03-04") == 2  # C1 C4
    months = query(
        ["newsletter_subscribers", "active_issues"],
        "month",
        "2025-02-01",
        "2025-03-31",
        warehouse=golden,
    )
    assert pick(months, "newsletter_subscribers", "2025-02-01") == 2  # C1 C2
    assert pick(months, "newsletter_subscribers", "2025-03-01") == 2  # C1 C4
    # tickets open at the end: T3 (opened 02-25, resolved 03-12) at the end of February only
    assert pick(months, "active_issues", "2025-02-01") == 1
    assert pick(months, "active_issues", "2025-03-01") == 0


def test_level_at_period_start_drives_growth(golden: Warehouse) -> None:
    # March: 2 subscribers at the start (C1 C2), 2 at the end (C1 C4): growth 0
    result = month(golden, ["subscriber_growth_rate", "newsletter_subscribers_at_start"])
    assert pick(result, "newsletter_subscribers_at_start", "2025-03-01") == 2
    assert pick(result, "subscriber_growth_rate", "2025-03-01") == 0.0


def test_last_value_per_series(golden: Warehouse) -> None:
    # latest snapshot per product x location in March: P1@DC1 8 (03-31), P1@S1 4 (03-30),
    # P2@DC1 3 (03-31) -> 15; not the DC-only total of the last day (11).
    result = month(golden, ["units_on_hand"], by=["store"])
    assert pick(result, "units_on_hand", "2025-03-01", store="S1") == 4
    assert pick(result, "units_on_hand", "2025-03-01", store="DC1") == 11
    total = month(golden, ["units_on_hand"])
    assert pick(total, "units_on_hand", "2025-03-01") == 15


def test_trailing_window_counts(golden: Warehouse) -> None:
    # completed orders in the 365 days to the end of the period
    months = query(["active_customers"], "month", "2025-02-01", "2025-03-31", warehouse=golden)
    assert pick(months, "active_customers", "2025-03-01") == 4  # C1 C2 C3 C4
    assert pick(months, "active_customers", "2025-02-01") == 3  # C1 (O1, O4) C2 (O2) C3 (O5)
    # loyal = 3+ orders in 365 days. C1 bought 2024-03-04, 2025-02-24, 2025-03-03, 2025-03-11:
    # on 03-03 the window starts 2024-03-04 (3 orders), on 03-04 O1 has left it (2 orders),
    # from 03-11 O4 O6 O11 make 3 again.
    days = query(["loyal_customers"], "day", "2025-03-03", "2025-03-11", warehouse=golden)
    values = [pick(days, "loyal_customers", f"2025-03-{d:02d}") for d in range(3, 12)]
    assert values == [1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_trailing_sum(golden: Warehouse) -> None:
    # units in the 28 days to 03-31 (03-04 .. 03-31): O8 1 + O10 1 + O11 1
    result = month(golden, ["units_sold_28d"])
    assert pick(result, "units_sold_28d", "2025-03-01") == 3


def test_funnels(golden: Warehouse) -> None:
    result = month(golden, ["basket_to_order_rate", "view_to_basket_rate", "cart_abandonment_rate"])
    # add to cart: SS6 SS7 SS9 SS10 SS12, then purchase: all but SS12
    assert pick(result, "basket_to_order_rate", "2025-03-01") == pytest.approx(4 / 5)
    assert pick(result, "cart_abandonment_rate", "2025-03-01") == pytest.approx(1 / 5)
    # product view: SS6 SS7 SS8 SS9 SS10 SS12, then add to cart: all but SS8
    assert pick(result, "view_to_basket_rate", "2025-03-01") == pytest.approx(5 / 6)


def test_share_of_a_dimension(golden: Warehouse) -> None:
    # March payments: card O6 O8 O9, mobile pay O7 O10, cash O11
    result = month(golden, ["payment_type_share"])
    assert pick(result, "payment_type_share", "2025-03-01", payment_method="card") == 0.5
    assert pick(
        result, "payment_type_share", "2025-03-01", payment_method="mobile_pay"
    ) == pytest.approx(1 / 3)
    assert pick(result, "payment_type_share", "2025-03-01", payment_method="cash") == pytest.approx(
        1 / 6
    )
    # A filter on the shared dimension keeps the total over all payment types.
    card = month(golden, ["payment_type_share"], filters={"payment_method": "card"})
    assert pick(card, "payment_type_share", "2025-03-01", payment_method="card") == 0.5


def test_retention(golden: Warehouse) -> None:
    # February buyers C1 C3 both buy again in March: 2/2. January had no buyers: no data.
    result = query(
        ["retention_rate", "churn_rate"], "month", "2025-02-01", "2025-03-31", warehouse=golden
    )
    assert pick(result, "retention_rate", "2025-03-01") == 1.0
    assert pick(result, "churn_rate", "2025-03-01") == 0.0
    assert pick(result, "retention_rate", "2025-02-01") is None


def test_period_dependent_distinct_count(golden: Warehouse) -> None:
    # returning visitors had a session before the period: March: V1 V2 V3 of 6 visitors
    result = month(golden, ["returning_visitor_share"])
    assert pick(result, "returning_visitor_share", "2025-03-01") == pytest.approx(3 / 6)


def test_top_ratio_from_a_user_catalog(golden: Warehouse, tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        """
kpis:
  - id: top_page_exit_rate
    name: {en: Exit rate of the 2 most viewed pages, ko: 상위 2개 페이지 이탈률}
    definition: {en: Exits / page views of the top 2 pages., ko: 상위 2개 페이지의 이탈 / 조회.}
    stage: browsing
    function: marketing
    race: act
    unit: percent
    direction: down
    measure:
      type: top_ratio
      source: events
      filter: is_page_view
      rank_by: page_path
      n: 2
      numerator: "iif(is_exit, 1, 0)"
      denominator: "1"
""",
        encoding="utf-8",
    )
    catalog = load_catalog([tmp_path])
    # March page views: /home 3, /p/P2 3, /search 2, /p/P1 2, /p/P3 2. Top 2: /home
    # (exits: SS13) and /p/P2 (exits: SS6 SS8 SS9): (1 + 3) / (3 + 3)
    result = query(["top_page_exit_rate"], *MARCH, warehouse=golden, catalog=catalog)
    assert pick(result, "top_page_exit_rate", "2025-03-01") == pytest.approx(4 / 6)


def test_no_data_when_the_source_is_empty(golden: Warehouse) -> None:
    # The golden retailer has no marketing or survey data and no CLV scores at all.
    result = month(golden, ["impressions", "nps", "clv"])
    assert result["value"].tolist() == [None, None, None]


def test_zero_inside_coverage_no_data_outside(golden: Warehouse) -> None:
    # Orders exist from 2024-03-04 to 2025-03-11: January 2025 has none (0); 2023 is before.
    result = query(["orders"], "month", "2025-01-01", "2025-01-31", warehouse=golden)
    assert pick(result, "orders", "2025-01-01") == 0
    before = query(["orders"], "month", "2023-01-01", "2023-01-31", warehouse=golden)
    assert pick(before, "orders", "2023-01-01") is None


def test_a_share_broken_down_by_its_own_dimension_is_the_share(golden: Warehouse) -> None:
    # The detail page offers every dimension a share allows, its own included: by
    # payment_method the shares are those of March above (not 1.0, not an error).
    result = month(golden, ["payment_type_share"], by=["payment_method"])
    assert list(result.columns[:3]) == ["kpi", "period_start", "payment_method"]
    assert pick(result, "payment_type_share", "2025-03-01", payment_method="card") == 0.5
    cash = pick(result, "payment_type_share", "2025-03-01", payment_method="cash")
    assert cash == pytest.approx(1 / 6)
