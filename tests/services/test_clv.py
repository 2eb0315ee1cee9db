"""CLV through the service layer on the CDNOW sample loaded with its preset: the reference
fit from the warehouse, customer_scores written and read by the catalog's KPIs, audited and
for analysts and admins only, and a later load re-scoring with the stored fits."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, app_state_path, audit_entries
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.permissions import ActionDenied
from omnikpi.customers.clv import (
    BgNbdParameters,
    GammaGammaParameters,
    holdout_report,
    probability_alive,
    score_customers,
    summarize_purchases,
)
from omnikpi.customers.clv.bgnbd import expected_purchases
from omnikpi.errors import ConfigError, InvalidChoice
from omnikpi.kpi import query
from omnikpi.services.clv import ScoreSettings, fit_clv, parse_horizon, predict_clv
from omnikpi.services.clv_holdout import check_clv_holdout
from omnikpi.services.forget import forget_customer
from omnikpi.services.ingest import ingest_preset
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.customers.cdnow import SAMPLE, cdnow_summary, read_purchases
from tests.ingest.conftest import options

ANALYST = Actor("ana", UserRole(Role.ANALYST), "10.0.0.7")
LEAD = Actor("lee", UserRole(Role.TEAM_LEAD), "10.0.0.8")
ADMIN = Actor("ada", UserRole(Role.ADMIN), "10.0.0.5")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clv") / "cdnow.duckdb"
    ingest_preset(Settings(warehouse=path), "cdnow", [SAMPLE], options())
    return path


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "cdnow.duckdb"
    shutil.copy(template, path)
    return Settings(warehouse=path)


@pytest.fixture
def store(settings: Settings) -> AppStateStore:
    return AppStateStore.open(app_state_path(settings.warehouse))


def test_reference_fit_from_the_warehouse(settings: Settings, store: AppStateStore) -> None:
    result = fit_clv(
        settings, store, ANALYST, model="bgnbd", calibration_end=date(1997, 9, 30), now=NOW
    )
    assert {k: round(v, 3) for k, v in result.parameters.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert round(result.log_likelihood, 1) == -9582.4
    document = result.as_json()
    assert list(document)[:5] == ["r", "alpha", "a", "b", "log_likelihood"]
    # one audit entry: the analyst read 2,357 customers' purchases
    [entry] = audit_entries(store)
    assert (entry.event, entry.username, entry.subject, entry.row_count) == (
        AuditEvent.CUSTOMER_READ,
        "ana",
        "clv fit bgnbd",
        2357,
    )


def test_pareto_and_gamma_gamma_from_the_warehouse(
    settings: Settings, store: AppStateStore
) -> None:
    end = date(1997, 9, 30)
    pareto = fit_clv(settings, store, ANALYST, model="pareto", calibration_end=end)
    assert {k: round(v, 2) for k, v in pareto.parameters.items()} == {
        "r": 0.55,
        "alpha": 10.58,
        "s": 0.61,
        "beta": 11.67,
    }
    spend = fit_clv(settings, store, ANALYST, model="gamma-gamma", calibration_end=end)
    assert {k: round(v, 2) for k, v in spend.parameters.items()} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.44,
    }
    assert spend.customers == 946


def test_other_roles_are_refused_and_audited(settings: Settings, store: AppStateStore) -> None:
    with pytest.raises(ActionDenied):
        fit_clv(settings, store, LEAD, model="bgnbd")
    with pytest.raises(ActionDenied):
        predict_clv(settings, store, LEAD, ScoreSettings(margin_rate=0.3))
    assert [e.event for e in audit_entries(store)] == [AuditEvent.ACCESS_DENIED] * 2
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        assert not warehouse.has_table("customer_scores")


def test_predict_writes_scores_the_kpis_read(settings: Settings, store: AppStateStore) -> None:
    before = query("clv", "month", "1998-06-01", "1998-06-30", warehouse=settings.warehouse)
    assert pd.isna(before.value[0])  # no data until the models have run
    result = predict_clv(settings, store, ANALYST, ScoreSettings(margin_rate=0.3), now=NOW)
    assert (result.customers, result.as_of, result.refresh_error) == (2357, date(1998, 6, 30), None)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        scores = warehouse.fetch_frame("SELECT * FROM customer_scores ORDER BY customer_id")
        models = warehouse.fetch_frame("SELECT * FROM clv_models ORDER BY model")
    assert len(scores) == 2357
    assert scores.customer_id.is_unique
    assert list(models.model) == ["bgnbd", "gamma-gamma"]
    assert json.loads(models.settings[0])["margin_rate"] == 0.3
    # the scores are the models' at the stored parameters, on the file's own summary
    full = summarize_purchases(read_purchases(SAMPLE), date(1998, 6, 30), time_unit="week")
    expected = score_customers(
        BgNbdParameters(**json.loads(models.parameters[0])),
        GammaGammaParameters(**json.loads(models.parameters[1])),
        full,
        horizon=1096 / 7,
        time_unit="week",
        margin_rate=0.3,
    )
    assert scores.clv_3y.to_numpy() == pytest.approx(expected.clv.to_numpy(), rel=1e-9)
    assert scores.p_alive.to_numpy() == pytest.approx(expected.p_alive.to_numpy(), rel=1e-9)
    assert scores.frequency.tolist() == full.frequency.astype(int).tolist()
    # the catalog's KPIs now have values: the mean 3-year CLV in the month scored
    clv = query("clv", "month", "1998-06-01", "1998-06-30", warehouse=settings.warehouse)
    assert clv.value[0] == pytest.approx(scores.clv_3y.mean())
    new = query(
        "new_customer_clv", "quarter", "1997-01-01", "1997-03-31", warehouse=settings.warehouse
    )
    assert new.value[0] == pytest.approx(scores.clv_3y.mean())  # the whole cohort joined in Q1 1997
    # CAC against their CLV: acquisition spend only (the retention campaign is left out)
    with Warehouse.open(settings.warehouse) as warehouse:
        for campaign, objective, spend in (("A", "acquisition", 90_000), ("R", "retention", 500)):
            warehouse.run_sql(
                "INSERT INTO campaigns (campaign_id, name, channel, objective, start_date, "
                "end_date, currency) VALUES (?, ?, 'search', ?, ?, ?, 'USD')",
                [campaign, campaign, objective, date(1997, 1, 1), date(1997, 3, 31)],
            )
            warehouse.run_sql(
                "INSERT INTO marketing_daily (date, channel, campaign_id, impressions, clicks, "
                "spend, currency) VALUES (?, 'search', ?, 1000, 10, ?, 'USD')",
                [date(1997, 2, 3), campaign, spend],
            )
        new_customers = warehouse.fetch_value(
            "SELECT count(*) FROM (SELECT customer_id FROM orders GROUP BY customer_id "
            "HAVING min(placed_at) < TIMESTAMPTZ '1997-04-01 00:00:00+00')"
        )
    ratio = query(
        "cac_per_clv", "quarter", "1997-01-01", "1997-03-31", warehouse=settings.warehouse
    )
    assert ratio.value[0] == pytest.approx(90_000 / new_customers / scores.clv_3y.mean())
    [entry] = audit_entries(store)
    assert (entry.subject, entry.row_count) == ("clv predict bgnbd+gamma-gamma", 2357)


def test_soon_to_be_lost_uses_p_alive_once_fitted(settings: Settings, store: AppStateStore) -> None:
    """Before a fit the KPI counts customers overdue against their own cycle; after predict,
    customers who bought within 365 days and whose scored P(alive) is below 0.5 — on the
    scoring day, the same customers `customer_scores` says so of."""
    day = "1998-06-30"
    heuristic = query("soon_to_be_lost_customers", "day", day, day, warehouse=settings.warehouse)
    assert not pd.isna(heuristic.value[0])  # the overdue rule answers before any fit
    predict_clv(settings, store, ANALYST, ScoreSettings(margin_rate=0.3), now=NOW)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        expected = warehouse.fetch_value(
            "SELECT count(*) FROM customer_scores "
            "WHERE p_alive < 0.5 AND age_days - recency_days <= 364"
        )
        overdue = warehouse.fetch_value(
            "SELECT count(*) FROM customer_scores WHERE age_days - recency_days <= 364"
        )
    model = query("soon_to_be_lost_customers", "day", day, day, warehouse=settings.warehouse)
    assert model.value[0] == expected
    assert 0 < expected < overdue  # some of the year's buyers, not all of them
    assert heuristic.value[0] != expected
    # an earlier day: P(alive) from the purchases through that day at the stored parameters
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        stored = warehouse.fetch_value("SELECT parameters FROM clv_models WHERE model = 'bgnbd'")
    earlier = date(1998, 1, 31)
    summary = summarize_purchases(read_purchases(SAMPLE), earlier, time_unit="week")
    alive = probability_alive(BgNbdParameters(**json.loads(str(stored))), summary)
    recent = (summary.age - summary.recency) * 7 <= 364
    value = query(
        "soon_to_be_lost_customers", "day", earlier, earlier, warehouse=settings.warehouse
    ).value[0]
    assert value == int(((alive < 0.5) & recent).sum())


def test_a_later_load_rescores_with_the_stored_fits(
    settings: Settings, store: AppStateStore, tmp_path: Path
) -> None:
    predict_clv(settings, store, ANALYST, ScoreSettings(margin_rate=0.3), now=NOW)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        before = warehouse.fetch_frame("SELECT * FROM customer_scores WHERE customer_id = '00004'")
        models = warehouse.fetch_frame("SELECT * FROM clv_models ORDER BY model")
    later = tmp_path / "CDNOW_sample_july.txt"
    later.write_text(" 00004 0001 19980715  1   15.00\n")
    assert ingest_preset(settings, "cdnow", [later], options()).refresh_error is None
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        after = warehouse.fetch_frame("SELECT * FROM customer_scores WHERE customer_id = '00004'")
        refitted = warehouse.fetch_frame("SELECT * FROM clv_models ORDER BY model")
        count = warehouse.fetch_value("SELECT count(*) FROM customer_scores")
    assert count == 2357
    assert (after.as_of[0].date(), after.frequency[0]) == (
        date(1998, 7, 15),
        before.frequency[0] + 1,
    )
    assert after.p_alive[0] > before.p_alive[0]  # a purchase just now: surely alive
    assert refitted.parameters.tolist() == models.parameters.tolist()  # not refitted
    clv = query("clv", "month", "1998-07-01", "1998-07-31", warehouse=settings.warehouse)
    assert not pd.isna(clv.value[0])


def test_margin_rate_is_needed_without_unit_costs(settings: Settings, store: AppStateStore) -> None:
    with pytest.raises(ConfigError, match=r"no unit costs.*--margin-rate"):
        predict_clv(settings, store, ANALYST)


def test_settings_are_checked() -> None:
    assert (parse_horizon("3y"), parse_horizon("36m"), parse_horizon("52w")) == (1096, 1096, 364)
    with pytest.raises(InvalidChoice, match='horizon "3 years"'):
        parse_horizon("3 years")
    with pytest.raises(InvalidChoice, match='model "gamma-gamma"'):
        ScoreSettings(model="gamma-gamma")
    with pytest.raises(ConfigError, match="margin rate 35"):
        ScoreSettings(margin_rate=35)


def test_holdout_check_from_the_warehouse(settings: Settings, store: AppStateStore) -> None:
    """Weeks 40-78 of the CDNOW sample: the same report as from the file itself."""
    result = check_clv_holdout(
        settings, store, ANALYST, model="bgnbd", calibration_end=date(1997, 9, 30)
    )
    assert result.holdout_end == date(1998, 6, 30)
    summary = cdnow_summary(SAMPLE)
    fitted = BgNbdParameters(**result.parameters)
    from_file = holdout_report(
        summary,
        expected_purchases(fitted, 39.0, summary.frequency, summary.recency, summary.age),
    )
    assert result.report.buckets.frequency.tolist() == from_file.buckets.frequency.tolist()
    assert result.report.buckets.customers.tolist() == from_file.buckets.customers.tolist()
    assert result.report.buckets.actual.tolist() == pytest.approx(from_file.buckets.actual.tolist())
    assert result.report.predicted_total == pytest.approx(from_file.predicted_total)
    assert result.report.actual_total == summary.holdout_frequency.sum()
    assert result.as_json()["buckets"][0]["frequency"] == "0"  # type: ignore[index]
    with pytest.raises(ConfigError, match="no holdout period"):
        check_clv_holdout(
            settings, store, ANALYST, model="bgnbd", calibration_end=date(1998, 6, 30)
        )


def test_a_forgotten_customer_leaves_the_scores(settings: Settings, store: AppStateStore) -> None:
    """Forgetting rewrites the orders; the re-scoring after it keeps no trace of the id."""
    predict_clv(settings, store, ANALYST, ScoreSettings(margin_rate=0.3), now=NOW)
    result = forget_customer(settings, store, ADMIN, "00004", reason="erasure request #1")
    assert result.refresh_error is None
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        ids = {row[0] for row in warehouse.fetch_rows("SELECT customer_id FROM customer_scores")}
    assert "00004" not in ids
    assert result.tombstone in ids
    assert len(ids) == 2357


def test_predict_with_pareto_nbd(settings: Settings, store: AppStateStore) -> None:
    result = predict_clv(
        settings, store, ANALYST, ScoreSettings(model="pareto", margin_rate=0.3, horizon_days=365)
    )
    assert result.purchase_fit.model == "pareto"
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        models = [row[0] for row in warehouse.fetch_rows("SELECT model FROM clv_models")]
        scores = warehouse.fetch_frame("SELECT * FROM customer_scores")
    assert sorted(models) == ["gamma-gamma", "pareto"]
    assert set(scores.model) == {"pareto+gamma-gamma"}
    # a 365-day horizon: about the 1-year (365.25 days) purchases, less than 3 years' value
    assert scores.expected_purchases.tolist() == pytest.approx(
        scores.expected_purchases_1y.tolist(), rel=1e-3
    )
    assert (scores.expected_purchases <= scores.expected_purchases_1y).all()
    assert (scores.clv <= scores.clv_3y).all()
    assert ((scores.p_alive > 0) & (scores.p_alive <= 1)).all()
