"""The customer-insights services on the tiny retailer (tests/customers/tiny_retailer.py):
top-customer lists and lookalike scores only for analysts and admins (audited, refusals
too), the top-vs-rest profile and co-purchase rules for every role with small cells
withheld for roles without customer-level access."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, app_state_path, audit_entries
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.permissions import ActionDenied
from omnikpi.customers.top import Window
from omnikpi.errors import DataError, InvalidChoice
from omnikpi.services.customer_insights import (
    co_purchase_rules,
    lookalike_list,
    next_best_category,
    parse_window,
    top_customer_list,
    top_customer_profile,
)
from omnikpi.settings import Settings
from tests.customers.tiny_retailer import build_tiny_retailer

LEAD = Actor("lena", UserRole(Role.TEAM_LEAD), "10.0.0.3")
ANALYST = Actor("lee", UserRole(Role.ANALYST), "10.0.0.5", channel="api")
#: The tiny retailer's first half of 2025: eight buyers (A, B, C, D, E, I, J, K).
HALF = "2025-01-01..2025-06-30"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_retailer(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture
def settings(template: Path, tmp_path: Path) -> Settings:
    path = Path(shutil.copy(template, tmp_path / "tiny.duckdb"))
    return Settings(warehouse=path, min_cell_customers=2)


@pytest.fixture
def store(settings: Settings) -> AppStateStore:
    return AppStateStore.open(app_state_path(settings.warehouse))


def test_windows_are_relative_to_the_data_s_last_day_or_explicit() -> None:
    last = date(2025, 12, 31)
    assert parse_window(None, last) == Window(date(2025, 1, 1), last)
    assert parse_window("2y", last) == Window(date(2024, 1, 1), last)
    assert parse_window("90d", last) == Window(date(2025, 10, 3), last)
    assert parse_window("2025-03-01..2025-03-31", last).days == 31
    for bad in ("3w", "0m", "2025-03-01", "2025-04-01..2025-03-01", "2025-01-01..2026-01-31"):
        with pytest.raises(InvalidChoice, match="window"):
            parse_window(bad, last)


def test_a_team_lead_is_refused_the_top_customer_list_and_it_is_audited(
    settings: Settings, store: AppStateStore
) -> None:
    with pytest.raises(ActionDenied):
        top_customer_list(settings, store, LEAD, window=HALF)
    with pytest.raises(ActionDenied):
        lookalike_list(settings, store, LEAD, window=HALF)
    refused = audit_entries(store, event=AuditEvent.ACCESS_DENIED)
    assert [e.username for e in refused] == ["lena", "lena"]
    assert all(
        "top customers" in (e.subject or "") or "lookalikes" in (e.subject or "") for e in refused
    )


def test_an_analyst_lists_the_top_customers_audited_with_the_row_count(
    settings: Settings, store: AppStateStore
) -> None:
    answer = top_customer_list(settings, store, ANALYST, window=HALF)
    # ceil(0.2 x 8) = 2: B (138,000) and A (26,000, tied with E, first by id).
    assert [(r["rank"], r["customer_id"], r["gross_profit"]) for r in answer.rows] == [
        (1, "B", 138_000.0),
        (2, "A", 26_000.0),
    ]
    assert answer.summary["buyers"] == 8
    assert answer.summary["gross_profit_threshold"] == 26_000.0
    (read,) = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert (read.username, read.row_count) == ("lee", 2)


def test_lookalikes_need_enough_history_and_say_so(
    settings: Settings, store: AppStateStore
) -> None:
    # Eleven customers cannot train and check a classifier.
    with pytest.raises(DataError, match="too few customers"):
        lookalike_list(settings, store, ANALYST, window=HALF)
    (read,) = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert "failed" in (read.detail or "")


def test_the_profile_withholds_small_cells_from_a_team_lead(settings: Settings) -> None:
    lead = top_customer_profile(settings, LEAD, window=HALF)
    analyst = top_customer_profile(settings, ANALYST, window=HALF)
    cells = {(r["facet"], r["value"]): r for r in lead.rows}
    # The top two: A a silver member, B not; the six others none: one top customer each
    # side is a cell of 1 < 2 and withheld with its share and the difference.
    silver = cells["membership", "member: silver"]
    assert (silver["top_customers"], silver["top_share"], silver["difference"]) == (None,) * 3
    assert silver["suppressed"] == "small_cell"
    non_member = cells["membership", "non-member"]
    assert non_member["top_customers"] is None
    assert (non_member["rest_customers"], non_member["rest_share"]) == (6, 1.0)
    # All eight live in Seoul: shown.
    assert cells["region", "Seoul"]["top_customers"] == 2
    assert lead.minimum == 2
    assert lead.withheld > 0
    # An analyst sees every cell.
    full = {(r["facet"], r["value"]): r for r in analyst.rows}
    assert full["membership", "member: silver"]["top_share"] == 0.5
    assert analyst.minimum is None
    assert analyst.withheld == 0
    assert "suppressed" not in analyst.columns
    # The threshold (one customer's gross profit) is shown: the top group has 2 customers.
    assert lead.summary["top_gross_profit_share"] == pytest.approx(164_000 / 235_000)


def test_co_purchase_rules_by_hand_and_withheld_for_a_lead(settings: Settings) -> None:
    analyst = co_purchase_rules(settings, ANALYST, basis="customer", window=HALF, min_support=0)
    # Eight customers; all bought skincare, A alone makeup too: support 1/8, lift =
    # (1/8) / (1/8 x 8/8) = 1; confidence makeup -> skincare 1, skincare -> makeup 1/8.
    rules = {(r["antecedent"], r["consequent"]): r for r in analyst.rows}
    assert set(rules) == {("makeup", "skincare"), ("skincare", "makeup")}
    assert rules["makeup", "skincare"]["lift"] == pytest.approx(1.0)
    assert rules["skincare", "makeup"]["confidence"] == pytest.approx(1 / 8)
    assert analyst.summary["baskets"] == 8
    lead = co_purchase_rules(settings, LEAD, basis="customer", window=HALF, min_support=0)
    # One customer behind the pair: withheld.
    assert all(r["lift"] is None and r["suppressed"] == "small_cell" for r in lead.rows)
    # Per product (A bought P1 and P2), with the products' names beside their ids.
    products = co_purchase_rules(
        settings, ANALYST, level="product", basis="customer", window=HALF, min_support=0
    )
    assert [(r["antecedent"], r["antecedent_name"]) for r in products.rows] == [
        ("P1", "P1"),
        ("P2", "P2"),
    ]
    with pytest.raises(InvalidChoice, match="level"):
        co_purchase_rules(settings, ANALYST, level="brand")


def test_no_next_best_category_without_a_rule_above_independence(settings: Settings) -> None:
    # The only rule (makeup <-> skincare) has lift 1: nothing is recommended.
    answer = next_best_category(settings, ANALYST, window=HALF, min_support=0)
    assert answer.rows == []
    with pytest.raises(InvalidChoice, match="rank-by"):
        next_best_category(settings, ANALYST, rank_by="support")
