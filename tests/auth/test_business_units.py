"""Business units in the permission table: an action UNIT_SCOPED keeps listed roles to
their own unit, while the other roles the table allows take it for any unit."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from omnikpi.auth import Action, Role, parse_role, permissions
from omnikpi.auth.permissions import (
    UnitDenied,
    check_allowed_for_unit,
    is_allowed_for_unit,
    same_unit,
)
from omnikpi.auth.users import check_business_unit
from omnikpi.errors import ConfigError

BU_USER = parse_role("bu_user")
ANALYST = parse_role("analyst")


@pytest.fixture
def scoped_scorecard(monkeypatch: pytest.MonkeyPatch) -> Action:
    """The scorecard kept to bu_users' own unit (no action is scoped yet; data packages
    will be the first)."""
    action = Action.VIEW_SCORECARD
    monkeypatch.setattr(
        permissions, "UNIT_SCOPED", MappingProxyType({action: frozenset({Role.BU_USER})})
    )
    return action


def test_a_scoped_role_acts_for_its_own_unit_only(scoped_scorecard: Action) -> None:
    assert is_allowed_for_unit(BU_USER, "Fashion", scoped_scorecard, "fashion")
    assert not is_allowed_for_unit(BU_USER, "Fashion", scoped_scorecard, "Beauty")
    assert not is_allowed_for_unit(BU_USER, None, scoped_scorecard, "Beauty")
    with pytest.raises(UnitDenied, match='business unit "Fashion" may view scorecard only'):
        check_allowed_for_unit(BU_USER, "Fashion", scoped_scorecard, "Beauty")
    check_allowed_for_unit(BU_USER, "Fashion", scoped_scorecard, "Fashion")


def test_roles_not_scoped_act_for_any_unit(scoped_scorecard: Action) -> None:
    assert is_allowed_for_unit(ANALYST, None, scoped_scorecard, "Beauty")


def test_the_table_still_decides_first(scoped_scorecard: Action) -> None:
    member = parse_role("member:cs_agent")  # the scorecard is not a member's page
    assert not is_allowed_for_unit(member, "Fashion", scoped_scorecard, "Fashion")
    tokens_scope = frozenset({Action.READ_KPIS})
    assert not is_allowed_for_unit(BU_USER, "Fashion", scoped_scorecard, "Fashion", tokens_scope)


def test_unscoped_actions_ignore_units() -> None:
    assert is_allowed_for_unit(BU_USER, "Fashion", Action.VIEW_SCORECARD, "Beauty")


def test_units_compare_without_case_and_none_matches_nothing() -> None:
    assert same_unit("Home & Living", "home & living")
    assert not same_unit(None, None)
    assert not same_unit("Fashion", None)


@pytest.mark.parametrize("name", ["", " ", "<script>", "-lead", "x" * 65])
def test_business_unit_names_are_checked(name: str) -> None:
    with pytest.raises(ConfigError, match="is not valid"):
        check_business_unit(name)


def test_business_unit_names_may_be_korean_and_are_tidied() -> None:
    assert check_business_unit("  패션   사업부 ") == "패션 사업부"
