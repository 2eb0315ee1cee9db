"""The audit log is append-only and tamper-evident: each entry's hash covers its values and
the hash of the one before, so an entry edited or deleted in the SQLite file afterwards is
named by `verify_audit_chain`. Also: token and sign-in events land in it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnikpi.auth import (
    Actor,
    AppStateStore,
    AuditEvent,
    ChainBreak,
    LoginLimits,
    LoginThrottle,
    Role,
    UserRole,
    audit_entries,
    create_user,
    record_audit,
    sign_in,
    verify_audit_chain,
)
from omnikpi.auth.audit import GENESIS_HASH, HEAD_SETTING
from omnikpi.auth.store import _MIGRATIONS, to_text

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
ANALYST = Actor("lee", UserRole(Role.ANALYST), "10.0.0.5", channel="page")


def fill(store: AppStateStore, count: int = 5) -> None:
    """`count` entries of several kinds, a minute apart."""
    for number in range(count):
        record_audit(
            store,
            AuditEvent.CUSTOMER_READ,
            f"page view_customer_level: profile {number}",
            actor=ANALYST,
            subject=f"customer C{number:03d}",
            row_count=number + 1,
            now=NOW + timedelta(minutes=number),
        )


def raw(store: AppStateStore, sql: str, *params: object) -> None:
    """Change the SQLite file directly, as someone with file access could."""
    with sqlite3.connect(store.path) as connection:
        connection.execute(sql, params)


def test_an_entry_keeps_who_what_how_many_and_why(store: AppStateStore) -> None:
    entry = record_audit(
        store,
        AuditEvent.CUSTOMER_EXPORT,
        "page export_customer_level",
        actor=ANALYST,
        subject="segment lapsed_vip",
        row_count=412,
        purpose="win-back mailing",
        now=NOW,
    )
    [stored] = audit_entries(store)
    assert stored == entry
    assert (stored.username, stored.actor_role, stored.address) == ("lee", "analyst", "10.0.0.5")
    assert (stored.subject, stored.row_count, stored.purpose) == (
        "segment lapsed_vip",
        412,
        "win-back mailing",
    )
    assert stored.occurred_at == NOW
    assert stored.previous_hash == GENESIS_HASH


def test_the_hash_is_sha256_of_the_entry_in_column_order(store: AppStateStore) -> None:
    """Anyone can recompute a hash from the stored row with the documented recipe."""
    first = record_audit(store, AuditEvent.SIGN_IN_FAILED, "wrong", username="x", now=NOW)
    second = record_audit(store, AuditEvent.SIGN_IN_FAILED, "wrong", username="y", now=NOW)
    values = [2, to_text(NOW), "sign_in_failed", "y", None, None, None, None, None, "wrong"]
    canonical = json.dumps([*values, first.entry_hash], ensure_ascii=False, separators=(",", ":"))
    assert second.entry_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert second.previous_hash == first.entry_hash


def test_an_intact_chain_verifies(store: AppStateStore) -> None:
    fill(store)
    report = verify_audit_chain(store)
    assert report.intact
    assert (report.checked, report.unhashed_before, report.first_hashed) == (5, 0, 1)
    assert report.describe() == "audit log intact: 5 entries checked"


def test_an_empty_log_is_intact(store: AppStateStore) -> None:
    assert verify_audit_chain(store).intact


@pytest.mark.parametrize(
    ("column", "value"),
    [("row_count", 1), ("purpose", "curiosity"), ("username", "someone_else"), ("detail", "")],
)
def test_an_edited_entry_is_named(store: AppStateStore, column: str, value: object) -> None:
    fill(store)
    raw(store, f"UPDATE audit_log SET {column} = ? WHERE entry_id = 3", value)
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (3, ChainBreak.EDITED)
    assert report.checked == 2
    assert "entry 3 was changed after it was written" in report.describe()


def test_an_entry_edited_with_a_recomputed_hash_is_named_by_the_next_link(
    store: AppStateStore,
) -> None:
    """Rewriting entry 2 and its hash still breaks entry 3's link to it."""
    fill(store)
    with sqlite3.connect(store.path) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM audit_log WHERE entry_id = 2").fetchone()
        values = [row[c] for c in ("entry_id", "occurred_at", "event", "username", "address")]
        values += [row["actor_role"], row["subject"], 0, row["purpose"], row["detail"]]
        canonical = json.dumps([*values, row["previous_hash"]], separators=(",", ":"))
        forged = hashlib.sha256(canonical.encode()).hexdigest()
        connection.execute(
            "UPDATE audit_log SET row_count = 0, entry_hash = ? WHERE entry_id = 2", (forged,)
        )
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (2, ChainBreak.EDITED)


def test_a_deleted_entry_is_named(store: AppStateStore) -> None:
    fill(store)
    raw(store, "DELETE FROM audit_log WHERE entry_id = 3")
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (3, ChainBreak.DELETED)
    assert "entry 3 was removed" in report.describe()


def test_deleting_the_first_entry_is_evident(store: AppStateStore) -> None:
    fill(store)
    raw(store, "DELETE FROM audit_log WHERE entry_id = 1")
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (1, ChainBreak.DELETED)


def test_deleting_the_newest_entries_is_evident_by_the_head(store: AppStateStore) -> None:
    fill(store)
    raw(store, "DELETE FROM audit_log WHERE entry_id >= 4")
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (4, ChainBreak.DELETED)


def test_entries_after_a_deleted_newest_one_still_show_the_gap(store: AppStateStore) -> None:
    """Writing goes on after a removal: the new entry links to the removed one's hash."""
    fill(store)
    raw(store, "DELETE FROM audit_log WHERE entry_id = 5")
    fill(store, 1)
    assert [e.entry_id for e in audit_entries(store, limit=2)] == [6, 4]
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (5, ChainBreak.DELETED)


def test_renumbering_after_a_deletion_is_caught_by_the_link(store: AppStateStore) -> None:
    fill(store)
    raw(store, "DELETE FROM audit_log WHERE entry_id = 3")
    raw(store, "UPDATE audit_log SET entry_id = entry_id - 1 WHERE entry_id > 3")
    report = verify_audit_chain(store)
    assert not report.intact
    assert report.broken_entry == 3


def test_a_removed_hash_is_named(store: AppStateStore) -> None:
    fill(store)
    raw(store, "UPDATE audit_log SET entry_hash = NULL WHERE entry_id = 4")
    report = verify_audit_chain(store)
    assert (report.broken_entry, report.broken_how) == (4, ChainBreak.UNHASHED)


def test_entries_from_before_the_hash_chain_are_counted_and_the_chain_starts_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.state.sqlite"
    with sqlite3.connect(path) as connection:
        for statements in _MIGRATIONS[:2]:  # the schema-2 store: an audit log without hashes
            for statement in statements:
                connection.execute(statement)
        for number in range(2):
            connection.execute(
                "INSERT INTO audit_log (occurred_at, event, username, address, detail) "
                "VALUES (?, 'sign_in_locked', 'mina', '10.0.0.1', ?)",
                (to_text(NOW), f"old {number}"),
            )
        connection.execute("PRAGMA user_version = 2")
    store = AppStateStore.open(path)
    fill(store, 3)
    report = verify_audit_chain(store)
    assert report.intact
    assert (report.checked, report.unhashed_before, report.first_hashed) == (3, 2, 3)
    assert "2 older entries predate the hash chain, which starts at entry 3" in report.describe()
    assert audit_entries(store)[-1].entry_hash is None


def test_concurrent_writers_do_not_fork_the_chain(store: AppStateStore) -> None:
    def write(worker: int) -> None:
        for number in range(10):
            record_audit(store, AuditEvent.CUSTOMER_READ, f"{worker}-{number}", username="w")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = audit_entries(store, limit=None)
    assert [e.entry_id for e in entries] == list(range(40, 0, -1))
    assert verify_audit_chain(store).intact


def test_entries_filter_by_user_event_and_time(store: AppStateStore) -> None:
    fill(store, 3)
    record_audit(store, AuditEvent.SIGN_IN_FAILED, "wrong", username="Mina", now=NOW)
    assert [e.subject for e in audit_entries(store, username="LEE")] == [
        "customer C002",
        "customer C001",
        "customer C000",
    ]
    assert [e.username for e in audit_entries(store, event=AuditEvent.SIGN_IN_FAILED)] == ["Mina"]
    later = audit_entries(store, since=NOW + timedelta(minutes=1))
    assert [e.subject for e in later] == ["customer C002", "customer C001"]
    assert len(audit_entries(store, limit=2)) == 2


def test_the_head_setting_names_the_newest_entry(store: AppStateStore) -> None:
    fill(store, 2)
    newest = audit_entries(store, limit=1)[0]
    with sqlite3.connect(store.path) as connection:
        [value] = connection.execute(
            "SELECT value FROM app_settings WHERE key = ?", (HEAD_SETTING,)
        ).fetchone()
    assert value == f"{newest.entry_id} {newest.entry_hash}"


def test_the_cli_actor_is_an_admin_named_after_the_os_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "operator")
    monkeypatch.setenv("USER", "operator")
    actor = Actor.cli()
    assert (actor.username, actor.role, actor.channel) == (
        "cli:operator",
        UserRole(Role.ADMIN),
        "cli",
    )


# -- events written by the auth package ----------------------------------------------------
def test_every_failed_sign_in_is_audited_with_the_name_typed_and_the_address(
    store: AppStateStore,
) -> None:
    create_user(store, "mina", "correct horse", UserRole(Role.ANALYST))
    throttle = LoginThrottle(LoginLimits(account_free=5, account_lockout=10))
    for name in ("mina", "ghost"):
        assert sign_in(store, throttle, name, "wrong password", address="10.9.8.7", now=NOW) is None
    assert sign_in(store, throttle, "mina", "correct horse", address="10.9.8.7", now=NOW)
    failed = audit_entries(store, event=AuditEvent.SIGN_IN_FAILED)
    assert [(e.username, e.address, e.occurred_at) for e in failed] == [
        ("ghost", "10.9.8.7", NOW),
        ("mina", "10.9.8.7", NOW),
    ]
    assert verify_audit_chain(store).intact
