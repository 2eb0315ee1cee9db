"""The permission table: who may do what, and which KPI tiers each role sees."""

from __future__ import annotations

import pytest

from omnikpi.auth import (
    ALL_ROLES,
    CUSTOMER_LEVEL_ACTIONS,
    PERMISSIONS,
    TIERS,
    Action,
    ActionDenied,
    MemberRole,
    Role,
    UserRole,
    allowed_actions,
    check_allowed,
    is_allowed,
    may_see_kpi,
    may_see_tier,
    parse_role,
    parse_scopes,
)
from omnikpi.auth.permissions import UNTAGGED_KPI_ROLES, visible_kpi_ids
from omnikpi.errors import ConfigError, PermissionDenied

CS_AGENT = UserRole(Role.MEMBER, MemberRole.CS_AGENT)


def test_every_action_and_role_is_in_the_tables() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert set(TIERS) == set(Role)


def test_customer_level_data_is_for_analysts_and_admins_only() -> None:
    for action in CUSTOMER_LEVEL_ACTIONS:
        assert PERMISSIONS[action] == {Role.ANALYST, Role.ADMIN}
    allowed = [role for role in ALL_ROLES if is_allowed(role, Action.VIEW_CUSTOMER_LEVEL)]
    assert {str(role) for role in allowed} == {"analyst", "admin"}


def test_only_admins_manage_users_and_only_members_have_my_kpis() -> None:
    assert [str(r) for r in ALL_ROLES if is_allowed(r, Action.MANAGE_USERS)] == ["admin"]
    members = [r for r in ALL_ROLES if is_allowed(r, Action.VIEW_MY_KPIS)]
    assert members == [r for r in ALL_ROLES if r.role is Role.MEMBER]


def test_denied_action_raises_a_permission_error_naming_role_and_action() -> None:
    with pytest.raises(PermissionDenied, match='role "member:cs_agent" may not manage users'):
        check_allowed(CS_AGENT, Action.MANAGE_USERS)
    with pytest.raises(ActionDenied) as denied:
        check_allowed(UserRole(Role.EXECUTIVE), Action.VIEW_CUSTOMER_LEVEL)
    assert denied.value.action is Action.VIEW_CUSTOMER_LEVEL


def test_token_scopes_narrow_but_never_widen_a_role() -> None:
    analyst = UserRole(Role.ANALYST)
    scopes = frozenset({Action.VIEW_DATA_STATUS, Action.MANAGE_USERS})
    assert is_allowed(analyst, Action.VIEW_DATA_STATUS, scopes)
    assert not is_allowed(analyst, Action.READ_PROFILE, scopes)  # role may, token may not
    assert not is_allowed(analyst, Action.MANAGE_USERS, scopes)  # token says so, role may not


def test_allowed_actions_follow_the_table() -> None:
    lead = UserRole(Role.TEAM_LEAD)
    assert allowed_actions(lead) == tuple(a for a in Action if Role.TEAM_LEAD in PERMISSIONS[a])


@pytest.mark.parametrize(
    ("role", "tier", "expected"),
    [
        ("executive", "cxo", True),
        ("executive", "member:logistics", True),
        ("team_lead", "lead", True),
        ("bu_user", "lead", True),
        ("bu_user", "member:cs_agent", False),
        ("member:cs_agent", "member:cs_agent", True),
        ("member:cs_agent", "member:logistics", False),
        ("member:cs_agent", "lead", False),
        ("member:cs_agent", "cxo", True),
        ("analyst", "member:crm_loyalty", True),
    ],
)
def test_tiers(role: str, tier: str, expected: bool) -> None:
    assert may_see_tier(parse_role(role), tier) is expected


def test_untagged_kpis_are_for_the_whole_business_roles_and_tagged_need_one_tier() -> None:
    assert not may_see_kpi(CS_AGENT, [])
    assert not may_see_kpi(UserRole(Role.BU_USER), [])
    assert [r.role for r in ALL_ROLES if may_see_kpi(r, [])] == [
        r.role for r in ALL_ROLES if r.role in UNTAGGED_KPI_ROLES
    ]
    assert {Role.EXECUTIVE, Role.TEAM_LEAD, Role.ANALYST, Role.ADMIN} == UNTAGGED_KPI_ROLES
    assert may_see_kpi(CS_AGENT, ["lead", "member:cs_agent"])
    assert not may_see_kpi(CS_AGENT, ["lead", "member:logistics"])


#: A catalog in miniature: each KPI's tiers, and the KPIs each formula is computed from.
TIERS_OF = {
    "revenue": ["cxo", "lead"],
    "ad_spend": [],  # a companion: used by ROAS and by blended ROAS
    "roas": ["member:performance_marketer"],
    "blended_roas": [],  # untagged, used by nothing
    "cogs": [],
    "gross_profit": [],
    "orders": ["cxo", "lead"],
    "complaints": ["lead", "member:cs_agent"],
    "complaint_ratio": ["cxo"],
    "basket_to_order_rate": ["lead"],
    "cart_abandonment_rate": ["member:merchandiser"],
}
INPUTS_OF = {
    "cart_abandonment_rate": ["basket_to_order_rate"],
    "roas": ["ad_spend"],
    "blended_roas": ["revenue", "ad_spend"],
    "gross_profit": ["revenue", "cogs"],
    "complaint_ratio": ["complaints", "orders"],
}


def visible(role: str) -> set[str]:
    return set(visible_kpi_ids(parse_role(role), TIERS_OF, INPUTS_OF))


def test_a_companion_takes_the_tiers_of_the_kpis_computed_from_it() -> None:
    assert visible("member:performance_marketer") == {"revenue", "orders", "ad_spend", "roas"}
    assert "ad_spend" not in visible("member:crm_marketer")  # nobody of theirs uses it


def test_untagged_kpis_nobody_uses_are_for_the_whole_business_roles() -> None:
    for role in ("executive", "team_lead", "analyst", "admin"):
        assert visible(role) == set(TIERS_OF), role
    for role in ("bu_user", "member:performance_marketer", "member:crm_loyalty"):
        assert not {"blended_roas", "gross_profit", "cogs"} & visible(role), role


def test_a_kpi_that_gives_a_hidden_one_back_is_hidden_too() -> None:
    # complaint_ratio is a CxO KPI, but with orders it gives complaints back
    assert visible("member:crm_loyalty") == {"revenue", "orders"}
    assert "complaints" not in visible("member:merchandiser")  # a cxo tag widens nothing
    assert {"complaints", "complaint_ratio"} <= visible("member:cs_agent")
    assert {"complaints", "complaint_ratio"} <= visible("bu_user")  # lead tier


def test_a_kpi_chosen_for_a_job_brings_what_it_is_computed_from() -> None:
    # cart abandonment is 1 - basket-to-order rate: the job given the one has the other
    assert {"cart_abandonment_rate", "basket_to_order_rate"} <= visible("member:merchandiser")
    assert not {"cart_abandonment_rate", "basket_to_order_rate"} & visible("member:cs_agent")
    assert "cart_abandonment_rate" not in visible("bu_user")  # not its tier


def test_what_a_role_reads_is_closed_under_the_formulas() -> None:
    for role in ALL_ROLES:
        seen = visible_kpi_ids(role, TIERS_OF, INPUTS_OF)
        for kpi_id in seen:
            assert set(INPUTS_OF.get(kpi_id, ())) <= seen, (role, kpi_id)


def test_scopes_are_parsed_from_action_names() -> None:
    assert parse_scopes(["read_profile", " view_data_status"]) == {
        Action.READ_PROFILE,
        Action.VIEW_DATA_STATUS,
    }
    with pytest.raises(ConfigError, match='"everything" is not a token scope'):
        parse_scopes(["everything"])
    with pytest.raises(ConfigError, match="at least one scope"):
        parse_scopes([])
