"""KPI catalog and engine: declared KPIs compiled through Ibis, queried by grain, dimension,
comparison and target, on DuckDB or Spark.

The names below are imported on first use (PEP 562): `omnikpi.kpi.request` or
`omnikpi.kpi.spec` can be imported without the engine and Ibis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnikpi.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from omnikpi.kpi.catalog import Catalog, load_catalog
    from omnikpi.kpi.engine import KpiQuery, query
    from omnikpi.kpi.periods import Grain
    from omnikpi.kpi.sources import kpi_tables, kpis_reading
    from omnikpi.kpi.spec import KpiSpec

#: The module each exported name is imported from.
_MODULES: dict[str, tuple[str, ...]] = {
    "omnikpi.kpi.catalog": ("Catalog", "load_catalog"),
    "omnikpi.kpi.engine": ("KpiQuery", "query"),
    "omnikpi.kpi.periods": ("Grain",),
    "omnikpi.kpi.sources": ("kpi_tables", "kpis_reading"),
    "omnikpi.kpi.spec": ("KpiSpec",),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _MODULES)


__all__ = [
    "Catalog",
    "Grain",
    "KpiQuery",
    "KpiSpec",
    "kpi_tables",
    "kpis_reading",
    "load_catalog",
    "query",
]
