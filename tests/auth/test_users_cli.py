"""`omnikpi users` and the demo's logins, as an administrator runs them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from omnikpi.auth import (
    AppStateStore,
    app_state_path,
    authenticate,
    authenticate_token,
    get_user,
    session_user,
    start_session,
)
from omnikpi.auth.audit import Actor, AuditEvent, audit_entries
from omnikpi.auth.sessions import single_session
from tests.conftest import run_cli


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    return tmp_path / "shop.duckdb"


def add(warehouse: Path, monkeypatch: pytest.MonkeyPatch, *args: str, password: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return run_cli("users", "add", *args, "--password-stdin", "--warehouse", str(warehouse))


def test_add_list_set_role_disable(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        add(warehouse, monkeypatch, "mina", "--role", "member:cs_agent", password="s3cret-pw") == 0
    )
    assert "Added mina (member:cs_agent)." in capsys.readouterr().out
    store = AppStateStore.open(app_state_path(warehouse))
    assert authenticate(store, "mina", "s3cret-pw") is not None

    assert run_cli("users", "set-role", "mina", "team_lead", "--warehouse", str(warehouse)) == 0
    assert run_cli("users", "disable", "mina", "--warehouse", str(warehouse)) == 0
    capsys.readouterr()
    assert run_cli("users", "list", "--format", "json", "--warehouse", str(warehouse)) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["username"], listed["role"], listed["active"]) == ("mina", "team_lead", False)
    assert authenticate(store, "mina", "s3cret-pw") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "x", "--role", "boss"], '"boss" is not a role (choose one of: admin,'),
        (["users", "add", "x", "--role", "member"], "member:cs_agent, member:performance_marketer"),
        (["users", "set-role", "x", "ceo"], '"ceo" is not a role'),
        (["users", "disable", "ghost"], 'no user "ghost"'),
        (["users", "token", "ghost", "--name", "n", "--scope", "nope"], '"nope" is not a token'),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    warehouse: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(*args, "--warehouse", str(warehouse)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ")
    assert message in err
    assert "\n" not in err


def test_short_password_is_refused(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(warehouse, monkeypatch, "jun", "--role", "analyst", password="demo") == 2
    assert "use at least 8" in capsys.readouterr().err


def test_token_is_printed_once_and_works(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add(warehouse, monkeypatch, "bot", "--role", "analyst", password="long enough")
    capsys.readouterr()
    code = run_cli(
        "users", "token", "bot", "--name", "BI", "--scope", "view_data_status",
        "--warehouse", str(warehouse),
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr()
    secret = printed.out.strip().splitlines()[-1]
    assert secret.startswith("okpi_")
    # Printed exactly once, and never again: not by the listing, not in the stored state.
    assert (printed.out + printed.err).count(secret) == 1
    assert run_cli("users", "list", "--format", "json", "--warehouse", str(warehouse)) == 0
    assert secret not in capsys.readouterr().out
    stored = [path.read_bytes() for path in warehouse.parent.iterdir() if path.is_file()]
    assert stored
    assert not any(secret.encode() in data for data in stored)  # the state and its WAL
    found = authenticate_token(AppStateStore.open(app_state_path(warehouse)), secret)
    assert found is not None
    assert [s.value for s in found[1]] == ["view_data_status"]


def test_demo_prints_the_logins_and_creates_them(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(
        "demo", "--customers", "300", "--days", "60", "--end", "2025-06-30",
        "--warehouse", str(warehouse), "--no-serve",
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "sign in as one of these demo users" in out
    for username in ("executive", "lead", "analyst", "admin", "bu_user", "member_crm_loyalty"):
        assert username in out
    store = AppStateStore.open(app_state_path(warehouse))
    assert authenticate(store, "member_site_operator", "demo") is not None


def cli(warehouse: Path, *args: str) -> int:
    return run_cli("users", *args, "--warehouse", str(warehouse))


def test_bu_users_are_added_with_a_business_unit_and_moved_between_units(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(warehouse, monkeypatch, "sora", "--role", "bu_user", password="long enough") == 2
    assert "a bu_user belongs to one business unit" in capsys.readouterr().err
    args = ("sora", "--role", "bu_user", "--business-unit", "Fashion")
    assert add(warehouse, monkeypatch, *args, password="long enough") == 0
    assert "Added sora (bu_user, Fashion)." in capsys.readouterr().out
    assert cli(warehouse, "set-unit", "sora", "Beauty") == 0
    assert cli(warehouse, "set-role", "sora", "analyst", "--business-unit", "X") == 2
    assert "has no business unit" in capsys.readouterr().err
    capsys.readouterr()
    assert cli(warehouse, "list", "--format", "json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["role"], listed["business_unit"]) == ("bu_user", "Beauty")
    store = AppStateStore.open(app_state_path(warehouse))
    events = [(e.event, e.subject) for e in reversed(audit_entries(store))]
    assert events == [
        (AuditEvent.USER_ADDED, "sora"),
        (AuditEvent.BUSINESS_UNIT_CHANGED, "sora"),
    ]
    assert all(e.username == Actor.cli().username for e in audit_entries(store))


def test_reset_password_prints_a_temporary_password_once(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add(warehouse, monkeypatch, "mina", "--role", "analyst", password="long enough")
    capsys.readouterr()
    assert cli(warehouse, "reset-password", "mina") == 0
    printed = capsys.readouterr().out
    temporary = printed.strip().splitlines()[-1]
    assert printed.count(temporary) == 1
    store = AppStateStore.open(app_state_path(warehouse))
    assert authenticate(store, "mina", "long enough") is None
    user = authenticate(store, "mina", temporary)
    assert user is not None
    assert user.password_temporary
    [entry] = audit_entries(store, event=AuditEvent.PASSWORD_RESET)
    assert (entry.username, entry.subject) == (Actor.cli().username, "mina")
    assert temporary not in entry.detail


def test_add_with_a_temporary_password_asks_for_none(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(warehouse, "add", "jun", "--role", "team_lead", "--temporary-password") == 0
    temporary = capsys.readouterr().out.strip().splitlines()[-1]
    user = authenticate(AppStateStore.open(app_state_path(warehouse)), "jun", temporary)
    assert user is not None
    assert user.password_temporary


def test_sessions_are_listed_and_revoked(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add(warehouse, monkeypatch, "mina", "--role", "analyst", password="long enough")
    store = AppStateStore.open(app_state_path(warehouse))
    token = start_session(store, get_user(store, "mina"), address="10.0.0.7")
    capsys.readouterr()
    assert cli(warehouse, "sessions", "mina", "--format", "json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["address"] == "10.0.0.7"
    assert cli(warehouse, "revoke-session", "mina", listed["id"]) == 0
    assert f"Session {listed['id']} of mina ended." in capsys.readouterr().out
    assert session_user(store, token) is None
    assert cli(warehouse, "revoke-session", "mina", listed["id"]) == 2
    assert f'no session "{listed["id"]}"' in capsys.readouterr().err
    [entry] = audit_entries(store, event=AuditEvent.SESSION_REVOKED)
    assert entry.subject == "mina"


def test_tokens_are_listed_and_revoked(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add(warehouse, monkeypatch, "bot", "--role", "analyst", password="long enough")
    assert cli(warehouse, "token", "bot", "--name", "BI", "--scope", "read_kpis") == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert cli(warehouse, "tokens", "bot", "--format", "json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["scopes"], listed["revoked"]) == ("BI", "read_kpis", False)
    assert cli(warehouse, "revoke-token", "bot", str(listed["id"])) == 0
    store = AppStateStore.open(app_state_path(warehouse))
    assert authenticate_token(store, secret) is None
    events = [e.event for e in reversed(audit_entries(store))]
    assert events == [AuditEvent.USER_ADDED, AuditEvent.TOKEN_CREATED, AuditEvent.TOKEN_REVOKED]


def test_single_session_is_off_until_turned_on(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(warehouse, "single-session") == 0
    assert "single-session is off." in capsys.readouterr().out
    assert cli(warehouse, "single-session", "on") == 0
    assert "single-session is on." in capsys.readouterr().out
    assert single_session(AppStateStore.open(app_state_path(warehouse)))
    assert cli(warehouse, "single-session", "maybe") == 2
