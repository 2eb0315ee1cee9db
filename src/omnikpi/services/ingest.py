"""Loads through the service layer: run a load, then refresh what depends on the tables it
changed (KPI rollups) with the caller's own catalog.

Ingestion itself knows nothing of KPIs: a load records the tables it changed in the
warehouse, in its own transaction; `refresh_changed` rebuilds what reads them.

    >>> ingest_preset(settings, "olist", [Path("olist/")], LoadOptions())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omnikpi.ingest import LoadOptions, LoadSummary
from omnikpi.ingest import ingest_files as load_files
from omnikpi.ingest import ingest_postgres as load_postgres
from omnikpi.ingest import ingest_preset as load_preset_files
from omnikpi.kpi import Catalog, load_catalog
from omnikpi.kpi.rollups import RollupReport, refresh_changes
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse


@dataclass(frozen=True)
class IngestResult:
    """A load and the rollup refresh that followed it (None: nothing to refresh)."""

    summary: LoadSummary
    rollups: RollupReport | None


def refresh_changed(settings: Settings, catalog: Catalog | None = None) -> RollupReport | None:
    """Rebuild the KPI rollups of every table changed since their last refresh, with the
    settings' catalog (packaged plus `--catalog` / OMNIKPI_CATALOG folders)."""
    if not settings.warehouse.exists():
        return None
    chosen = catalog or load_catalog(settings.catalog_dirs)
    with Warehouse.open(settings.warehouse, overrides=settings.overrides) as warehouse:
        return refresh_changes(warehouse, chosen)


def _finish(settings: Settings, summary: LoadSummary) -> IngestResult:
    rollups = refresh_changed(settings) if summary.status == "loaded" else None
    return IngestResult(summary, rollups)


def ingest_files(
    settings: Settings, mapping: Path, files: Sequence[Path], options: LoadOptions
) -> IngestResult:
    """Load `files` with the mapping file `mapping`, then refresh rollups."""
    return _finish(settings, load_files(settings, mapping, files, options))


def ingest_preset(
    settings: Settings, preset: str, paths: Sequence[Path], options: LoadOptions
) -> IngestResult:
    """Load the files (or folders) of a well-known export, then refresh rollups."""
    return _finish(settings, load_preset_files(settings, preset, paths, options))


def ingest_postgres(
    settings: Settings,
    dsn: str,
    mapping: Path,
    *,
    table: str | None,
    query: str | None,
    batch_size: int,
    options: LoadOptions,
) -> IngestResult:
    """Load a PostgreSQL table or query with a mapping, then refresh rollups."""
    summary = load_postgres(
        settings, dsn, mapping, table=table, query=query, batch_size=batch_size, options=options
    )
    return _finish(settings, summary)
