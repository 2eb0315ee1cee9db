"""Which KPIs a role may open: the permission table's tiers applied to the catalog.

`omnikpi.auth.TIERS` says which tiers (`cxo`, `lead`, `member:<job>`) each role may open;
KPIs without a tier are open to every role. Pages, the API and CSV downloads all ask here.
"""

from __future__ import annotations

from omnikpi.auth import Role, UserRole, may_see_kpi, may_see_tier
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Catalog, KpiSpec
from omnikpi.services.errors import KpiDenied


def visible_kpis(catalog: Catalog, role: UserRole) -> list[KpiSpec]:
    """Every KPI `role` may open, in catalog (shopping-stage) order."""
    return [kpi for kpi in catalog.kpis.values() if may_see_kpi(role, kpi.tiers)]


def check_kpi_visible(catalog: Catalog, role: UserRole, kpi_id: str) -> KpiSpec:
    """The KPI `kpi_id` if `role` may open it; NotFound if unknown, KpiDenied if not allowed."""
    kpi = catalog.get(kpi_id)
    if not may_see_kpi(role, kpi.tiers):
        raise KpiDenied(role, kpi_id=kpi_id)
    return kpi


def tiers_of(catalog: Catalog) -> list[str]:
    """Every tier the catalog uses: cxo, lead, then the member tiers."""
    found = {tier for kpi in catalog.kpis.values() for tier in kpi.tiers}
    return sorted(found, key=lambda tier: (tier.startswith("member:"), tier != "cxo", tier))


def default_tier(role: UserRole) -> str:
    """The tier a role's dashboard shows: members their own, leads `lead`, others `cxo`."""
    if role.member_role is not None:
        return f"member:{role.member_role}"
    return "lead" if role.role is Role.TEAM_LEAD else "cxo"


def tier_kpis(catalog: Catalog, role: UserRole, tier: str) -> list[KpiSpec]:
    """The KPIs of `tier`, if `role` may open it (ConfigError for an unknown tier)."""
    choices = tiers_of(catalog)
    if tier not in choices:
        raise InvalidChoice("tier", tier, ", ".join(choices))
    if not may_see_tier(role, tier):
        raise KpiDenied(role, tier=tier)
    return catalog.select(tier=tier)
