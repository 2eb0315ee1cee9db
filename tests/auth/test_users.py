"""Users, passwords, sessions and API tokens in the app-state store."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnikpi.auth import (
    SESSION_LIFETIME,
    Action,
    AppStateStore,
    UserRole,
    app_state_path,
    authenticate,
    authenticate_token,
    create_api_token,
    create_user,
    disable_user,
    enable_user,
    end_session,
    get_user,
    list_api_tokens,
    list_users,
    parse_role,
    revoke_api_token,
    secret_key,
    session_user,
    set_locale,
    set_password,
    set_role,
    start_session,
)
from omnikpi.auth.store import SCHEMA_VERSION
from omnikpi.errors import ConfigError, NotFound

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
ANALYST = parse_role("analyst")


def test_store_sits_beside_the_warehouse_and_only_its_owner_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNIKPI_APP_STATE", raising=False)
    assert app_state_path(tmp_path / "shop.duckdb") == tmp_path / "shop.state.sqlite"
    monkeypatch.setenv("OMNIKPI_APP_STATE", str(tmp_path / "elsewhere.sqlite"))
    assert app_state_path(tmp_path / "shop.duckdb") == tmp_path / "elsewhere.sqlite"
    store = AppStateStore.open(tmp_path / "elsewhere.sqlite")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_store_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        AppStateStore.open(tmp_path / "no" / "such.sqlite")


def test_create_and_authenticate(store: AppStateStore) -> None:
    user = create_user(store, "Mina", "correct horse", ANALYST, locale="ko")
    assert (user.username, str(user.role), user.locale, user.active) == (
        "Mina",
        "analyst",
        "ko",
        True,
    )
    assert authenticate(store, "mina", "correct horse") == user  # names are case-insensitive
    assert authenticate(store, "Mina", "wrong horse!") is None
    assert authenticate(store, "nobody", "correct horse") is None
    with store.connect() as connection:
        stored = connection.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


def test_names_passwords_and_duplicates_are_checked(store: AppStateStore) -> None:
    with pytest.raises(ConfigError, match="use at least 8"):
        create_user(store, "ana", "short", ANALYST)
    with pytest.raises(ConfigError, match='username "bad name" is not valid'):
        create_user(store, "bad name", "long enough", ANALYST)
    create_user(store, "ana", "long enough", ANALYST)
    with pytest.raises(ConfigError, match='user "ANA" already exists'):
        create_user(store, "ANA", "long enough", ANALYST)


def test_role_changes_and_disabling(store: AppStateStore) -> None:
    create_user(store, "jun", "long enough", ANALYST)
    assert set_role(store, "jun", parse_role("member:logistics")).role == parse_role(
        "member:logistics"
    )
    token = start_session(store, get_user(store, "jun"), now=T0)
    assert session_user(store, token, now=T0) is not None
    disable_user(store, "jun")
    assert session_user(store, token, now=T0) is None  # sessions end at once
    assert authenticate(store, "jun", "long enough") is None
    enable_user(store, "jun")
    assert authenticate(store, "jun", "long enough") is not None
    with pytest.raises(NotFound, match='no user "ghost"'):
        set_role(store, "ghost", ANALYST)


def test_sessions_expire_end_on_logout_and_on_password_change(store: AppStateStore) -> None:
    user = create_user(store, "sol", "long enough", ANALYST)
    token = start_session(store, user, now=T0)
    assert session_user(store, token, now=T0 + SESSION_LIFETIME - timedelta(seconds=1)) == user
    assert session_user(store, token, now=T0 + SESSION_LIFETIME) is None
    second = start_session(store, user, now=T0)
    end_session(store, second)
    assert session_user(store, second, now=T0) is None
    third = start_session(store, user, now=T0)
    set_password(store, "sol", "another password")
    assert session_user(store, third, now=T0) is None
    assert session_user(store, "made-up", now=T0) is None


def test_language_is_remembered(store: AppStateStore) -> None:
    user = create_user(store, "lee", "long enough", ANALYST)
    assert user.locale is None
    set_locale(store, user.user_id, "en")
    assert get_user(store, "lee").locale == "en"
    assert [u.username for u in list_users(store)] == ["lee"]


def test_api_tokens_are_scoped_hashed_expiring_and_revocable(store: AppStateStore) -> None:
    create_user(store, "bot", "long enough", ANALYST)
    scopes = frozenset({Action.VIEW_DATA_STATUS})
    record, secret = create_api_token(
        store, "bot", "BI refresh", scopes, expires_at=T0 + timedelta(days=1), now=T0
    )
    assert secret.startswith("okpi_")
    assert len(secret) > 40
    with store.connect() as connection:
        stored = connection.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
    assert secret not in stored
    found = authenticate_token(store, secret, now=T0 + timedelta(hours=1))
    assert found is not None
    assert found[0].username == "bot"
    assert found[1] == scopes
    assert list_api_tokens(store, "bot")[0].last_used_at == T0 + timedelta(hours=1)
    assert authenticate_token(store, secret, now=T0 + timedelta(days=2)) is None  # expired
    assert authenticate_token(store, secret + "x", now=T0) is None
    assert authenticate_token(store, "not-a-token", now=T0) is None
    revoke_api_token(store, record.token_id, now=T0)
    assert authenticate_token(store, secret, now=T0) is None
    assert list_api_tokens(store)[0].revoked


def test_tokens_of_a_disabled_user_stop_working(store: AppStateStore) -> None:
    create_user(store, "bot", "long enough", UserRole(ANALYST.role))
    _, secret = create_api_token(store, "bot", "x", frozenset({Action.READ_PROFILE}), now=T0)
    disable_user(store, "bot")
    assert authenticate_token(store, secret, now=T0) is None


def test_secret_key_is_generated_once_or_taken_from_the_environment(
    store: AppStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNIKPI_SECRET_KEY", raising=False)
    first = secret_key(store)
    assert len(first) >= 32
    assert secret_key(store) == first
    assert secret_key(AppStateStore.open(store.path)) == first  # survives a restart
    monkeypatch.setenv("OMNIKPI_SECRET_KEY", "k" * 40)
    assert secret_key(store) == "k" * 40
    monkeypatch.setenv("OMNIKPI_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="OMNIKPI_SECRET_KEY has 5 characters"):
        secret_key(store)
