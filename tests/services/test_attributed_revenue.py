"""The attributed_revenue table and the catalog's roas, acquisition_spend and
roas_last_click on the hand-made warehouse of tests/marketing/journey_data.py with four
campaigns' March spend (lookback 7 days, as the journey tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from omnikpi.errors import ConfigError
from omnikpi.kpi import KpiQuery, load_catalog
from omnikpi.marketing.attribution import attribute
from omnikpi.marketing.journeys import JourneySettings
from omnikpi.services.attributed_revenue import (
    ATTRIBUTED_REVENUE,
    write_attributed_revenue,
    write_attributed_revenue_after,
)
from omnikpi.services.journeys import JourneyRequest, read_journey_paths
from omnikpi.services.warehouse import set_data_setting
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from tests.marketing.journey_data import write_warehouse

WEEK = JourneySettings(lookback_days=7)
#: (campaign, channel, objective, spend on 2025-03-03)
CAMPAIGNS = [
    ("K1", "display", "retention", 100),
    ("K2", "search", "acquisition", 40),
    ("K3", "email", "retention", 10),
    ("K4", "social", "acquisition", 20),
]


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = write_warehouse(tmp_path_factory.mktemp("attributed") / "w.duckdb")
    with Warehouse.open(built) as warehouse:
        for campaign, channel, objective, spend in CAMPAIGNS:
            warehouse.run_sql(
                "INSERT INTO campaigns (campaign_id, name, channel, objective, start_date, "
                "end_date, currency) VALUES (?, ?, ?, ?, ?, ?, 'KRW')",
                [campaign, campaign, channel, objective, date(2025, 3, 1), date(2025, 3, 31)],
            )
            warehouse.run_sql(
                "INSERT INTO marketing_daily (date, channel, campaign_id, impressions, clicks, "
                "spend, currency) VALUES (?, ?, ?, 1000, 10, ?, 'KRW')",
                [date(2025, 3, 3), channel, campaign, spend],
            )
        assert write_attributed_revenue(warehouse, WEEK) == 9
    return built


def test_the_table_sums_the_touched_orders(path: Path) -> None:
    with Warehouse.open(path, read_only=True) as warehouse:
        rows = warehouse.fetch_rows(
            f"SELECT channel, offline, sum(conversions), sum(revenue) FROM {ATTRIBUTED_REVENUE} "
            "GROUP BY ALL ORDER BY ALL"
        )
    # March as in tests/marketing/test_attributed.py, plus O8 (02-27, 25) whose only touch
    # is C4's display two days before.
    assert [(c, o, round(n, 6), round(r, 6)) for c, o, n, r in rows] == [
        ("direct", False, 1.0, 30.0),
        ("direct", True, 1.0, 50.0),
        ("display", False, 1.4, 65.0),
        ("email", False, 0.4, 40.0),
        ("referral", False, 0.5, 20.0),
        ("search", False, 1.2, 80.0),
        ("social", False, 0.5, 20.0),
    ]


def test_roas_reads_attributed_revenue(path: Path) -> None:
    with Warehouse.open(path, read_only=True) as warehouse:
        engine = KpiQuery(load_catalog(), warehouse, rollups=False)
        total = engine.run(["roas", "acquisition_spend"], "month", "2025-03-01", "2025-03-31")
        values = dict(zip(total["kpi"], total["value"], strict=True))
        by_channel = engine.run(
            ["roas"], "month", "2025-03-01", "2025-03-31", by=["marketing_channel"]
        )
    # Paid media March: attributed search 80, display 40, social 20 over spend 40 + 100 + 20.
    assert values["roas"] == pytest.approx(140 / 160)
    # Acquisition campaigns K2 and K4 only.
    assert values["acquisition_spend"] == pytest.approx(60.0)
    channels = dict(zip(by_channel["marketing_channel"], by_channel["value"], strict=True))
    assert channels["search"] == pytest.approx(2.0)
    assert channels["display"] == pytest.approx(0.4)
    assert channels["social"] == pytest.approx(1.0)


def test_rewritten_only_when_an_input_changed(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(path.read_bytes())
    with Warehouse.open(copy) as warehouse:
        warehouse.run_sql("DELETE FROM orders WHERE order_id = 'O9'")
        assert write_attributed_revenue_after(warehouse, {"tickets"}) == 0
        before = warehouse.fetch_value(f"SELECT sum(revenue) FROM {ATTRIBUTED_REVENUE}")
        assert before == pytest.approx(305.0)  # 280 in March + O8 (25)
        # Rewritten with the default 30-day lookback and without O9 (its search touch now
        # leads to no order).
        assert write_attributed_revenue_after(warehouse, {"orders"}) > 0
        after = warehouse.fetch_value(f"SELECT sum(revenue) FROM {ATTRIBUTED_REVENUE}")
        # Every order with a touch in 30 days: O1 100, O2 50, O3 80 (the e-mail 14 days
        # before), O4 30, O5 40, O8 25.
        assert after == pytest.approx(325.0)
        assert ATTRIBUTED_REVENUE in warehouse.changed_tables()


def test_nothing_is_written_without_a_touched_order(tmp_path: Path) -> None:
    with Warehouse.create(tmp_path / "empty.duckdb") as warehouse:
        warehouse.run_sql(
            "INSERT INTO orders (order_id, channel, placed_at, status, status_changed_at, "
            "fulfilment, currency, gross_amount, discount_amount, net_amount, "
            "shipping_amount, tax_amount, total_amount) VALUES ('O1', 'store', "
            "TIMESTAMPTZ '2025-03-01 10:00:00+00', 'completed', "
            "TIMESTAMPTZ '2025-03-01 10:00:00+00', 'in_store', 'KRW', 10, 0, 10, 0, 1, 10)"
        )
        assert write_attributed_revenue(warehouse) == 0
        assert not warehouse.has_table(ATTRIBUTED_REVENUE)
        assert ATTRIBUTED_REVENUE not in warehouse.changed_tables()


@pytest.mark.parametrize("model", ["markov", "shapley", "time_decay"])
def test_the_model_is_a_warehouse_setting(path: Path, tmp_path: Path, model: str) -> None:
    """`warehouse set attribution-model` rewrites the table by that model: each month's
    channels equal the model run on that month's journeys as the attribution page reads
    them (default 30-day lookback), and roas follows."""
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(path.read_bytes())
    settings = load_settings(warehouse=copy)
    assert set_data_setting(settings, "attribution-model", model).attribution_model == model
    months = [(date(2025, 2, 1), date(2025, 2, 28)), (date(2025, 3, 1), date(2025, 3, 31))]
    with Warehouse.open(copy, read_only=True) as warehouse:
        assert warehouse.fetch_rows(f"SELECT DISTINCT model FROM {ATTRIBUTED_REVENUE}") == [
            (model,)
        ]
        got = {
            (first, channel): (conversions, revenue)
            for first, _ in months
            for channel, conversions, revenue in warehouse.fetch_rows(
                f"SELECT channel, sum(conversions), sum(revenue) FROM {ATTRIBUTED_REVENUE} "
                "WHERE date BETWEEN ? AND ? GROUP BY channel",
                [first, first.replace(day=28 if first.month == 2 else 31)],
            )
        }
        engine = KpiQuery(load_catalog(), warehouse, rollups=False)
        march = engine.run(["roas"], "month", "2025-03-01", "2025-03-31", by=["marketing_channel"])
    for first, last in months:
        paths = read_journey_paths(settings, JourneyRequest(first, last), with_days=True)
        for credit in attribute(paths, model).channels:
            conversions, revenue = got.get((first, credit.channel), (0.0, 0.0))
            assert conversions == pytest.approx(credit.conversions, abs=1e-9), credit
            assert revenue == pytest.approx(credit.revenue, abs=1e-9), credit
    spend = {channel: amount for _, channel, _, amount in CAMPAIGNS}
    roas = dict(zip(march["marketing_channel"], march["value"], strict=True))
    for channel in ("search", "display", "social"):
        assert roas[channel] == pytest.approx(got[(date(2025, 3, 1), channel)][1] / spend[channel])


def test_a_bad_model_is_refused(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(ConfigError, match=r'attribution model "ga4" is not valid \(choose from'):
        set_data_setting(load_settings(warehouse=copy), "attribution-model", "ga4")
