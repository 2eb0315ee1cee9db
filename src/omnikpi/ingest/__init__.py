"""Ingestion: mapped files, presets of known exports, PostgreSQL, the event collector.

Every source goes through one path (`pipeline.run_load`): read into DuckDB, convert and
check each canonical table as the mapping says (bad rows to quarantine), then upsert the
good rows in one transaction and record the batch in load_log.

The names below are imported on first use (PEP 562): loading a file does not import the
collector's web framework, nor reading PostgreSQL its driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnikpi.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from omnikpi.ingest.collector import (
        Collector,
        CollectorLimits,
        create_collector_app,
        run_collector,
    )
    from omnikpi.ingest.coverage import MissingSource
    from omnikpi.ingest.events import BatchRejected, CollectedEvent
    from omnikpi.ingest.files import assign_files, ingest_files, ingest_preset
    from omnikpi.ingest.infer import infer_mapping
    from omnikpi.ingest.load import INGEST_TABLES, LOAD_LOG, TableLoad
    from omnikpi.ingest.mapping import Mapping, load_mapping, parse_mapping
    from omnikpi.ingest.pipeline import LoadOptions, LoadSummary
    from omnikpi.ingest.postgres import ingest_postgres
    from omnikpi.ingest.presets import load_preset, preset_names
    from omnikpi.ingest.quarantine import QUARANTINE, Problem, ReasonCount
    from omnikpi.ingest.status import quarantine_counts, recent_loads

#: The module each exported name is imported from.
_MODULES: dict[str, tuple[str, ...]] = {
    "omnikpi.ingest.collector": (
        "Collector",
        "CollectorLimits",
        "create_collector_app",
        "run_collector",
    ),
    "omnikpi.ingest.coverage": ("MissingSource",),
    "omnikpi.ingest.events": ("BatchRejected", "CollectedEvent"),
    "omnikpi.ingest.files": ("assign_files", "ingest_files", "ingest_preset"),
    "omnikpi.ingest.infer": ("infer_mapping",),
    "omnikpi.ingest.load": ("INGEST_TABLES", "LOAD_LOG", "TableLoad"),
    "omnikpi.ingest.mapping": ("Mapping", "load_mapping", "parse_mapping"),
    "omnikpi.ingest.pipeline": ("LoadOptions", "LoadSummary"),
    "omnikpi.ingest.postgres": ("ingest_postgres",),
    "omnikpi.ingest.presets": ("load_preset", "preset_names"),
    "omnikpi.ingest.quarantine": ("QUARANTINE", "Problem", "ReasonCount"),
    "omnikpi.ingest.status": ("quarantine_counts", "recent_loads"),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _MODULES)


__all__ = [
    "INGEST_TABLES",
    "LOAD_LOG",
    "QUARANTINE",
    "BatchRejected",
    "CollectedEvent",
    "Collector",
    "CollectorLimits",
    "LoadOptions",
    "LoadSummary",
    "Mapping",
    "MissingSource",
    "Problem",
    "ReasonCount",
    "TableLoad",
    "assign_files",
    "create_collector_app",
    "infer_mapping",
    "ingest_files",
    "ingest_postgres",
    "ingest_preset",
    "load_mapping",
    "load_preset",
    "parse_mapping",
    "preset_names",
    "quarantine_counts",
    "recent_loads",
    "run_collector",
]
