"""Loyalty KPIs on the golden retailer, values worked out by hand from tests/kpi/golden_data.py.

Completed orders of known customers: C1 (member since 2024-02-10, Seoul) 2024-03-04,
2025-02-24, 2025-03-03, 2025-03-11; C2 (Busan) 2024-03-05, 2025-03-04; C3 (Seoul, member
since 2025-03-05 09:00) 2025-02-26, 2025-03-10; C4 (Busan) 2025-03-03.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from omnikpi.kpi import query
from omnikpi.services.loyalty import write_loyalty_effects
from omnikpi.warehouse import Warehouse
from tests.kpi.conftest import pick
from tests.kpi.golden_data import kst


def day(golden: Warehouse | Path, kpis: list[str], on: str, **kwargs: object) -> object:
    return query(kpis, "day", on, on, warehouse=golden, **kwargs)  # type: ignore[arg-type]


def test_enrollment_rate_counts_members_at_the_period_end(golden: Warehouse) -> None:
    # 2025-03-04: C1, C2, C3, C4 active (C1's 2024-03-04 order is just outside the window,
    # her 2025 orders keep her active); only C1 is a member: 1/4. C3 joins on 03-05: 2/4.
    # (Counting customers with an order placed as a member, C3 stayed a non-member until
    # her next order on 03-10.)
    before = day(golden, ["loyalty_enrollment_rate", "active_members"], "2025-03-04")
    assert pick(before, "loyalty_enrollment_rate", "2025-03-04") == pytest.approx(0.25)
    after = day(
        golden, ["loyalty_enrollment_rate", "active_members", "active_nonmembers"], "2025-03-05"
    )
    assert pick(after, "loyalty_enrollment_rate", "2025-03-05") == pytest.approx(0.5)
    assert pick(after, "active_members", "2025-03-05") == 2
    assert pick(after, "active_nonmembers", "2025-03-05") == 2


def test_enrollment_rate_by_the_customers_region(golden: Warehouse) -> None:
    # Seoul: C1 and C3, both members; Busan: C2 and C4, neither.
    result = day(golden, ["loyalty_enrollment_rate"], "2025-03-05", by=["region"])
    assert pick(result, "loyalty_enrollment_rate", "2025-03-05", region="Seoul") == 1.0
    assert pick(result, "loyalty_enrollment_rate", "2025-03-05", region="Busan") == 0.0


def test_active_customer_base_is_active_customers(golden: Warehouse) -> None:
    result = query(
        ["active_customers", "active_customer_base"],
        "day",
        "2024-03-01",
        "2025-03-12",
        warehouse=golden,
    )
    wide = result.pivot(index="period_start", columns="kpi", values="value")
    assert len(wide) == 377
    assert wide["active_customers"].fillna(-1).equals(wide["active_customer_base"].fillna(-1))
    # 2025-02-26: C1 (2025-02-24), C2 (2024-03-05, in the window until 2025-03-04) and C3,
    # who first bought that day; C4 comes on 03-03.
    assert pick(result, "active_customer_base", "2025-02-26") == 3
    assert pick(result, "active_customer_base", "2025-03-03") == 4


def _append(path: Path, name: str, rows: list[dict[str, object]]) -> None:
    with Warehouse.open(path) as warehouse, warehouse.transaction():
        warehouse.append(name, pa.Table.from_pylist(rows))


def test_nps_split_and_program_awareness(golden_copy: Path) -> None:
    scores = [10, 9, 9, 8, 7, 6, 0]
    answers: list[dict[str, object]] = [
        dict(
            response_id=f"R{i}",
            kind="nps",
            customer_id="C1",
            score=s,
            scale_max=10,
            order_id=None,
            ticket_id=None,
            campaign_id=None,
            exposure_group=None,
            responded_at=kst("2025-03-05 10:00"),
        )
        for i, s in enumerate(scores)
    ]
    answers += [
        dict(
            response_id=f"A{i}",
            kind="program_awareness",
            customer_id="C2",
            score=s,
            scale_max=1,
            order_id=None,
            ticket_id=None,
            campaign_id=None,
            exposure_group=None,
            responded_at=kst("2025-03-06 10:00"),
        )
        for i, s in enumerate([1, 0, 1, 1])
    ]
    _append(golden_copy, "surveys", answers)
    ids = [
        "nps",
        "nps_promoter_share",
        "nps_passive_share",
        "nps_detractor_share",
        "loyalty_program_awareness",
    ]
    result = query(ids, "month", "2025-03-01", "2025-03-31", warehouse=golden_copy)
    # 3 promoters, 2 passives, 2 detractors of 7; NPS = 100 * (3 - 2) / 7.
    assert pick(result, "nps_promoter_share", "2025-03-01") == pytest.approx(3 / 7)
    assert pick(result, "nps_passive_share", "2025-03-01") == pytest.approx(2 / 7)
    assert pick(result, "nps_detractor_share", "2025-03-01") == pytest.approx(2 / 7)
    assert pick(result, "nps", "2025-03-01") == pytest.approx(100 / 7)
    # 3 of 4 respondents know the programme.
    assert pick(result, "loyalty_program_awareness", "2025-03-01") == pytest.approx(0.75)


def test_effect_kpis_read_the_loyalty_effects_table(golden_copy: Path) -> None:
    def effect(month: date, as_of: date, uplift: float, gain: float) -> dict[str, object]:
        return dict(
            program="loyalty",
            month=month,
            as_of=as_of,
            frequency_uplift=uplift,
            frequency_uplift_low=uplift - 0.1,
            frequency_uplift_high=uplift + 0.1,
            incremental_gross_profit=gain,
        )

    with Warehouse.open(golden_copy) as warehouse:
        rows = [
            effect(date(2025, 1, 1), date(2025, 1, 31), 0.2, 300.0),
            effect(date(2025, 2, 1), date(2025, 2, 28), 0.3, 500.0),
        ]
        with warehouse.registered("_effects", pa.Table.from_pylist(rows)) as view:
            warehouse.run_sql(f"CREATE TABLE loyalty_effects AS SELECT * FROM {view}")
    costs = [
        dict(month=date(2025, m, 1), program=p, cost=Decimal(c), currency="KRW")
        for m, p, c in [(1, "loyalty", 100), (2, "loyalty", 300), (2, "crm", 999)]
    ]
    _append(golden_copy, "program_costs", costs)
    ids = [
        "loyalty_member_frequency_uplift",
        "loyalty_member_frequency_uplift_low",
        "loyalty_incremental_gross_profit",
        "loyalty_program_roi",
    ]
    months = query(ids, "month", "2025-01-01", "2025-02-28", warehouse=golden_copy)
    assert pick(months, "loyalty_member_frequency_uplift", "2025-02-01") == pytest.approx(0.3)
    assert pick(months, "loyalty_member_frequency_uplift_low", "2025-01-01") == pytest.approx(0.1)
    # January: (300 - 100) / 100 = 2; February: (500 - 300) / 300.
    assert pick(months, "loyalty_program_roi", "2025-01-01") == pytest.approx(2.0)
    assert pick(months, "loyalty_program_roi", "2025-02-01") == pytest.approx(200 / 300)
    quarter = query(ids, "quarter", "2025-01-01", "2025-03-31", warehouse=golden_copy)
    # The quarter reads the uplift at its last month; gains and costs add up:
    # (800 - 400) / 400 = 1.
    assert pick(quarter, "loyalty_member_frequency_uplift", "2025-01-01") == pytest.approx(0.3)
    assert pick(quarter, "loyalty_program_roi", "2025-01-01") == pytest.approx(1.0)


def test_effects_written_after_a_load_reach_the_kpis(golden_copy: Path) -> None:
    with Warehouse.open(golden_copy) as warehouse:
        assert write_loyalty_effects(warehouse) == 13  # March 2024 .. March 2025
        assert "loyalty_effects" in warehouse.changed_tables()
    ids = [
        "loyalty_member_frequency_uplift",
        "loyalty_member_spend_uplift",
        "loyalty_member_rate_multiplier",
    ]
    result = query(ids, "month", "2025-03-01", "2025-03-31", warehouse=golden_copy)
    # At 2025-03-11 (the last data day): C1 member, 3 orders (44,000), tenure 372 days;
    # C2 non-member, 1 order (12,000), 371 days; C3 member, 2 orders (10,000), 13 days;
    # C4 non-member, 1 order (22,000), 8 days. Bands [0, 90) and [365, 730), one member each:
    # frequency (2 + 3) / (1 + 1) - 1 = 1.5;
    # spend (2 * 5,000 + 3 * 14,666.67) / (2 * 22,000 + 3 * 12,000) - 1 = 54/80 - 1 = -0.325.
    assert pick(result, "loyalty_member_frequency_uplift", "2025-03-01") == pytest.approx(1.5)
    assert pick(result, "loyalty_member_spend_uplift", "2025-03-01") == pytest.approx(-0.325)
    # Four customers are too few for the BG/NBD fit: no data, never 0.
    assert pick(result, "loyalty_member_rate_multiplier", "2025-03-01") is None
