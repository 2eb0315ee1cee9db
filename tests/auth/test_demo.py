"""Demo users: one per role, password "demo", recreated by every `omnikpi demo`."""

from __future__ import annotations

from omnikpi.auth import (
    ALL_ROLES,
    DEMO_LOGINS,
    AppStateStore,
    authenticate,
    create_demo_users,
    disable_user,
    list_users,
    parse_role,
    set_role,
)


def test_demo_users_cover_every_role_with_the_demo_password(store: AppStateStore) -> None:
    logins = create_demo_users(store)
    assert {login.role for login in logins} == set(ALL_ROLES)
    assert [login.username for login in logins[:5]] == [
        "executive",
        "lead",
        "analyst",
        "admin",
        "bu_user",
    ]
    assert {u.username for u in list_users(store)} == {login.username for login in DEMO_LOGINS}
    user = authenticate(store, "member_crm_marketer", "demo")
    assert user is not None
    assert str(user.role) == "member:crm_marketer"


def test_running_the_demo_again_restores_the_demo_users(store: AppStateStore) -> None:
    create_demo_users(store)
    set_role(store, "lead", parse_role("analyst"))
    disable_user(store, "executive")
    create_demo_users(store)
    lead = authenticate(store, "lead", "demo")
    assert lead is not None
    assert str(lead.role) == "team_lead"
    assert authenticate(store, "executive", "demo") is not None
    assert len(list_users(store)) == len(DEMO_LOGINS)


def test_the_demo_bu_user_belongs_to_a_business_unit_and_only_it(store: AppStateStore) -> None:
    create_demo_users(store)
    set_role(store, "bu_user", parse_role("bu_user"), business_unit="Elsewhere")
    create_demo_users(store)  # the demo restores it
    units = {user.username: user.business_unit for user in list_users(store)}
    assert units.pop("bu_user") == "Marketing"
    assert set(units.values()) == {None}
