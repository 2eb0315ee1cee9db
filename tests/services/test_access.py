"""Who sees which KPIs: the permission table's tiers applied to the catalog."""

from __future__ import annotations

import pytest

from omnikpi.auth import ALL_ROLES, parse_role
from omnikpi.kpi import load_catalog
from omnikpi.services import (
    KpiDenied,
    check_kpi_visible,
    default_tier,
    tier_kpis,
    tiers_of,
    visible_kpis,
)

CATALOG = load_catalog()
UNTAGGED = {k.id for k in CATALOG.kpis.values() if not k.tiers}


def test_analysts_and_admins_see_every_kpi() -> None:
    for role in ("analyst", "admin", "executive", "team_lead"):
        assert len(visible_kpis(CATALOG, parse_role(role))) == 147


def test_a_member_sees_the_company_kpis_their_roles_and_the_untagged_ones() -> None:
    role = parse_role("member:cs_agent")
    own = {k.id for k in CATALOG.select(tier="member:cs_agent")}
    cxo = {k.id for k in CATALOG.select(tier="cxo")}
    visible = {k.id for k in visible_kpis(CATALOG, role)}
    assert visible == own | cxo | UNTAGGED | {
        k.id for k in CATALOG.kpis.values() if k.id in own | cxo
    }
    assert "impressions" not in visible  # lead and performance marketer
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
