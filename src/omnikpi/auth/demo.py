"""The demo's users: one per role, all with the password "demo" (demo warehouses only)."""

from __future__ import annotations

from dataclasses import dataclass

from omnikpi.auth.roles import MemberRole, Role, UserRole
from omnikpi.auth.store import AppStateStore
from omnikpi.auth.users import (
    create_user,
    enable_user,
    list_users,
    set_password,
    set_role,
)

#: The demo's password; never used outside `omnikpi demo`.
DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DemoLogin:
    """A demo user to print for the person trying omnikpi."""

    username: str
    role: UserRole
    password: str = DEMO_PASSWORD
    #: A bu_user's business unit (each belongs to one).
    business_unit: str | None = None


#: One demo user per role, in the order the demo prints them.
DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("executive", UserRole(Role.EXECUTIVE)),
    DemoLogin("lead", UserRole(Role.TEAM_LEAD)),
    DemoLogin("analyst", UserRole(Role.ANALYST)),
    DemoLogin("admin", UserRole(Role.ADMIN)),
    DemoLogin("bu_user", UserRole(Role.BU_USER), business_unit="Marketing"),
    *(DemoLogin(f"member_{member}", UserRole(Role.MEMBER, member)) for member in MemberRole),
)


def create_demo_users(store: AppStateStore) -> tuple[DemoLogin, ...]:
    """Create the demo users, or reset existing ones to their demo role and password."""
    existing = {user.username for user in list_users(store)}
    for login in DEMO_LOGINS:
        if login.username in existing:
            set_role(store, login.username, login.role, business_unit=login.business_unit)
            set_password(store, login.username, login.password, check_strength=False)
            enable_user(store, login.username)
        else:
            create_user(
                store,
                login.username,
                login.password,
                login.role,
                business_unit=login.business_unit,
                check_strength=False,
            )
    return DEMO_LOGINS
