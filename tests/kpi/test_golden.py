"""Hand-computed KPI values on the golden retailer (tests/kpi/golden_data.py).

Each expected value says how it was computed from the tables in golden_data.py.
"""

from __future__ import annotations

import pytest

from omnikpi.kpi import query
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick

CXO = [
    "visits",
    "unique_visitors",
    "conversion_rate",
    "orders",
    "order_completion_rate",
    "revenue",
    "aov",
    "on_time_delivery_rate",
    "complaint_ratio",
    "returning_customer_share",
]

#: CxO KPIs for March 2025, February 2025 (previous) and March 2024 (year before).
MONTH = {
    # sessions SS6 SS7 SS8 SS9 SS10 SS12 SS13 | SS4 SS5 SS11 | SS1 SS2 SS3
    "visits": (7, 3, 3),
    # visitors V1 V6 V2 V3 V7 V8 | V4 V5 V2 | V1 V2 V3
    "unique_visitors": (6, 3, 3),
    # sessions with a purchase: SS6 SS7 SS9 SS10 of 7 | SS4 SS5 of 3 | SS1 SS3 of 3
    "conversion_rate": (4 / 7, 2 / 3, 2 / 3),
    # O6..O11 | O4 O5 | O1 O2 O3
    "orders": (6, 2, 3),
    # completed (paid or completed): O6 O7 O8 O10 O11 of 6 | 2 of 2 | O1 O2 of 3
    "order_completion_rate": (5 / 6, 1.0, 2 / 3),
    # 27,000 + 22,000 + 12,000 + 5,000 + 5,000 | 12,000 + 5,000 | 10,000 + 30,000
    "revenue": (71_000, 17_000, 40_000),
    # revenue / completed orders: 71,000 / 5 | 17,000 / 2 | 40,000 / 2
    "aov": (14_200, 8_500, 20_000),
    # deliveries: SH6 on time, SH7 late | SH4 late, SH5 on time | SH1 on time
    "on_time_delivery_rate": (0.5, 0.5, 1.0),
    # complaints / orders: T1 / 6 | T3 / 2 | 0 / 3
    "complaint_ratio": (1 / 6, 0.5, 0.0),
    # purchasers who bought before the month: C1 C2 C3 of C1 C4 C2 C3 | C1 of C1 C3 | none
    "returning_customer_share": (0.75, 0.5, 0.0),
}

#: Week of Monday 2025-03-03, the week before, and the week 364 days earlier (2024-03-04).
WEEK = {
    "visits": (4, 3, 3),  # SS6 SS7 SS8 SS9 | SS4 SS5 SS11 | SS1 SS2 SS3
    "unique_visitors": (4, 3, 3),  # V1 V6 V2 V3 | V4 V5 V2 | V1 V2 V3
    "conversion_rate": (3 / 4, 2 / 3, 2 / 3),  # SS6 SS7 SS9 of 4
    "orders": (4, 2, 3),  # O6 O7 O8 O9 | O4 O5 | O1 O2 O3
    "order_completion_rate": (3 / 4, 1.0, 2 / 3),
    "revenue": (61_000, 17_000, 40_000),  # 27,000 + 22,000 + 12,000
    "aov": (61_000 / 3, 8_500, 20_000),
    "on_time_delivery_rate": (0.5, 0.5, 1.0),  # SH6 SH7 | SH4 SH5 | SH1
    "complaint_ratio": (1 / 4, 1 / 2, 0.0),  # T1 / 4 | T3 / 2 | 0 / 3
    "returning_customer_share": (2 / 3, 1 / 2, 0.0),  # C1 C2 of C1 C4 C2 | C1 of C1 C3
}

#: Monday 2025-03-03 (O6 at 07:30 KST is 2025-03-02 in UTC but counts on 03-03 local),
#: the day before, and the day 364 days earlier (2024-03-04). None = no data.
DAY = {
    "visits": (3, 0, 2),  # SS6 SS7 SS8 | none | SS1 SS2
    "unique_visitors": (3, 0, 2),
    "conversion_rate": (2 / 3, None, 1 / 2),  # no sessions on 03-02: 0/0
    "orders": (2, 0, 1),  # O6 O7 | none | O1
    "order_completion_rate": (1.0, None, 1.0),
    "revenue": (49_000, 0, 10_000),
    "aov": (24_500, None, 10_000),
    "on_time_delivery_rate": (None, None, None),  # nothing delivered on those days
    # 2024-03-04 is before the first ticket ever recorded (T4, 2024-03-07): no data, not 0.
    "complaint_ratio": (0.0, None, None),
    "returning_customer_share": (1 / 2, None, 0.0),  # C1 of C1 C4 | none | C1 buys first
}


@pytest.mark.parametrize(
    ("grain", "period", "expected", "start", "end"),
    [
        ("month", "2025-03-01", MONTH, "2025-03-01", "2025-03-31"),
        ("week", "2025-03-03", WEEK, "2025-03-03", "2025-03-09"),
        ("day", "2025-03-03", DAY, "2025-03-03", "2025-03-03"),
    ],
)
@pytest.mark.parametrize("compare", ["previous", "year"])
def test_cxo_kpis(
    golden: Warehouse,
    grain: str,
    period: str,
    expected: dict[str, tuple[float | None, ...]],
    start: str,
    end: str,
    compare: str,
) -> None:
    # A year before: the same week 52 weeks earlier, the same month; for a day the same
    # weekday 52 weeks earlier (its same date a year before is the next test).
    if compare == "year":
        compare = "weekday_last_year" if grain == "day" else "yoy"
    result = query(CXO, grain, start, end, compare=compare, warehouse=golden)  # type: ignore[arg-type]
    assert sorted(result["kpi"].unique()) == sorted(CXO)
    for kpi, (current, previous, year_before) in expected.items():
        other = previous if compare == "previous" else year_before
        assert pick(result, kpi, period) == _approx(current), kpi
        assert pick(result, kpi, period, "comparison_value") == _approx(other), kpi
        change = pick(result, kpi, period, "change")
        points = kpi in POINT_KPIS
        assert pick(result, kpi, period, "change_type") == ("points" if points else "relative")
        if current is None or other is None or (not other and not points):
            assert change is None, kpi
        elif points:  # percents change by percentage points: 14.3% -> 4.8% is -9.5 pp
            assert change == pytest.approx(current - other), kpi
        else:
            assert change == pytest.approx((current - other) / abs(other)), kpi


@pytest.mark.parametrize(
    ("compare", "other_day"),
    [("yoy", "2024-03-03"), ("weekday_last_year", "2024-03-04"), ("last_week", "2025-02-24")],
)
def test_a_day_compares_with_the_day_its_comparison_names(
    golden: Warehouse, compare: str, other_day: str
) -> None:
    """Same date last year (a Sunday), same weekday last year (a Monday), same day last week:
    each comparison value is that day's own value."""
    result = query(CXO, "day", "2025-03-03", "2025-03-03", compare=compare, warehouse=golden)  # type: ignore[arg-type]
    other = query(CXO, "day", other_day, other_day, warehouse=golden)
    for kpi in CXO:
        assert pick(result, kpi, "2025-03-03", "comparison_value") == _approx(
            pick(other, kpi, other_day)
        ), kpi
    weekday = query(CXO, "day", "2025-03-03", "2025-03-03", compare="weekday_last_year",
                    warehouse=golden)  # fmt: skip
    assert pick(weekday, "revenue", "2025-03-03", "comparison_value") == DAY["revenue"][2]


#: The CxO KPIs in percent: their changes are differences in points.
POINT_KPIS = {
    "conversion_rate",
    "order_completion_rate",
    "on_time_delivery_rate",
    "complaint_ratio",
    "returning_customer_share",
}


def _approx(value: float | None) -> object:
    return None if value is None else pytest.approx(value)


def test_months_with_breakdown_by_channel(golden: Warehouse) -> None:
    result = query(
        ["orders", "revenue", "conversion_rate"],
        "month",
        "2025-03-01",
        "2025-03-31",
        by=["channel"],
        warehouse=golden,
    )
    # web: O6 O7 O9; app: O10; store: O8 O11
    assert pick(result, "orders", "2025-03-01", channel="web") == 3
    assert pick(result, "orders", "2025-03-01", channel="store") == 2
    # completed revenue: web O6 + O7 = 49,000; app O10 = 5,000; store O8 + O11 = 17,000
    assert pick(result, "revenue", "2025-03-01", channel="web") == 49_000
    assert pick(result, "revenue", "2025-03-01", channel="app") == 5_000
    assert pick(result, "revenue", "2025-03-01", channel="store") == 17_000
    # sessions: web SS6 SS7 SS8 SS9 SS12 SS13 (purchases SS6 SS7 SS9), app SS10 (purchase)
    assert pick(result, "conversion_rate", "2025-03-01", channel="web") == pytest.approx(3 / 6)
    assert pick(result, "conversion_rate", "2025-03-01", channel="app") == 1.0
    # There are no store sessions: conversion is not reported for stores.
    conversion = result[result["kpi"] == "conversion_rate"]
    assert set(conversion["channel"]) == {"web", "app"}


def test_filters(golden: Warehouse) -> None:
    result = query(
        ["orders", "revenue"],
        "month",
        "2025-03-01",
        "2025-03-31",
        filters={"channel": ["web", "app"]},
        warehouse=golden,
    )
    assert pick(result, "orders", "2025-03-01") == 4  # O6 O7 O9 O10
    assert pick(result, "revenue", "2025-03-01") == 54_000  # 27,000 + 22,000 + 5,000


def test_a_store_filter_takes_tickets_by_their_order_else_the_home_store(
    golden: Warehouse,
) -> None:
    result = query(
        ["complaints", "service_tickets", "complaint_ratio"],
        "month",
        "2025-02-01",
        "2025-03-31",
        filters={"store": ["S1"]},
        warehouse=golden,
    )
    # February: T3 is C2's complaint about no order; C2's home store is S1.
    assert pick(result, "complaints", "2025-02-01") == 1
    assert pick(result, "service_tickets", "2025-02-01") == 1
    # March: T1 is about O7 (a web order, no store), T2 is C1's (no home store).
    assert pick(result, "complaints", "2025-03-01") == 0
    assert pick(result, "service_tickets", "2025-03-01") == 0
    # 0 complaints over S1's March orders O8 and O11; February has no S1 orders (0 / 0).
    assert pick(result, "complaint_ratio", "2025-03-01") == 0.0
    assert pick(result, "complaint_ratio", "2025-02-01") is None
