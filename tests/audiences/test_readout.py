"""The campaign readout against a hand computation, and the outcomes it reads from the
tiny retailer's orders."""

from __future__ import annotations

import math
from datetime import date

import ibis
import pandas as pd
import pytest
from scipy import stats

from omnikpi.audiences.readout import campaign_outcomes, read_out
from omnikpi.errors import DataError
from omnikpi.warehouse import Warehouse

Z = 1.959964  # the normal's 97.5 % point


def outcomes() -> pd.DataFrame:
    """Four treated and four held-out customers: orders and revenue in the window."""
    return pd.DataFrame(
        {
            "customer_id": list("abcdefgh"),
            "group": ["treated"] * 4 + ["holdout"] * 4,
            "orders": [1, 2, 0, 0, 1, 0, 0, 0],
            "revenue": [100.0, 300.0, 0.0, 0.0, 100.0, 0.0, 0.0, 0.0],
        }
    )


def test_the_readout_is_the_hand_computation() -> None:
    readout = read_out(outcomes(), cost=100.0)
    assert (readout.treated, readout.holdout) == (4, 4)

    # conversion 2/4 against 1/4: difference 0.25, unpooled se sqrt(.5·.5/4 + .25·.75/4)
    conversion = readout.conversion
    assert (conversion.treatment_rate, conversion.control_rate) == (0.5, 0.25)
    se = math.sqrt(0.109375)
    assert conversion.difference_ci_low == pytest.approx(0.25 - Z * se, abs=1e-6)
    assert conversion.difference_ci_high == pytest.approx(0.25 + Z * se, abs=1e-6)
    # relative lift 0.5/0.25 - 1 = 1, log-ratio se sqrt(1/2 - 1/4 + 1/1 - 1/4) = 1
    assert conversion.lift == pytest.approx(1.0)
    assert conversion.ci_low == pytest.approx(2 * math.exp(-Z) - 1, abs=1e-6)
    assert conversion.ci_high == pytest.approx(2 * math.exp(Z) - 1, abs=1e-5)
    # pooled z = 0.25 / sqrt(3/8 · 5/8 · (1/4 + 1/4))
    assert conversion.z == pytest.approx(0.25 / math.sqrt(0.375 * 0.625 * 0.5))

    # revenue per customer: treated mean 100 (sd² 60,000/3), holdout 25 (sd² 7,500/3);
    # difference 75, se sqrt(20,000/4 + 2,500/4) = 75, Welch df 5625² / ((5000² + 625²)/3)
    revenue = readout.revenue_per_customer
    assert (revenue.treatment_mean, revenue.control_mean, revenue.difference) == (100, 25, 75)
    df = 5625**2 / ((5000**2 + 625**2) / 3)
    assert revenue.degrees_of_freedom == pytest.approx(df)
    t = stats.t.ppf(0.975, df)
    assert revenue.difference_ci_low == pytest.approx(75 - t * 75)
    assert revenue.lift == pytest.approx(3.0)  # 100 / 25 - 1

    # orders per customer 3/4 against 1/4
    orders = readout.orders_per_customer
    assert (orders.treatment_mean, orders.control_mean) == (0.75, 0.25)

    # incremental revenue 4 treated × 75 = 300, interval 4 × Welch's; ROI (300 - 100) / 100
    incremental = readout.incremental_revenue
    assert incremental.value == pytest.approx(300.0)
    assert incremental.ci_low == pytest.approx(4 * (75 - t * 75))
    assert incremental.ci_high == pytest.approx(4 * (75 + t * 75))
    assert readout.roi is not None
    assert readout.roi.value == pytest.approx(2.0)
    assert readout.roi.ci_high == pytest.approx(4 * (75 + t * 75) / 100 - 1)
    assert read_out(outcomes()).roi is None  # no cost, no ROI
    rows = {row["measure"]: row for row in readout.rows()}
    assert rows["conversion_rate"]["treated"] == 0.5
    assert rows["revenue_per_customer"]["difference"] == 75


def test_a_readout_needs_both_groups() -> None:
    one_group = outcomes().assign(group="treated")
    with pytest.raises(DataError, match="the holdout group has 0 customers"):
        read_out(one_group)
    with pytest.raises(DataError, match="no member of either group bought"):
        read_out(outcomes().assign(orders=0, revenue=0.0))


def test_outcomes_count_the_window_s_orders_not_cancelled(tiny: Warehouse) -> None:
    # 2025-06-01..06-30: A 06-20 30,000; B 06-25 50,000; I's 99,000 of 06-01 was cancelled;
    # D bought on 05-10 (outside); E not at all
    members = ibis.memtable(
        {"customer_id": ["A", "B", "D", "E", "I"], "group": ["treated"] * 3 + ["holdout"] * 2}
    )
    frame = tiny.execute(
        campaign_outcomes(
            members, tiny.table("orders"), date(2025, 6, 1), date(2025, 6, 30), tiny.time_zone
        )
    ).set_index("customer_id")
    assert frame["orders"].to_dict() == {"A": 1, "B": 1, "D": 0, "E": 0, "I": 0}
    assert frame["revenue"].to_dict() == {"A": 30000, "B": 50000, "D": 0, "E": 0, "I": 0}
    # the last day counts to its local midnight: B's 06-25 order is outside 06-01..06-24
    short = tiny.execute(
        campaign_outcomes(
            members, tiny.table("orders"), date(2025, 6, 1), date(2025, 6, 24), tiny.time_zone
        )
    ).set_index("customer_id")
    assert short.loc["B", "orders"] == 0
    assert short.loc["A", "orders"] == 1
