"""Who reads which KPIs: the permission table's rule applied to the packaged catalog.

The rule (omnikpi.auth.permissions): tiers admit roles; a KPI of a member's own job admits
what it is computed from for that job; an untagged KPI admits the
whole-business roles and, as a companion, the roles of the KPIs computed from it; a role
reads a KPI only if it reads every KPI the KPI is computed from.
"""

from __future__ import annotations

import pytest

from omnikpi.auth import ALL_ROLES, UserRole, may_see_kpi, parse_role
from omnikpi.auth.permissions import UNTAGGED_KPI_ROLES
from omnikpi.kpi import load_catalog
from omnikpi.services import (
    KpiDenied,
    check_kpi_visible,
    default_tier,
    tier_kpis,
    tiers_of,
    visible_kpis,
)
from omnikpi.services.access import kpi_inputs

CATALOG = load_catalog()
INPUTS = kpi_inputs(CATALOG)
UNTAGGED = {k.id for k in CATALOG.kpis.values() if not k.tiers}
WHOLE_BUSINESS = [r for r in ALL_ROLES if r.role in UNTAGGED_KPI_ROLES]
NARROW = [r for r in ALL_ROLES if r.role not in UNTAGGED_KPI_ROLES]


def readable(role: UserRole) -> set[str]:
    return {k.id for k in visible_kpis(CATALOG, role)}


def below(kpi_id: str) -> set[str]:
    """Every KPI `kpi_id` is computed from, down to the last."""
    found: set[str] = set()
    for input_id in INPUTS[kpi_id]:
        found |= {input_id, *below(input_id)}
    return found


def test_inputs_are_the_kpis_a_formula_or_ratio_names() -> None:
    assert INPUTS["gross_profit"] == ("cogs", "revenue")  # revenue - cogs
    assert INPUTS["complaint_ratio"] == ("complaints", "orders")
    assert INPUTS["revenue"] == ()
    assert UNTAGGED
    assert len(UNTAGGED) < len(CATALOG.kpis)


def test_the_whole_business_roles_read_every_kpi() -> None:
    assert {str(r) for r in WHOLE_BUSINESS} == {"executive", "team_lead", "analyst", "admin"}
    for role in WHOLE_BUSINESS:
        assert readable(role) == set(CATALOG.kpis), role


@pytest.mark.parametrize("role", NARROW, ids=str)
def test_no_back_door_through_untagged_kpis(role: UserRole) -> None:
    """The issue's back doors: a member denied ROAS read blended ROAS, gross profit, cogs
    and the loyalty programme's ROI, none of which has a tier."""
    seen = readable(role)
    for kpi_id in ("blended_roas", "gross_profit", "cogs", "loyalty_program_roi"):
        assert kpi_id in UNTAGGED, kpi_id
        assert kpi_id not in seen, kpi_id
        with pytest.raises(KpiDenied, match=f'may not open KPI "{kpi_id}"'):
            check_kpi_visible(CATALOG, role, kpi_id)


@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_nothing_a_role_reads_is_computed_from_a_kpi_it_may_not(role: UserRole) -> None:
    seen = readable(role)
    assert seen
    for kpi_id in seen:
        assert set(INPUTS[kpi_id]) <= seen, (kpi_id, set(INPUTS[kpi_id]) - seen)


@pytest.mark.parametrize("role", NARROW, ids=str)
def test_an_untagged_kpi_is_read_only_as_the_companion_of_a_kpi_of_the_role(
    role: UserRole,
) -> None:
    seen = readable(role)
    companions = seen & UNTAGGED
    own = {k.id for k in CATALOG.kpis.values() if k.tiers and k.id in seen}
    assert companions == {kpi_id for kpi_id in UNTAGGED if any(kpi_id in below(k) for k in own)}


@pytest.mark.parametrize("role", ALL_ROLES, ids=str)
def test_a_kpi_of_the_role_s_tiers_is_hidden_only_for_a_hidden_input(role: UserRole) -> None:
    seen = readable(role)
    job = f"member:{role.member_role}"
    under_job = {i for k in CATALOG.kpis.values() if job in k.tiers for i in below(k.id)}
    for kpi in CATALOG.kpis.values():
        if kpi.tiers and not may_see_kpi(role, kpi.tiers):
            assert (kpi.id in seen) == (kpi.id in under_job), kpi.id
        if kpi.tiers and may_see_kpi(role, kpi.tiers) and kpi.id not in seen:
            assert below(kpi.id) - seen, kpi.id


def test_kpis_of_a_role_s_tiers_that_would_give_a_hidden_kpi_back() -> None:
    """What the rule takes from tiers the catalog gives (see docs/governance.md)."""
    # complaint ratio (CxO) with orders (CxO) gives complaints (lead, CS agents)
    assert "complaint_ratio" not in readable(parse_role("member:crm_loyalty"))
    assert "complaint_ratio" in readable(parse_role("member:cs_agent"))
    # cart abandonment (merchandisers) is 1 - basket-to-order rate (lead): the job's own
    # KPI brings its input, read but not listed on the job's dashboard
    merchandiser = parse_role("member:merchandiser")
    assert {"cart_abandonment_rate", "basket_to_order_rate"} <= readable(merchandiser)
    assert "basket_to_order_rate" not in {
        k.id for k in tier_kpis(CATALOG, merchandiser, "member:merchandiser")
    }
    assert "basket_to_order_rate" not in readable(parse_role("member:cs_agent"))
    # channel CTR (lead) with impressions (lead) gives clicks (performance marketers)
    assert "channel_ctr" not in readable(parse_role("bu_user"))
    assert "channel_ctr" in readable(parse_role("member:performance_marketer"))


def test_a_companion_is_read_by_the_roles_of_the_kpis_computed_from_it() -> None:
    marketer = readable(parse_role("member:performance_marketer"))
    assert {"roas", "cpc", "ad_spend"} <= marketer  # ROAS and CPC are ad spend's users
    assert "ad_spend" not in readable(parse_role("member:crm_marketer"))
    assert "ad_spend" not in readable(parse_role("bu_user"))


def test_a_tier_lists_only_the_kpis_the_role_reads() -> None:
    crm_loyalty = parse_role("member:crm_loyalty")
    cxo = {k.id for k in tier_kpis(CATALOG, crm_loyalty, "cxo")}
    assert cxo == {k.id for k in CATALOG.select(tier="cxo")} - {"complaint_ratio"}
    assert "complaint_ratio" in {k.id for k in tier_kpis(CATALOG, parse_role("admin"), "cxo")}


def test_a_member_reads_the_company_kpis_and_their_own() -> None:
    role = parse_role("member:cs_agent")
    seen = readable(role)
    assert {k.id for k in CATALOG.select(tier="member:cs_agent")} <= seen
    assert {k.id for k in CATALOG.select(tier="cxo")} <= seen
    assert "impressions" not in seen  # lead and performance marketer
    with pytest.raises(KpiDenied):
        check_kpi_visible(CATALOG, role, "impressions")
    assert check_kpi_visible(CATALOG, role, "backlog").id == "backlog"


def test_business_unit_users_see_no_member_tier() -> None:
    role = parse_role("bu_user")
    assert [t for t in tiers_of(CATALOG) if t.startswith("member:")]
    for tier in tiers_of(CATALOG):
        if tier.startswith("member:"):
            with pytest.raises(KpiDenied):
                tier_kpis(CATALOG, role, tier)
    only_member = [
        k
        for k in CATALOG.kpis.values()
        if k.tiers and all(t.startswith("member:") for t in k.tiers)
    ]
    assert only_member
    assert not any(k in visible_kpis(CATALOG, role) for k in only_member)


def test_each_role_has_a_default_tier_it_may_open() -> None:
    for role in ALL_ROLES:
        tier = default_tier(role)
        assert tier_kpis(CATALOG, role, tier), str(role)
    assert default_tier(parse_role("member:logistics")) == "member:logistics"
    assert default_tier(parse_role("team_lead")) == "lead"
    assert default_tier(parse_role("executive")) == "cxo"
