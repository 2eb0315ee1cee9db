"""Ingestion: mapped files, presets of known exports, PostgreSQL, the event collector.

Every source goes through one path (`pipeline.run_load`): read into DuckDB, stage each
canonical table as the mapping says, validate (bad rows to quarantine), then upsert in
one transaction and record the batch in load_log.
"""

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
