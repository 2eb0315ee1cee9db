"""What a KPI means and how it is computed — `omnikpi kpi show` and the KPI detail page —
and the catalog listed by tier and stage (`omnikpi kpi list`)."""

from __future__ import annotations

from datetime import date

from omnikpi.errors import InvalidChoice
from omnikpi.kpi import Catalog, KpiSpec
from omnikpi.kpi.explain import Explanation, explain
from omnikpi.kpi.spec import STAGES
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Tables


def kpi_definition(
    catalog: Catalog, kpi_id: str, tables: Tables | None = None, today: date | None = None
) -> Explanation:
    """Definition, formula, dimensions and the SQL of `kpi_id` for the month of `today`
    (compiled against `tables`, else an empty warehouse)."""
    return explain(catalog, kpi_id, tables, today=today)


def describe_kpi(settings: Settings, catalog: Catalog, kpi_id: str) -> Explanation:
    """`kpi_definition` on the settings' warehouse when there is one."""
    catalog.get(kpi_id)
    if not settings.warehouse.exists():
        return kpi_definition(catalog, kpi_id)
    with read_warehouse(settings) as warehouse:
        return kpi_definition(catalog, kpi_id, warehouse)


def list_kpis(catalog: Catalog, tier: str | None = None, stage: str | None = None) -> list[KpiSpec]:
    """The KPIs of the catalog, optionally of one tier (cxo, lead, member:ROLE) or stage."""
    if stage is not None and stage not in STAGES:
        raise InvalidChoice("stage", stage, ", ".join(STAGES))
    if tier is not None:
        tiers = sorted({t for k in catalog.kpis.values() for t in k.tiers})
        if tier not in tiers:
            raise InvalidChoice("tier", tier, ", ".join(tiers))
    return catalog.select(tier=tier, stage=stage)
