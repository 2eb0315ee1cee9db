"""Loyalty effects on tiny hand-made customers (values worked out in each test's comments), and
on the simulated retailer: the planted member purchase-rate multiplier lies in the interval."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from omnikpi.customers.clv.bgnbd import BgNbdParameters, bgnbd_log_likelihood
from omnikpi.customers.loyalty import (
    NotEnoughCustomers,
    _orders_before,
    active_customer_frame,
    fit_member_rate_multiplier,
    member_at,
    member_multiplier_log_likelihood,
    member_uplift,
    monthly_effects,
    program_roi,
    repeat_purchase_summary,
)
from omnikpi.services.loyalty import read_loyalty_inputs
from omnikpi.warehouse import Warehouse
from tests.conftest import scalar

T = pd.Timestamp


def customer(
    customer_id: str,
    since: str | None = None,
    until: str | None = None,
    created: str = "2024-01-15",
    region: str = "Seoul",
    channel: str = "web",
    business: bool = False,
) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "created_at": T(created),
        "member_since": T(since) if since else pd.NaT,
        "member_until": T(until) if until else pd.NaT,
        "region": region,
        "acquisition_channel": channel,
        "is_business": business,
    }


def orders(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """(customer, placed_at, revenue, gross profit) rows."""
    return pd.DataFrame(
        [
            {"customer_id": c, "placed_at": T(p), "revenue": r, "gross_profit": g}
            for c, p, r, g in rows
        ]
    )


def test_membership_is_read_at_the_end_of_the_day() -> None:
    people = pd.DataFrame(
        [
            customer("joined_that_day", since="2025-06-30 23:00"),
            customer("joins_next_day", since="2025-07-01 00:10"),
            customer("left_that_day", since="2025-01-01", until="2025-06-30 08:00"),
            customer("leaves_next_day", since="2025-01-01", until="2025-07-01 08:00"),
            customer("never"),
        ]
    )
    assert member_at(people, date(2025, 6, 30)).tolist() == [True, False, False, True, False]


# Window: the 365 days up to 2025-06-30. Tenure = days since first purchase at 2025-06-30;
# bands [0, 90) [90, 180) [180, 365) [365, 730) ... are 0, 1, 2, 3.
UPLIFT_CUSTOMERS = pd.DataFrame(
    [
        customer("A", since="2025-01-01"),  # member, tenure 171 (band 1)
        customer("B"),  # non-member, tenure 166 (band 1)
        customer("C", since="2024-01-01"),  # member, first order 2024-01-01 (band 3)
        customer("D"),  # non-member, first order 2024-03-01 (band 3)
        # Bought 4 times as a member but left on the last day: a non-member at period end,
        # in band 0 where no member is, so the standardised uplift leaves her out.
        customer("E", since="2025-05-01", until="2025-06-30"),
        customer("F", business=True),  # business account: never compared
    ]
)
UPLIFT_ORDERS = orders(
    [
        ("A", "2025-01-10 10:00", 30, 0),
        ("A", "2025-03-01 10:00", 40, 0),
        ("A", "2025-05-01 10:00", 50, 0),
        ("B", "2025-01-15 10:00", 20, 0),
        ("C", "2024-01-01 10:00", 999, 0),  # before the window
        ("C", "2025-02-01 10:00", 100, 0),
        ("C", "2025-03-01 10:00", 100, 0),
        ("D", "2024-03-01 10:00", 999, 0),  # before the window
        ("D", "2025-05-01 10:00", 50, 0),
        ("E", "2025-06-01 10:00", 10, 0),
        ("E", "2025-06-02 10:00", 10, 0),
        ("E", "2025-06-03 10:00", 10, 0),
        ("E", "2025-06-04 10:00", 10, 0),
        ("F", "2025-06-04 10:00", 5000, 0),
        ("F", "2025-06-05 10:00", 5000, 0),
        ("A", "2025-07-01 10:00", 70, 0),  # after the period
    ]
)


def test_active_customer_frame_counts_the_window_by_status_at_period_end() -> None:
    frame = active_customer_frame(UPLIFT_ORDERS, UPLIFT_CUSTOMERS, date(2025, 6, 30))
    rows = frame.set_index("customer_id")
    assert sorted(rows.index) == ["A", "B", "C", "D", "E"]
    assert rows["orders"].to_dict() == {"A": 3, "B": 1, "C": 2, "D": 1, "E": 4}
    assert rows["revenue"].to_dict() == {"A": 120, "B": 20, "C": 200, "D": 50, "E": 40}
    assert rows["member"].to_dict() == {"A": True, "B": False, "C": True, "D": False, "E": False}
    assert rows["tenure_band"].to_dict() == {"A": 1, "B": 1, "C": 3, "D": 3, "E": 0}


def test_frequency_uplift_is_standardised_to_the_members_tenure_bands() -> None:
    frame = active_customer_frame(UPLIFT_ORDERS, UPLIFT_CUSTOMERS, date(2025, 6, 30))
    # band 1: members 3 orders per customer, non-members 1; band 3: 2 and 1; one member in
    # each band: (1*3 + 1*2) / (1*1 + 1*1) - 1 = 1.5. Unstandardised (E's 4 orders among the
    # non-members) it would be (5/2) / (6/3) - 1 = 0.25.
    found = member_uplift(frame, "frequency", replicates=0)
    assert found.estimate == pytest.approx(1.5)
    assert (found.members, found.non_members) == (2, 3)


def test_spend_uplift_weights_bands_by_member_orders() -> None:
    frame = active_customer_frame(UPLIFT_ORDERS, UPLIFT_CUSTOMERS, date(2025, 6, 30))
    # AOV band 1: members 120/3 = 40, non-members 20; band 3: 200/2 = 100 and 50.
    # Weights: member orders 3 and 2: (3*40 + 2*100) / (3*20 + 2*50) - 1 = 320/160 - 1 = 1.0.
    assert member_uplift(frame, "spend", replicates=0).estimate == pytest.approx(1.0)


def test_uplift_interval_is_reproducible_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(3)
    n = 400
    member = rng.random(n) < 0.5
    frame = pd.DataFrame(
        {
            "orders": rng.poisson(np.where(member, 3.0, 2.0)) + 1,
            "revenue": 0.0,
            "member": member,
            "tenure_band": rng.integers(0, 3, n),
        }
    )
    frame["revenue"] = frame["orders"] * 10.0
    first = member_uplift(frame, "frequency", replicates=300, seed=5)
    again = member_uplift(frame, "frequency", replicates=300, seed=5)
    assert first == again
    assert first.low < first.estimate < first.high
    # Expected orders 4 against 3: the uplift is about 1/3 and the interval holds it.
    assert first.low < 1 / 3 < first.high


def test_uplift_without_members_is_an_error_not_zero() -> None:
    frame = active_customer_frame(
        UPLIFT_ORDERS,
        UPLIFT_CUSTOMERS.assign(member_since=pd.Series(pd.NaT, index=UPLIFT_CUSTOMERS.index)),
        date(2025, 6, 30),
    )
    with pytest.raises(NotEnoughCustomers, match="members and non-members"):
        member_uplift(frame)


def test_repeat_purchase_summary_counts_days() -> None:
    people = pd.DataFrame([customer("A", since="2025-01-01"), customer("B")])
    rows = orders(
        [
            ("A", "2025-01-01 09:00", 1, 0),
            ("A", "2025-01-01 18:00", 1, 0),  # same day: one purchase
            ("A", "2025-01-11 09:00", 1, 0),
            ("A", "2025-01-31 09:00", 1, 0),
            ("A", "2025-03-01 09:00", 1, 0),  # after the date
            ("B", "2025-01-20 09:00", 1, 0),
        ]
    )
    summary = repeat_purchase_summary(rows, people, date(2025, 2, 9)).set_index("customer_id")
    # A: first day Jan 1, repeats Jan 11 and Jan 31; up to the end of Feb 9 is 40 days.
    assert summary.loc["A"].to_dict() == {"x": 2.0, "t_x": 30.0, "T": 40.0, "member": True}
    assert summary.loc["B"].to_dict() == {"x": 0.0, "t_x": 0.0, "T": 21.0, "member": False}


def test_member_likelihood_is_bgnbd_with_the_members_scale_divided() -> None:
    summary = pd.DataFrame(
        {
            "x": [0.0, 2.0, 5.0, 1.0],
            "t_x": [0.0, 30.0, 200.0, 12.0],
            "T": [40.0, 90.0, 250.0, 60.0],
            "member": [False, True, False, True],
        }
    )
    r, alpha, a, b, m = 0.8, 60.0, 0.9, 4.0, 1.5
    plain, members = summary[~summary["member"]], summary[summary["member"]]

    def published(part: pd.DataFrame, scale: float) -> float:
        return bgnbd_log_likelihood(
            BgNbdParameters(r, scale, a, b),
            part["x"].to_numpy(),
            part["t_x"].to_numpy(),
            part["T"].to_numpy(),
        )

    expected = published(plain, alpha) + published(members, alpha / m)
    assert member_multiplier_log_likelihood(summary, r, alpha, a, b, m) == pytest.approx(expected)


# Matching (period June 2025, programme cost 100). Strata: enrollment month, orders in the
# 365 days before it (0 | 1 | 2-3 | 4+), months since sign-up (0 | 1-5 | 6-11 | 12+),
# acquisition channel, region.
ROI_CUSTOMERS = pd.DataFrame(
    [
        customer("M1", since="2025-03-10"),  # 2025-03, 1 prior order, 14 months, web, Seoul
        customer("M2", since="2025-03-20"),  # same stratum
        customer("N1"),  # as of 2025-03: 1 prior order, 14 months: M1/M2's controls
        customer("N2"),
        customer("M3", since="2025-05-05", created="2025-05-01", region="Busan", channel="store"),
        customer("N3", created="2025-05-20", region="Busan", channel="store"),  # M3's control
        customer("M4", since="2025-04-01", region="Jeju", channel="app"),  # no control
        customer("X1", since="2024-06-01", until="2025-01-01"),  # ex-member: neither side
        customer("B1", business=True),  # business account: neither side
    ]
)
ROI_ORDERS = orders(
    [
        ("M1", "2024-06-01 10:00", 10, 5),
        ("M2", "2024-12-01 10:00", 10, 5),
        ("N1", "2024-09-01 10:00", 10, 5),
        ("N2", "2024-10-01 10:00", 10, 5),
        ("B1", "2024-10-01 10:00", 10, 5),
        ("M1", "2025-06-03 10:00", 600, 300),
        ("M2", "2025-06-04 10:00", 200, 100),
        ("N1", "2025-06-05 10:00", 100, 50),
        ("N2", "2025-06-06 10:00", 300, 150),
        ("M3", "2025-06-07 10:00", 160, 80),
        ("N3", "2025-06-08 10:00", 40, 20),
        ("M4", "2025-06-09 10:00", 2000, 1000),
        ("X1", "2025-06-10 10:00", 10000, 5000),
        ("B1", "2025-06-10 10:00", 20000, 10000),
        ("M1", "2025-07-01 10:00", 600, 300),  # after the period
    ]
)


def test_program_roi_from_coarsened_exact_matching() -> None:
    found = program_roi(ROI_ORDERS, ROI_CUSTOMERS, date(2025, 6, 1), date(2025, 6, 30), 100.0)
    # Stratum of M1, M2: members (300 + 100) / 2 = 200, controls N1, N2 (50 + 150) / 2 = 100,
    # gain 100 each. M3 against N3: 80 - 20 = 60. M4 has no control (unmatched).
    # Gain per matched member (2*100 + 60) / 3 = 86.67, times the 4 members = 346.67;
    # ROI (346.67 - 100) / 100 = 2.4667.
    assert (found.members, found.matched_members) == (4, 3)
    assert found.gain_per_member == pytest.approx(260 / 3)
    assert found.incremental_gross_profit == pytest.approx(4 * 260 / 3)
    assert found.roi == pytest.approx((4 * 260 / 3 - 100) / 100)


def test_program_roi_without_cost_has_no_ratio() -> None:
    found = program_roi(ROI_ORDERS, ROI_CUSTOMERS, date(2025, 6, 1), date(2025, 6, 30), 0.0)
    assert found.roi is None
    assert found.incremental_gross_profit == pytest.approx(4 * 260 / 3)


def test_monthly_effects_rows_and_costs() -> None:
    costs = pd.DataFrame({"month": [T("2025-06-01"), T("2025-05-01")], "cost": [100.0, 70.0]})
    effects = monthly_effects(
        ROI_ORDERS, ROI_CUSTOMERS, costs, [date(2025, 6, 1)], through=date(2025, 6, 20)
    )
    row = effects.iloc[0]
    # The month is read up to the data's last day; June's cost only.
    assert (row["month"], row["as_of"], row["program"]) == (
        date(2025, 6, 1),
        date(2025, 6, 20),
        "loyalty",
    )
    assert row["program_cost"] == 100.0
    assert row["incremental_gross_profit"] == pytest.approx(4 * 260 / 3)
    assert row["members"] == 4  # active members at 2025-06-20: M1, M2, M3, M4


def test_orders_before_a_month_equal_a_count_of_every_pair() -> None:
    """The binary search over orders sorted by customer and day counts what comparing each
    (customer, month) pair with each order counts, orders on the window's first day and on
    the month's first day (outside) included, customers without orders 0."""
    rng = np.random.default_rng(7)
    months = pd.date_range("2024-01-01", "2025-12-01", freq="MS")
    days = pd.date_range("2023-01-01", "2025-12-31", freq="D")
    edges = [m - pd.Timedelta(days=d) for m in months[:6] for d in (0, 365, 366)]
    placed = np.concatenate([rng.choice(days, 3000), np.array(edges, dtype="datetime64[ns]")])
    hours = rng.integers(0, 24 * 60, len(placed)).astype("timedelta64[m]")
    frame = pd.DataFrame(
        {
            "customer_id": rng.choice([f"C{n}" for n in range(40)], len(placed)),
            "placed_at": pd.to_datetime(placed + hours),
        }
    )
    pairs = pd.MultiIndex.from_product([[f"C{n}" for n in range(45)], months]).to_frame(
        index=False, name=["customer_id", "month"]
    )
    expected = [
        int(
            (
                (frame["customer_id"] == c)
                & (frame["placed_at"] < m)
                & (frame["placed_at"] >= m - pd.Timedelta(days=365))
            ).sum()
        )
        for c, m in pairs.itertuples(index=False)
    ]
    found = _orders_before(frame, pairs["customer_id"], pairs["month"], 365)
    assert found.tolist() == expected
    assert sum(expected) > 1000
    assert expected.count(0) >= 5 * len(months)  # C40..C44: none


def test_monthly_effects_do_not_depend_on_how_ids_are_spelt() -> None:
    """Ids are matched as codes inside: other spellings of the same customers (numbers
    written as text, in another order, beside a customer without orders) give the same
    effects to the last digit."""
    costs = pd.DataFrame({"month": [T("2025-06-01")], "cost": [100.0]})
    months = [date(2025, 5, 1), date(2025, 6, 1)]
    first = monthly_effects(ROI_ORDERS, ROI_CUSTOMERS, costs, months, date(2025, 6, 20))
    renamed = {c: f"{n:09d}" for n, c in enumerate(sorted(ROI_CUSTOMERS["customer_id"]))}
    customers = ROI_CUSTOMERS.assign(customer_id=ROI_CUSTOMERS["customer_id"].map(renamed))
    customers = pd.concat(
        [customers, pd.DataFrame([customer("never-bought")])],
        ignore_index=True,
    )
    again = monthly_effects(
        ROI_ORDERS.assign(customer_id=ROI_ORDERS["customer_id"].map(renamed)),
        customers.iloc[::-1].reset_index(drop=True),
        costs,
        months,
        date(2025, 6, 20),
    )
    assert first["incremental_gross_profit"].notna().all()
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.slow
def test_planted_member_multiplier_lies_in_the_interval(sim: Warehouse) -> None:
    """The simulator multiplies members' purchase rate by a planted value; the BG/NBD rate
    multiplier's interval holds it, while the observed uplift (dropout dilutes it: faster
    buyers reach their last purchase sooner) is positive and far below the old +100-150%."""
    planted = float(
        scalar(  # type: ignore[arg-type]
            sim,
            "SELECT value FROM simulation_truth WHERE key = ?",
            "members.purchase_rate_multiplier",
        )
    )
    purchases, customers, _ = read_loyalty_inputs(sim)
    end = pd.to_datetime(purchases["placed_at"]).max().date()
    found = fit_member_rate_multiplier(repeat_purchase_summary(purchases, customers, end))
    assert found.low <= planted <= found.high
    assert found.high / found.low < 1.3  # informative, not a catch-all interval
    frequency = member_uplift(active_customer_frame(purchases, customers, end), "frequency")
    assert 0 < frequency.low < frequency.estimate < frequency.high < planted - 1
    # The demo writes the same numbers into loyalty_effects after its load.
    written = sim.fetch_row(
        "SELECT rate_multiplier, frequency_uplift FROM loyalty_effects ORDER BY month DESC LIMIT 1"
    )
    assert written is not None
    assert written[0] == pytest.approx(found.estimate, rel=1e-3)
    assert written[1] == pytest.approx(frequency.estimate)


def test_rate_multiplier_needs_enough_customers_on_each_side() -> None:
    summary = repeat_purchase_summary(UPLIFT_ORDERS, UPLIFT_CUSTOMERS, date(2025, 6, 30))
    with pytest.raises(NotEnoughCustomers, match="at least 20 members"):
        fit_member_rate_multiplier(summary)
