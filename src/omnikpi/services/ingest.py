"""Loads through the service layer: run a load, then refresh what depends on the tables it
changed (KPI rollups) with the caller's own catalog, and say which KPIs a load leaves
without data.

Ingestion itself knows nothing of KPIs: a load records the tables it changed in the
warehouse, in its own transaction, and names the tables an optional file it lacked
would have filled; `refresh_changed` rebuilds what reads the changed tables and
`kpis_reading` names the KPIs that count rows of the empty ones.

    >>> ingest_preset(settings, "olist", [Path("olist/")], LoadOptions())  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnikpi.errors import RefreshFailed
from omnikpi.ingest.coverage import MissingSource
from omnikpi.ingest.files import ingest_files as load_files
from omnikpi.ingest.files import ingest_preset as load_preset_files
from omnikpi.ingest.infer import infer_mapping
from omnikpi.ingest.pipeline import LoadOptions, LoadSummary
from omnikpi.ingest.status import quarantine_counts, recent_loads
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import writing

if TYPE_CHECKING:  # the KPI engine is imported when a load changed tables, not before
    from omnikpi.kpi import Catalog
    from omnikpi.kpi.rollups import RollupReport

__all__ = [
    "IngestResult",
    "LoadOptions",
    "LoadStatus",
    "LoadSummary",
    "MissingSource",
    "infer_mapping",
    "ingest_files",
    "ingest_postgres",
    "ingest_preset",
    "load_status",
    "refresh_changed",
    "run_collector",
]


@dataclass(frozen=True)
class IngestResult:
    """A load, the rollup refresh that followed it (None: the load changed no table), and per
    optional source the load lacked, the KPIs that count rows of the tables it left empty
    (they show no data)."""

    summary: LoadSummary
    rollups: RollupReport | None
    kpis_without_data: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Why the rollup refresh after the load failed (the data stays loaded; the KPIs of
    #: the changed tables are computed directly until a refresh succeeds).
    refresh_error: str | None = None


@dataclass(frozen=True)
class LoadStatus:
    """What `omnikpi ingest status` shows: recent loads (each with its per-table report),
    quarantined values per source, table, column and reason, and the zone of the times."""

    loads: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    time_zone: str


def refresh_changed(settings: Settings, catalog: Catalog | None = None) -> RollupReport | None:
    """Rebuild the KPI rollups of every table changed since their last refresh, with the
    settings' catalog (packaged plus `--catalog` / OMNIKPI_CATALOG folders), and the
    customer profiles where the warehouse keeps them; the loyalty effects and the
    attributed revenue first, as the rollups read them."""
    from omnikpi.kpi import load_catalog
    from omnikpi.kpi.rollups import refresh_changes
    from omnikpi.services.attributed_revenue import write_attributed_revenue_after
    from omnikpi.services.clv import rescore_after_change
    from omnikpi.services.customers import refresh_profiles_after_change
    from omnikpi.services.loyalty import write_loyalty_effects_after

    if not settings.warehouse.exists():
        return None
    chosen = catalog or load_catalog(settings.catalog_dirs)
    # Rollups keep the warehouse's own local dates: no time-zone override here. One write
    # at a time in this process (a server's collector flushes and handed-over loads).
    with writing(settings.warehouse), Warehouse.open(settings.warehouse) as warehouse:
        changed = set(warehouse.changed_tables())
        write_loyalty_effects_after(warehouse, changed)
        write_attributed_revenue_after(warehouse, changed)
        rescore_after_change(warehouse, changed)
        try:
            report = refresh_changes(warehouse, chosen)
        finally:  # even when the rollups fail: a forgotten customer leaves the profiles
            refresh_profiles_after_change(warehouse, settings, changed)
        return report


def _finish(settings: Settings, summary: LoadSummary) -> IngestResult:
    """The load's result; the KPI engine is imported only for a load that changed tables
    (their rollups are refreshed) or lacked an optional file (the KPIs without data)."""
    refresh = summary.status == "loaded" and bool(summary.changed)
    if not refresh and not any(m.tables for m in summary.missing):
        return IngestResult(summary, None)
    from omnikpi.kpi import kpis_reading, load_catalog

    catalog = load_catalog(settings.catalog_dirs)
    without = {
        missing.source: tuple(kpis_reading(catalog, set(missing.tables)))
        for missing in summary.missing
        if missing.tables
    }
    try:
        rollups = refresh_changed(settings, catalog) if refresh else None
    except RefreshFailed as exc:
        return IngestResult(summary, None, without, refresh_error=str(exc))
    return IngestResult(summary, rollups, without)


def _allowed(settings: Settings, options: LoadOptions) -> LoadOptions:
    """`options` with the sources an admin allowed to keep personal identifiers in clear."""
    from omnikpi.services.identifiers import with_allowances

    return with_allowances(settings, options)


def ingest_files(
    settings: Settings, mapping: Path, files: Sequence[Path], options: LoadOptions
) -> IngestResult:
    """Load `files` with the mapping file `mapping`, then refresh rollups."""
    with writing(settings.warehouse):
        summary = load_files(settings, mapping, files, _allowed(settings, options))
    return _finish(settings, summary)


def ingest_preset(
    settings: Settings, preset: str, paths: Sequence[Path], options: LoadOptions
) -> IngestResult:
    """Load the files (or folders) of a well-known export, then refresh rollups."""
    with writing(settings.warehouse):
        summary = load_preset_files(settings, preset, paths, _allowed(settings, options))
    return _finish(settings, summary)


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
    from omnikpi.ingest.postgres import ingest_postgres as load_postgres

    with writing(settings.warehouse):
        summary = load_postgres(
            settings,
            dsn,
            mapping,
            table=table,
            query=query,
            batch_size=batch_size,
            options=_allowed(settings, options),
        )
    return _finish(settings, summary)


def load_status(settings: Settings, limit: int = 20) -> LoadStatus:
    """The latest `limit` loads and what is in quarantine."""
    with Warehouse.open(settings.warehouse, read_only=True, overrides=settings.overrides) as wh:
        return LoadStatus(recent_loads(wh, limit), quarantine_counts(wh), wh.time_zone)


def run_collector(
    settings: Settings, *, host: str, port: int, spool: Path | None, flush_seconds: float
) -> None:
    """Serve the event collector; after each flush that changed tables, refresh rollups."""
    from omnikpi.ingest.collector import run_collector as serve_collector

    def refresh(summary: LoadSummary) -> None:
        if summary.changed:
            try:
                refresh_changed(settings)
            except RefreshFailed as exc:  # recorded; data status and the next load show it
                logging.getLogger("omnikpi.collector").warning("%s", exc)

    serve_collector(
        settings, host=host, port=port, spool=spool, flush_seconds=flush_seconds, on_load=refresh
    )
