"""Forgetting a customer: every table, one transaction, totals intact, audited, once.

The warehouse is the golden retailer with its customer C1 in every table that can refer
to a customer (tests/services/forget_data.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from omnikpi.auth import AppStateStore, Role, UserRole, audit_entries
from omnikpi.auth.audit import Actor, AuditEvent
from omnikpi.auth.permissions import ActionDenied
from omnikpi.kpi import query
from omnikpi.services.forget import CustomerNotFound, forget_customer
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.erasure import customer_columns, visitor_columns
from tests.kpi.golden_data import kst
from tests.services.forget_data import (
    CUSTOMER_ID,
    EMAIL_HASH,
    OTHER_CUSTOMER,
    PHONE_HASH,
    RAW_EMAIL,
    RAW_PHONE,
    VISITORS,
    build_forget_warehouse,
    find_text,
)

ADMIN = Actor("ada", UserRole(Role.ADMIN), "10.0.0.5")
NOW = kst("2025-04-01 09:00")
#: Totals and distinct counts the dashboards show, month by month.
KPIS = [
    "revenue",
    "orders",
    "aov",
    "visits",
    "unique_visitors",
    "conversion_rate",
    "returning_customer_share",
    "complaint_ratio",
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse without KPI rollups (a forget then refreshes none)."""
    return build_forget_warehouse(
        tmp_path_factory.mktemp("forget") / "forget.duckdb", rollups=False
    )


@pytest.fixture
def warehouse_path(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(template, tmp_path / "forget.duckdb"))


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    return AppStateStore.open(tmp_path / "state.sqlite")


def kpi_values(path: Path) -> pd.DataFrame:
    frame = query(KPIS, "month", "2024-02-01", "2025-03-31", warehouse=path)
    return frame[["kpi", "period_start", "value"]].sort_values(["kpi", "period_start"])


def rows_of(path: Path, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    with Warehouse.open(path, read_only=True) as warehouse:
        return warehouse.fetch_rows(sql, params)


def test_forget_keeps_every_kpi_and_leaves_no_trace(
    warehouse_path: Path, store: AppStateStore
) -> None:
    before = kpi_values(warehouse_path)
    counted = rows_of(warehouse_path, "SELECT count(*) FROM orders")
    settings = load_settings(warehouse=warehouse_path)

    result = forget_customer(
        settings, store, ADMIN, CUSTOMER_ID, reason="erasure request #88", now=NOW
    )

    # The KPI engine computes the same totals and distinct counts.
    after = kpi_values(warehouse_path)
    pd.testing.assert_frame_equal(after.reset_index(drop=True), before.reset_index(drop=True))
    assert rows_of(warehouse_path, "SELECT count(*) FROM orders") == counted
    # Nothing of the customer is left in any text column of any table.
    with Warehouse.open(warehouse_path, read_only=True) as warehouse:
        assert (
            find_text(warehouse, (CUSTOMER_ID, EMAIL_HASH, PHONE_HASH, RAW_EMAIL, RAW_PHONE)) == []
        )
        assert find_text(warehouse, VISITORS, whole=True) == []
    # The orders kept now refer to the tombstone, and its row keeps no personal detail.
    assert rows_of(
        warehouse_path,
        "SELECT order_id FROM orders WHERE customer_id = $t ORDER BY 1",
        {"t": result.tombstone},
    ) == [("O1",), ("O11",), ("O4",), ("O6",)]
    assert rows_of(
        warehouse_path,
        "SELECT city, email_hash, phone_hash, gender, region FROM customers WHERE customer_id = $t",
        {"t": result.tombstone},
    ) == [(None, None, None, "unknown", "Seoul")]
    # Every table that referred to the customer was changed; the counts say by how much.
    assert result.rows == {
        "customers": 1,
        "sessions": 3,
        "orders": 4,
        "events": result.rows["events"],
        "experiment_assignments": 2,
        "touchpoints": 1,
        "messages": 1,
        "tickets": 1,
        "surveys": 1,
        "reviews": 1,
        "loyalty_ledger": 1,
        "invoices": 1,
        "quarantine": 3,
    }
    assert (
        result.rows["events"]
        == rows_of(
            warehouse_path,
            "SELECT count(*) FROM events WHERE customer_id = $t",
            {"t": result.tombstone},
        )[0][0]
    )


@pytest.mark.slow
def test_the_kpi_rollups_are_refreshed_with_the_same_values(
    tmp_path: Path, store: AppStateStore
) -> None:
    warehouse_path = build_forget_warehouse(tmp_path / "rollups.duckdb", rollups=True)
    before = kpi_values(warehouse_path)
    forget_customer(load_settings(warehouse=warehouse_path), store, ADMIN, CUSTOMER_ID, now=NOW)
    with Warehouse.open(warehouse_path, read_only=True) as warehouse:
        assert warehouse.changed_tables() == {}  # refreshed: the dashboards read rollups
    after = kpi_values(warehouse_path)
    pd.testing.assert_frame_equal(after.reset_index(drop=True), before.reset_index(drop=True))


def test_each_visitor_of_the_customer_gets_its_own_tombstone(
    warehouse_path: Path, store: AppStateStore
) -> None:
    visitors = "SELECT count(DISTINCT visitor_id) FROM sessions"
    before = rows_of(warehouse_path, visitors)
    forget_customer(load_settings(warehouse=warehouse_path), store, ADMIN, CUSTOMER_ID, now=NOW)
    assert rows_of(warehouse_path, visitors) == before
    tombstones = rows_of(
        warehouse_path,
        "SELECT DISTINCT visitor_id FROM sessions WHERE visitor_id LIKE 'forgotten-visitor-%'",
    )
    assert len(tombstones) == len(VISITORS)
    # The visitor's experiment assignment follows it; another visitor's is untouched.
    assigned = rows_of(
        warehouse_path,
        "SELECT unit_id FROM experiment_assignments WHERE experiment_id = 'X2' ORDER BY unit_id",
    )
    assert len(assigned) == 2
    assert ("V9",) in assigned
    assert {a for a in assigned if a != ("V9",)} <= set(tombstones)


def test_other_customers_keep_their_rows(warehouse_path: Path, store: AppStateStore) -> None:
    mine = "SELECT count(*) FROM orders WHERE customer_id = $c"
    before = rows_of(warehouse_path, mine, {"c": OTHER_CUSTOMER})
    forget_customer(load_settings(warehouse=warehouse_path), store, ADMIN, CUSTOMER_ID, now=NOW)
    assert rows_of(warehouse_path, mine, {"c": OTHER_CUSTOMER}) == before
    assert rows_of(warehouse_path, "SELECT value FROM quarantine ORDER BY row_number") == [
        (OTHER_CUSTOMER,)
    ]


def test_the_forget_is_audited_under_the_tombstone(
    warehouse_path: Path, store: AppStateStore
) -> None:
    result = forget_customer(
        load_settings(warehouse=warehouse_path),
        store,
        ADMIN,
        CUSTOMER_ID,
        reason="erasure request #88",
        now=NOW,
    )
    [entry] = audit_entries(store, event=AuditEvent.CUSTOMER_FORGOTTEN)
    assert (entry.username, entry.actor_role, entry.address) == ("ada", "admin", "10.0.0.5")
    assert entry.subject == result.tombstone
    assert entry.row_count == result.total
    assert entry.purpose == "erasure request #88"
    # The audit log itself keeps no trace of the id either.
    assert CUSTOMER_ID not in repr(audit_entries(store, limit=None))


def test_a_second_forget_changes_nothing(warehouse_path: Path, store: AppStateStore) -> None:
    settings = load_settings(warehouse=warehouse_path)
    first = forget_customer(settings, store, ADMIN, CUSTOMER_ID, now=NOW)
    snapshot = rows_of(
        warehouse_path, "SELECT order_id, customer_id, net_amount FROM orders ORDER BY order_id"
    )

    again = forget_customer(settings, store, ADMIN, CUSTOMER_ID, now=NOW)

    assert again.already_forgotten
    assert (again.tombstone, again.rows) == (first.tombstone, {})
    assert (
        rows_of(
            warehouse_path, "SELECT order_id, customer_id, net_amount FROM orders ORDER BY order_id"
        )
        == snapshot
    )
    assert len(audit_entries(store, event=AuditEvent.CUSTOMER_FORGOTTEN)) == 1


def test_an_unknown_id_is_a_clear_error(warehouse_path: Path, store: AppStateStore) -> None:
    with pytest.raises(CustomerNotFound, match='customer "nobody-42" is not in the warehouse'):
        forget_customer(load_settings(warehouse=warehouse_path), store, ADMIN, "nobody-42")
    assert audit_entries(store, event=AuditEvent.CUSTOMER_FORGOTTEN) == []


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_admins_forget(warehouse_path: Path, store: AppStateStore, role: Role) -> None:
    user_role = UserRole(role, "cs_agent") if role is Role.MEMBER else UserRole(role)
    with pytest.raises(ActionDenied):
        forget_customer(
            load_settings(warehouse=warehouse_path),
            store,
            Actor("someone", user_role),
            CUSTOMER_ID,
        )
    assert rows_of(
        warehouse_path, "SELECT count(*) FROM orders WHERE customer_id = $c", {"c": CUSTOMER_ID}
    ) == [(4,)]
    assert [e.event for e in audit_entries(store)] == [AuditEvent.ACCESS_DENIED]


def test_every_column_that_refers_to_a_customer_is_rewritten() -> None:
    """The columns come from the model: a new table referring to customers is covered."""
    assert customer_columns() == {
        "customers": ("customer_id",),
        "sessions": ("customer_id",),
        "orders": ("customer_id",),
        "invoices": ("customer_id",),
        "events": ("customer_id",),
        "experiment_assignments": ("unit_id",),
        "touchpoints": ("customer_id",),
        "messages": ("customer_id",),
        "tickets": ("customer_id",),
        "surveys": ("customer_id",),
        "reviews": ("customer_id",),
        "loyalty_ledger": ("customer_id",),
    }
    assert visitor_columns() == {
        "sessions": ("visitor_id",),
        "events": ("visitor_id",),
        "experiment_assignments": ("unit_id",),
        "touchpoints": ("visitor_id",),
    }
