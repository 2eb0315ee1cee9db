"""Rebuilding the KPI rollups that dashboards read (`omnikpi kpi refresh`)."""

from __future__ import annotations

from datetime import date

from omnikpi.kpi import Catalog
from omnikpi.kpi.rollups import Progress, RollupReport, refresh_rollups
from omnikpi.services.warehouse import write_warehouse
from omnikpi.settings import Settings


def rebuild_rollups(
    settings: Settings,
    catalog: Catalog,
    since: date | None = None,
    progress: Progress | None = None,
) -> RollupReport:
    """Rebuild every atom's rollups from `since` (all history when None)."""
    with write_warehouse(settings) as warehouse:
        return refresh_rollups(warehouse, catalog, since, progress)
