"""KPI catalog and engine: declared KPIs compiled through Ibis, queried by grain, dimension,
comparison and target, on DuckDB or Spark."""

from omnikpi.kpi.catalog import Catalog, load_catalog
from omnikpi.kpi.engine import KpiQuery, query
from omnikpi.kpi.periods import Grain
from omnikpi.kpi.sources import kpi_tables, kpis_reading
from omnikpi.kpi.spec import KpiSpec

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
