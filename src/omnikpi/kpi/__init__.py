"""KPI catalog and engine: declared KPIs compiled through Ibis, queried by grain, dimension,
comparison and target, on DuckDB or Spark.

The names below are imported on first use (PEP 562): `omnikpi.kpi.request` or
`omnikpi.kpi.spec` can be imported without the engine and Ibis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """An exported name, imported from its module on first use."""
        if name not in _EXPORTS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value


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
