"""User administration through the one service the CLI and the admin pages share: each
change keeps the rules (business units, the last admin, temporary passwords) and is
audited once, with who did it and to whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnikpi.auth import (
    Action,
    AppStateStore,
    authenticate,
    authenticate_token,
    parse_role,
    session_user,
)
from omnikpi.auth.audit import Actor, AuditEntry, AuditEvent, audit_entries
from omnikpi.auth.permissions import ActionDenied
from omnikpi.auth.sessions import SEEN_INTERVAL, list_sessions, set_single_session, start_session
from omnikpi.auth.users import (
    PasswordChangeExpired,
    create_user,
    get_user,
    temporary_password_stamp,
)
from omnikpi.errors import NotFound
from omnikpi.services.users import (
    UserChangeRefused,
    add_user,
    begin_session,
    business_units,
    change_business_unit,
    change_role,
    choose_password,
    create_token,
    disable,
    enable,
    reset_password,
    revoke_user_session,
    revoke_user_token,
    sessions_of,
    tokens_of,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PASSWORD = "long enough pw"


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    state = AppStateStore.open(tmp_path / "shop.state.sqlite")
    create_user(state, "boss", PASSWORD, parse_role("admin"), check_strength=False)
    return state


@pytest.fixture
def admin(store: AppStateStore) -> Actor:
    return Actor("boss", parse_role("admin"), "10.0.0.1")


def entries(store: AppStateStore, event: AuditEvent) -> list[AuditEntry]:
    return audit_entries(store, event=event)


def test_an_added_user_gets_a_temporary_password_that_works_once_and_is_audited(
    store: AppStateStore, admin: Actor
) -> None:
    added = add_user(store, admin, "mina", parse_role("member:cs_agent"), now=NOW)
    assert added.temporary_password is not None
    assert added.user.password_temporary
    signed_in = authenticate(store, "mina", added.temporary_password)
    assert signed_in is not None
    assert signed_in.password_temporary
    [entry] = entries(store, AuditEvent.USER_ADDED)
    assert (entry.username, entry.actor_role, entry.address, entry.subject) == (
        "boss",
        "admin",
        "10.0.0.1",
        "mina",
    )
    assert "member:cs_agent" in entry.detail
    assert added.temporary_password not in entry.detail


def test_a_chosen_password_is_not_temporary(store: AppStateStore, admin: Actor) -> None:
    added = add_user(store, admin, "jun", parse_role("analyst"), password=PASSWORD)
    assert added.temporary_password is None
    user = authenticate(store, "jun", PASSWORD)
    assert user is not None
    assert not user.password_temporary


def test_a_bu_user_belongs_to_one_business_unit_and_no_other_role_has_one(
    store: AppStateStore, admin: Actor
) -> None:
    with pytest.raises(UserChangeRefused, match="a bu_user belongs to one business unit") as no:
        add_user(store, admin, "sora", parse_role("bu_user"))
    assert no.value.reason == "business_unit_required"
    with pytest.raises(UserChangeRefused) as other:
        add_user(store, admin, "sora", parse_role("analyst"), business_unit="Fashion")
    assert other.value.reason == "business_unit_not_allowed"
    with pytest.raises(UserChangeRefused) as bad:
        add_user(store, admin, "sora", parse_role("bu_user"), business_unit="<script>")
    assert bad.value.reason == "business_unit_invalid"
    added = add_user(store, admin, "sora", parse_role("bu_user"), business_unit=" Home  & Living ")
    assert added.user.business_unit == "Home & Living"
    assert business_units(store) == ["Home & Living"]
    assert entries(store, AuditEvent.USER_ADDED)[0].subject == "sora"


def test_role_changes_keep_business_units_with_bu_users(store: AppStateStore, admin: Actor) -> None:
    add_user(store, admin, "sora", parse_role("analyst"))
    with pytest.raises(UserChangeRefused) as refused:
        change_role(store, admin, "sora", parse_role("bu_user"))
    assert refused.value.reason == "business_unit_required"
    assert get_user(store, "sora").role == parse_role("analyst")

    moved = change_role(store, admin, "sora", parse_role("bu_user"), business_unit="Fashion")
    assert (str(moved.role), moved.business_unit) == ("bu_user", "Fashion")
    kept = change_role(store, admin, "sora", parse_role("bu_user"))  # no change, no entry
    assert kept.business_unit == "Fashion"
    moved = change_business_unit(store, admin, "sora", "Beauty")
    assert moved.business_unit == "Beauty"
    back = change_role(store, admin, "sora", parse_role("team_lead"))
    assert (str(back.role), back.business_unit) == ("team_lead", None)
    with pytest.raises(UserChangeRefused) as other:
        change_business_unit(store, admin, "sora", "Fashion")
    assert other.value.reason == "business_unit_not_allowed"

    roles = [e.detail for e in reversed(entries(store, AuditEvent.ROLE_CHANGED))]
    assert roles == ["role analyst → bu_user (Fashion)", "role bu_user (Beauty) → team_lead"]
    [unit] = entries(store, AuditEvent.BUSINESS_UNIT_CHANGED)
    assert (unit.subject, unit.detail) == ("sora", "business unit Fashion → Beauty")


def test_disabling_ends_sessions_and_tokens_at_once_and_enabling_lets_them_back(
    store: AppStateStore, admin: Actor
) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    session = start_session(store, get_user(store, "mina"), now=NOW)
    _, secret = create_token(store, admin, "mina", "BI", frozenset({Action.READ_KPIS}), now=NOW)
    assert session_user(store, session, now=NOW) is not None

    disabled = disable(store, admin, "mina", now=NOW)
    assert not disabled.active
    assert disabled.disabled_at == NOW
    assert session_user(store, session, now=NOW) is None
    assert authenticate_token(store, secret, now=NOW) is None
    assert authenticate(store, "mina", PASSWORD) is None
    [entry] = entries(store, AuditEvent.USER_DISABLED)
    assert (entry.subject, entry.detail) == ("mina", "disabled; 1 session(s) ended")

    enabled = enable(store, admin, "mina", now=NOW)
    assert (enabled.active, enabled.disabled_at) == (True, None)
    assert authenticate(store, "mina", PASSWORD) is not None
    assert entries(store, AuditEvent.USER_ENABLED)[0].subject == "mina"


def test_nobody_disables_or_demotes_themselves_or_the_last_admin(
    store: AppStateStore, admin: Actor
) -> None:
    with pytest.raises(UserChangeRefused) as own:
        disable(store, admin, "boss")
    assert own.value.reason == "own_account"
    with pytest.raises(UserChangeRefused) as demote:
        change_role(store, admin, "boss", parse_role("analyst"))
    assert demote.value.reason == "own_account"
    # From the command line (another actor), the last admin is still kept.
    with pytest.raises(UserChangeRefused) as last:
        disable(store, Actor.cli(), "boss")
    assert last.value.reason == "last_admin"
    add_user(store, admin, "second", parse_role("admin"), password=PASSWORD)
    assert not disable(store, Actor.cli(), "boss").active
    assert get_user(store, "second").active


def test_only_an_admin_manages_users(store: AppStateStore) -> None:
    lead = Actor("lead", parse_role("team_lead"), "10.0.0.2")
    with pytest.raises(ActionDenied):
        add_user(store, lead, "mina", parse_role("analyst"))
    with pytest.raises(ActionDenied):
        disable(store, lead, "boss")
    assert entries(store, AuditEvent.USER_DISABLED) == []


def test_a_reset_password_is_temporary_and_replaced_once_by_the_user(
    store: AppStateStore, admin: Actor
) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    session = start_session(store, get_user(store, "mina"), now=NOW)
    temporary = reset_password(store, admin, "mina", now=NOW)
    assert session_user(store, session, now=NOW) is None
    assert authenticate(store, "mina", PASSWORD) is None
    user = authenticate(store, "mina", temporary)
    assert user is not None
    assert user.password_temporary

    stamp = temporary_password_stamp(store, "mina")
    assert stamp is not None
    with pytest.raises(UserChangeRefused) as differ:
        choose_password(store, "mina", stamp, "my own password", "my own passw0rd")
    assert differ.value.reason == "passwords_differ"
    with pytest.raises(UserChangeRefused) as short:
        choose_password(store, "mina", stamp, "short", "short")
    assert short.value.reason == "password_too_short"
    chosen = choose_password(store, "mina", stamp, "my own password", "my own password")
    assert not chosen.password_temporary
    assert temporary_password_stamp(store, "mina") is None
    assert authenticate(store, "mina", "my own password") is not None
    assert authenticate(store, "mina", temporary) is None
    with pytest.raises(PasswordChangeExpired):  # the form works once
        choose_password(store, "mina", stamp, "another password", "another password")

    resets = [(e.username, e.detail) for e in reversed(entries(store, AuditEvent.PASSWORD_RESET))]
    assert resets == [
        ("boss", "temporary password issued; sessions ended"),
        ("mina", "temporary password replaced by the user"),
    ]


def test_a_second_reset_voids_the_first_change_form(store: AppStateStore, admin: Actor) -> None:
    add_user(store, admin, "mina", parse_role("analyst"))
    first = temporary_password_stamp(store, "mina")
    assert first is not None
    reset_password(store, admin, "mina")
    with pytest.raises(PasswordChangeExpired):
        choose_password(store, "mina", first, "my own password", "my own password")


def test_sessions_record_their_last_use_at_most_every_few_minutes(
    store: AppStateStore, admin: Actor
) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    token = begin_session(store, get_user(store, "mina"), address="10.0.0.7", now=NOW)
    [opened] = sessions_of(store, admin, "mina", now=NOW)
    assert (opened.last_seen_at, opened.address) == (NOW, "10.0.0.7")

    soon = NOW + SEEN_INTERVAL - timedelta(seconds=1)
    session_user(store, token, now=soon, address="10.0.0.7")
    assert list_sessions(store, "mina", now=soon)[0].last_seen_at == NOW  # not written
    session_user(store, token, now=soon, address="10.0.0.8")  # moved: written at once
    assert list_sessions(store, "mina", now=soon)[0].address == "10.0.0.8"
    later = NOW + SEEN_INTERVAL * 2
    session_user(store, token, now=later, address="10.0.0.8")
    assert list_sessions(store, "mina", now=later)[0].last_seen_at == later


def test_a_session_is_revoked_by_its_id_and_audited(store: AppStateStore, admin: Actor) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    mina = get_user(store, "mina")
    first = begin_session(store, mina, address="10.0.0.7", now=NOW)
    second = begin_session(store, mina, address="10.0.0.9", now=NOW)
    by_address = {s.address: s for s in sessions_of(store, admin, "mina", now=NOW)}
    with pytest.raises(NotFound, match="at least 8 characters"):
        revoke_user_session(store, admin, "mina", by_address["10.0.0.7"].session_id[:5])
    with pytest.raises(NotFound):  # another user's session is not theirs to name
        revoke_user_session(store, admin, "boss", by_address["10.0.0.7"].session_id)
    revoke_user_session(store, admin, "mina", by_address["10.0.0.7"].short_id, now=NOW)
    assert session_user(store, first, now=NOW) is None
    assert session_user(store, second, now=NOW) is not None
    [entry] = entries(store, AuditEvent.SESSION_REVOKED)
    assert entry.subject == "mina"
    assert by_address["10.0.0.7"].short_id in entry.detail


def test_single_session_ends_the_previous_sign_in_only_when_on(
    store: AppStateStore, admin: Actor
) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    mina = get_user(store, "mina")
    first = begin_session(store, mina, address="10.0.0.7", now=NOW)
    second = begin_session(store, mina, address="10.0.0.8", now=NOW)
    assert session_user(store, first, now=NOW) is not None
    set_single_session(store, True)
    third = begin_session(store, mina, address="10.0.0.9", now=NOW)
    assert session_user(store, first, now=NOW) is None
    assert session_user(store, second, now=NOW) is None
    assert session_user(store, third, now=NOW) is not None


def test_tokens_are_listed_and_revoked_per_user_and_audited(
    store: AppStateStore, admin: Actor
) -> None:
    add_user(store, admin, "mina", parse_role("analyst"), password=PASSWORD)
    record, secret = create_token(store, admin, "mina", "BI", frozenset({Action.READ_KPIS}))
    assert [t.token_id for t in tokens_of(store, admin, "mina")] == [record.token_id]
    with pytest.raises(NotFound):
        revoke_user_token(store, admin, "boss", record.token_id)
    assert authenticate_token(store, secret) is not None
    revoke_user_token(store, admin, "mina", record.token_id)
    assert authenticate_token(store, secret) is None
    assert tokens_of(store, admin, "mina")[0].revoked
    [created] = entries(store, AuditEvent.TOKEN_CREATED)
    [revoked] = entries(store, AuditEvent.TOKEN_REVOKED)
    assert (created.subject, revoked.subject) == ("mina", "mina")
    assert secret not in created.detail
