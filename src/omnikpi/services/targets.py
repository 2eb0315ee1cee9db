"""KPI targets: import a plan from CSV, list what the warehouse holds."""

from __future__ import annotations

from pathlib import Path

from omnikpi.kpi import Catalog
from omnikpi.kpi.targets import TARGETS, import_targets, read_targets
from omnikpi.services.warehouse import read_warehouse, write_warehouse
from omnikpi.settings import Settings

#: The columns `list_targets` returns.
TARGET_COLUMNS = TARGETS.column_names


def import_target_file(settings: Settings, catalog: Catalog, path: Path) -> int:
    """Import the targets of a CSV file (kpi, grain, period_start, target [, dimension]
    [, tolerance]); a target of the same KPI, grain, period and dimension is replaced.
    Every row is checked first (a target outside its KPI's bounds is a DataError naming the
    row), so a bad file imports nothing. Returns the number of targets imported."""
    rows = read_targets(path, catalog)
    with write_warehouse(settings) as warehouse:
        return import_targets(warehouse, rows)


def list_targets(settings: Settings, kpi: str | None = None) -> list[dict[str, object]]:
    """The targets in the warehouse (of one KPI), by KPI, grain, period and dimension."""
    with read_warehouse(settings) as warehouse:
        if not warehouse.has_table(TARGETS.name):
            return []
        frame = warehouse.fetch_frame(
            "SELECT * FROM kpi_targets"
            + (" WHERE kpi = ?" if kpi else "")
            + " ORDER BY kpi, grain, period_start, dimension",
            [kpi] if kpi else [],
        )
    return [
        {str(k): (str(v) if k == "period_start" else v) for k, v in record.items()}
        for record in frame.to_dict("records")
    ]
