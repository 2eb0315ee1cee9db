"""The audit guard: customer-level access is checked and audited in one step, with the rows
returned and, for exports, the purpose; refusals are audited too. And every user, role and
token change an admin makes leaves exactly one entry naming who did it to whom."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnikpi.auth import (
    Action,
    ActionDenied,
    AppStateStore,
    AuditEntry,
    AuditEvent,
    Role,
    UserRole,
    audit_entries,
    record_audit,
    verify_audit_chain,
)
from omnikpi.errors import InvalidChoice, PermissionDenied
from omnikpi.services import users
from omnikpi.services.audit import (
    Actor,
    PurposeRequired,
    audit_csv,
    check_audit_log,
    customer_level,
    list_audit_log,
    parse_audit_filter,
)

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
ANALYST = Actor("lee", UserRole(Role.ANALYST), "10.0.0.5", channel="api")
ADMIN = Actor("root", UserRole(Role.ADMIN), "10.0.0.1")
EXECUTIVE = Actor("kim", UserRole(Role.EXECUTIVE), "10.0.0.9")


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    return AppStateStore.open(tmp_path / "shop.state.sqlite")


def only_entry(store: AppStateStore) -> AuditEntry:
    [entry] = audit_entries(store)
    return entry


def test_a_customer_level_read_is_audited_with_its_row_count(store: AppStateStore) -> None:
    rows = ["C001", "C002", "C003"]
    with customer_level(
        store, ANALYST, Action.VIEW_CUSTOMER_LEVEL, "segment lapsed_vip", now=NOW
    ) as access:
        access.rows(len(rows))
    entry = only_entry(store)
    assert entry.event is AuditEvent.CUSTOMER_READ
    assert (entry.username, entry.actor_role, entry.address) == ("lee", "analyst", "10.0.0.5")
    assert (entry.subject, entry.row_count, entry.purpose) == ("segment lapsed_vip", 3, None)
    assert entry.detail == "api view_customer_level"
    assert entry.occurred_at == NOW


def test_rows_reported_in_batches_add_up(store: AppStateStore) -> None:
    with customer_level(store, ADMIN, Action.VIEW_CUSTOMER_LEVEL, "all customers") as access:
        for batch in (1000, 1000, 17):
            access.rows(batch)
    assert only_entry(store).row_count == 2017


def test_a_body_that_reports_no_count_is_still_audited_and_says_so(store: AppStateStore) -> None:
    with customer_level(store, ADMIN, Action.VIEW_CUSTOMER_LEVEL, "customer C001"):
        pass
    entry = only_entry(store)
    assert entry.row_count is None
    assert "row count was not reported" in entry.detail


def test_an_export_needs_a_purpose_and_keeps_it(store: AppStateStore) -> None:
    for purpose in (None, "", "   "):
        with (
            pytest.raises(PurposeRequired, match="needs a purpose"),
            customer_level(
                store, ANALYST, Action.EXPORT_CUSTOMER_LEVEL, "segment vip", purpose=purpose
            ),
        ):
            pytest.fail("the body of a refused export must not run")
    assert audit_entries(store) == []
    assert PurposeRequired("x").http_status == 400
    with customer_level(
        store,
        ANALYST,
        Action.EXPORT_CUSTOMER_LEVEL,
        "segment vip",
        purpose="  win-back mailing  ",
        detail="vip.csv",
    ) as access:
        access.rows(40)
    entry = only_entry(store)
    assert entry.event is AuditEvent.CUSTOMER_EXPORT
    assert (entry.purpose, entry.row_count) == ("win-back mailing", 40)
    assert entry.detail == "api export_customer_level: vip.csv"


@pytest.mark.parametrize("action", [Action.VIEW_CUSTOMER_LEVEL, Action.EXPORT_CUSTOMER_LEVEL])
def test_a_role_without_the_permission_is_refused_and_the_refusal_audited(
    store: AppStateStore, action: Action
) -> None:
    with (
        pytest.raises(ActionDenied) as denied,
        customer_level(store, EXECUTIVE, action, "customer C001", purpose="curious"),
    ):
        pytest.fail("the body of a refused access must not run")
    assert denied.value.http_status == 403
    entry = only_entry(store)
    assert entry.event is AuditEvent.ACCESS_DENIED
    assert (entry.username, entry.actor_role, entry.subject) == (
        "kim",
        "executive",
        "customer C001",
    )
    assert entry.detail == f"refused page {action.value}"


def test_a_token_without_the_scope_is_refused_although_the_role_may(store: AppStateStore) -> None:
    scoped = Actor(
        "lee", UserRole(Role.ANALYST), channel="api", scopes=frozenset({Action.READ_KPIS})
    )
    with (
        pytest.raises(ActionDenied),
        customer_level(store, scoped, Action.VIEW_CUSTOMER_LEVEL, "customer C001"),
    ):
        pass
    assert only_entry(store).event is AuditEvent.ACCESS_DENIED


def test_a_body_that_fails_is_audited_as_a_failed_attempt(store: AppStateStore) -> None:
    def read() -> None:
        with customer_level(store, ANALYST, Action.VIEW_CUSTOMER_LEVEL, "customer C001") as access:
            access.rows(2)
            raise RuntimeError("warehouse gone")

    with pytest.raises(RuntimeError, match="warehouse gone"):
        read()
    entry = only_entry(store)
    assert entry.event is AuditEvent.CUSTOMER_READ
    assert entry.row_count == 2
    assert entry.detail == "failed api view_customer_level (RuntimeError)"


def test_the_entry_event_may_be_named_by_the_caller(store: AppStateStore) -> None:
    with customer_level(
        store, ADMIN, Action.VIEW_CUSTOMER_LEVEL, "C001", event=AuditEvent.CUSTOMER_FORGOTTEN
    ) as access:
        access.rows(1)
    assert only_entry(store).event is AuditEvent.CUSTOMER_FORGOTTEN


def test_only_customer_level_actions_go_through_the_guard(store: AppStateStore) -> None:
    with (
        pytest.raises(ValueError, match="not a customer-level action"),
        customer_level(store, ADMIN, Action.VIEW_HOME, "home"),
    ):
        pass


# -- every admin change leaves one entry ----------------------------------------------------
CHANGES: dict[str, tuple[Callable[[AppStateStore], object], AuditEvent]] = {
    "add": (
        lambda s: users.add_user(s, ADMIN, "nara", UserRole(Role.ANALYST), password="pw-0123456"),
        AuditEvent.USER_ADDED,
    ),
    "role": (
        lambda s: users.change_role(s, ADMIN, "mina", UserRole(Role.EXECUTIVE)),
        AuditEvent.ROLE_CHANGED,
    ),
    "disable": (lambda s: users.disable(s, ADMIN, "mina"), AuditEvent.USER_DISABLED),
    "enable": (
        lambda s: (users.disable(s, ADMIN, "mina"), users.enable(s, ADMIN, "mina")),
        AuditEvent.USER_ENABLED,
    ),
    "token created": (
        lambda s: users.create_token(s, ADMIN, "mina", "BI", frozenset({Action.READ_KPIS})),
        AuditEvent.TOKEN_CREATED,
    ),
    "token revoked": (
        lambda s: users.revoke_user_token(
            s,
            ADMIN,
            "mina",
            users.create_token(s, ADMIN, "mina", "BI", frozenset({Action.READ_KPIS}))[0].token_id,
        ),
        AuditEvent.TOKEN_REVOKED,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_user_and_token_change_is_audited_once(store: AppStateStore, change: str) -> None:
    users.add_user(store, ADMIN, "mina", UserRole(Role.ANALYST), password="pw-0123456")
    before = len(audit_entries(store, limit=None))
    make, event = CHANGES[change]
    make(store)
    entries = audit_entries(store, limit=None)  # newest first
    new = entries[: len(entries) - before]
    assert [e.event for e in new].count(event) == 1
    [entry] = [e for e in new if e.event is event]
    assert (entry.username, entry.actor_role, entry.address) == ("root", "admin", "10.0.0.1")
    assert entry.subject == ("nara" if change == "add" else "mina")
    assert verify_audit_chain(store).intact


# -- listing, verifying, CSV ------------------------------------------------------------------
def test_only_admins_list_or_verify_the_audit_log(store: AppStateStore) -> None:
    record_audit(store, AuditEvent.SIGN_IN_FAILED, "wrong", username="x")
    for actor in (ANALYST, EXECUTIVE):
        with pytest.raises(PermissionDenied):
            list_audit_log(store, actor)
        with pytest.raises(PermissionDenied):
            check_audit_log(store, actor)
    assert len(list_audit_log(store, ADMIN)) == 1
    assert check_audit_log(store, Actor.cli()).intact


def test_filters_are_parsed_and_bad_ones_named() -> None:
    wanted = parse_audit_filter(" lee ", "2025-06-01", "customer_export", 50)
    assert (wanted.username, wanted.since, wanted.event, wanted.limit) == (
        "lee",
        datetime(2025, 6, 1, tzinfo=UTC),
        AuditEvent.CUSTOMER_EXPORT,
        50,
    )
    assert parse_audit_filter(since="2025-06-01T09:30:00").since == NOW + timedelta(minutes=30)
    assert parse_audit_filter("", "", "") == parse_audit_filter()
    with pytest.raises(InvalidChoice, match='since "01/06/2025" is not valid'):
        parse_audit_filter(since="01/06/2025")
    with pytest.raises(InvalidChoice, match=r'action "export" is not valid .*customer_export'):
        parse_audit_filter(action="export")
    with pytest.raises(InvalidChoice, match="limit"):
        parse_audit_filter(limit=0)


def test_listing_applies_the_filters(store: AppStateStore) -> None:
    for minutes, (actor, action) in enumerate(
        [(ANALYST, Action.VIEW_CUSTOMER_LEVEL), (ADMIN, Action.VIEW_CUSTOMER_LEVEL)]
    ):
        with customer_level(store, actor, action, "C1", now=NOW + timedelta(minutes=minutes)) as a:
            a.rows(1)
    record_audit(store, AuditEvent.SIGN_IN_FAILED, "wrong", username="lee", now=NOW)
    by_lee = list_audit_log(store, ADMIN, parse_audit_filter(user="lee"))
    assert [e.event for e in by_lee] == [AuditEvent.SIGN_IN_FAILED, AuditEvent.CUSTOMER_READ]
    reads = list_audit_log(store, ADMIN, parse_audit_filter(action="customer_read"))
    assert [e.username for e in reads] == ["root", "lee"]
    late = list_audit_log(store, ADMIN, parse_audit_filter(since="2025-06-01T09:01:00+00:00"))
    assert [e.username for e in late] == ["root"]


def test_the_csv_has_every_column_and_neutralises_formulas(store: AppStateStore) -> None:
    with customer_level(
        store,
        Actor("=HYPERLINK(1)", UserRole(Role.ANALYST), "10.0.0.5"),
        Action.EXPORT_CUSTOMER_LEVEL,
        "+segment",
        purpose="@mention",
        now=NOW,
    ) as access:
        access.rows(7)
    [header, row] = list(csv.reader(io.StringIO(audit_csv(audit_entries(store)))))
    values = dict(zip(header, row, strict=True))
    assert values["username"] == "'=HYPERLINK(1)"
    assert (values["subject"], values["purpose"]) == ("'+segment", "'@mention")
    assert (values["row_count"], values["event"]) == ("7", "customer_export")
    assert values["occurred_at"] == "2025-06-01T09:00:00+00:00"
    assert values["entry_hash"] == audit_entries(store)[0].entry_hash
    assert audit_csv([], for_spreadsheets=True).startswith("\ufeff")
