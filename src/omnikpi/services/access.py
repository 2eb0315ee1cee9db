"""Which KPIs a role may read: the permission table's rule applied to the catalog.

`omnikpi.auth.permissions.visible_kpi_ids` is the rule (tiers, `UNTAGGED_KPI_ROLES`,
companions and formulas); here it meets the catalog. Every route that serves KPI values
asks here: pages, the API, CSV and Excel downloads, scorecards, the catalog explorer and
the KPI detail (its breakdown's numerator and denominator included).
"""

from __future__ import annotations

from collections.abc import Mapping

from omnikpi.auth import Role, UserRole, may_see_tier
from omnikpi.auth.permissions import visible_kpi_ids
from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Catalog, KpiSpec
from omnikpi.kpi.catalog import iter_measures, measure_references
from omnikpi.services.errors import KpiDenied

#: The inputs of each catalog seen, by the catalog's identity (a catalog is frozen and
#: `load_catalog` hands out the same one, so this holds a few entries at most).
_INPUTS: dict[int, tuple[Catalog, Mapping[str, tuple[str, ...]]]] = {}


def kpi_inputs(catalog: Catalog) -> Mapping[str, tuple[str, ...]]:
    """The KPIs each KPI is computed from directly (gross_profit: cogs, revenue).

    >>> kpi_inputs(load_catalog())["gross_profit"]  # doctest: +SKIP
    ('cogs', 'revenue')
    """
    kept = _INPUTS.get(id(catalog))
    if kept is not None and kept[0] is catalog:
        return kept[1]
    inputs = {
        kpi.id: tuple(
            sorted({ref for m in iter_measures(kpi.measure) for ref in measure_references(m)})
        )
        for kpi in catalog.kpis.values()
    }
    if len(_INPUTS) >= 8:
        _INPUTS.clear()
    _INPUTS[id(catalog)] = (catalog, inputs)
    return inputs


#: The KPIs each role may read, by the catalog's identity and the role (a page asks
#: several times per request; a catalog is frozen).
_VISIBLE: dict[tuple[int, UserRole], tuple[Catalog, frozenset[str]]] = {}


def visible_ids(catalog: Catalog, role: UserRole) -> frozenset[str]:
    """The ids of every KPI `role` may read (see `omnikpi.auth.permissions`)."""
    kept = _VISIBLE.get((id(catalog), role))
    if kept is not None and kept[0] is catalog:
        return kept[1]
    tiers = {kpi.id: kpi.tiers for kpi in catalog.kpis.values()}
    visible = visible_kpi_ids(role, tiers, kpi_inputs(catalog))
    if len(_VISIBLE) >= 256:
        _VISIBLE.clear()
    _VISIBLE[(id(catalog), role)] = (catalog, visible)
    return visible


def visible_kpis(catalog: Catalog, role: UserRole) -> list[KpiSpec]:
    """Every KPI `role` may read, in catalog (shopping-stage) order."""
    visible = visible_ids(catalog, role)
    return [kpi for kpi in catalog.kpis.values() if kpi.id in visible]


def check_kpi_visible(catalog: Catalog, role: UserRole, kpi_id: str) -> KpiSpec:
    """The KPI `kpi_id` if `role` may read it; NotFound if unknown, KpiDenied if not allowed."""
    kpi = catalog.get(kpi_id)
    if kpi_id not in visible_ids(catalog, role):
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
    """The KPIs of `tier` that `role` may read, if it may open the tier (InvalidChoice for
    an unknown tier, KpiDenied for a tier not its own). A KPI of the tier computed from
    one the role may not read is left out (a member's CxO scorecard has no complaint
    ratio: with orders it gives complaints back)."""
    choices = tiers_of(catalog)
    if tier not in choices:
        raise InvalidChoice("tier", tier, ", ".join(choices))
    if not may_see_tier(role, tier):
        raise KpiDenied(role, tier=tier)
    visible = visible_ids(catalog, role)
    return [kpi for kpi in catalog.select(tier=tier) if kpi.id in visible]
