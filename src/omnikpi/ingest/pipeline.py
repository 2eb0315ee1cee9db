"""One load, start to end: read sources, stage and validate each table, then load atomically.

`run_load` is the single path every source takes (mapped files, presets, PostgreSQL, the
event collector); the callers only differ in how they read their sources.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import duckdb

from omnikpi.errors import ConfigError
from omnikpi.ingest.coverage import MissingSource, missing_sources
from omnikpi.ingest.expressions import Context, plan_stage
from omnikpi.ingest.identifiers import (
    PersonalColumn,
    RawAllowance,
    check_identifiers,
    kept_note,
    source_name,
)
from omnikpi.ingest.load import TableLoad, ensure_ingest_tables, record_load, upsert
from omnikpi.ingest.macros import create_macros
from omnikpi.ingest.mapping import Mapping, PresetMapping, TableMapping
from omnikpi.ingest.mapping_checks import check_hash_key
from omnikpi.ingest.quarantine import (
    Problem,
    ReasonCount,
    problem_rows,
    reason_counts,
    replace_quarantine,
    sample_problems,
)
from omnikpi.ingest.readers import SourceTable, source_table, staged_with_rejects
from omnikpi.ingest.source_settings import (
    differences,
    read_source_settings,
    settings_for_empty,
)
from omnikpi.ingest.sql import ident, reset_view_values
from omnikpi.ingest.validate import (
    References,
    ValidatedTable,
    create_problems,
    discard_problems,
    validate_stage,
)
from omnikpi.model import TABLES, Table
from omnikpi.warehouse import Warehouse

ReadSources = Callable[[Warehouse, Path], dict[str, SourceTable]]
_TEMP_PREFIXES = (
    "_src_",
    "_view_",
    "_stage_",
    "_good_",
    "_quarantined_",
    "_merged_",
    "_changed_",
    "_problems",
)


@dataclass(frozen=True)
class LoadOptions:
    """How to run a load; `now` is the clock for "not in the future" (default: real time)."""

    dry_run: bool = False
    max_error_rate: float = 0.05
    now: datetime | None = None
    references: References = "all"
    hash_key: str | None = None
    sample_size: int = 10
    #: Sources whose personal identifiers an admin allowed to be stored raw
    #: (`omnikpi.services.identifiers`); every other such column refuses the load.
    allowed_identifiers: tuple[RawAllowance, ...] = ()


@dataclass(frozen=True)
class LoadSummary:
    """The outcome of one load, as printed by `omnikpi ingest` and kept in load_log.

    `source_settings` are the data settings the source carries; `new_settings` those it
    gives an empty warehouse (stored unless the load is a dry run or rejected);
    `settings_notes` say how they were found or where they differ from the warehouse's;
    `notes` name the files that had a header but no rows.
    """

    batch_id: str
    source: str
    checksum: str
    status: str
    rows_read: int
    rows_quarantined: int
    max_error_rate: float
    duration_seconds: float
    tables: dict[str, TableLoad] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    source_settings: dict[str, str] = field(default_factory=dict)
    new_settings: dict[str, str] = field(default_factory=dict)
    settings_notes: tuple[str, ...] = ()
    missing: tuple[MissingSource, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float:
        """Share of the rows read that had a problem."""
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def too_many_errors(self) -> bool:
        """Whether the error rate is above the load's limit."""
        return self.error_rate > self.max_error_rate

    @property
    def changed(self) -> dict[str, date | None]:
        """Tables whose rows changed, with the earliest local date touched."""
        return {name: t.earliest for name, t in self.tables.items() if t.changed}

    @property
    def stored_settings(self) -> dict[str, str]:
        """The data settings this load stored in the warehouse."""
        return dict(self.new_settings) if self.status == "loaded" else {}


def run_load(
    warehouse: Warehouse,
    mapping: Mapping,
    read_sources: ReadSources,
    *,
    label: str,
    checksum: Callable[[], str],
    options: LoadOptions,
) -> LoadSummary:
    """Read, validate and (unless a dry run or too many errors) load into `warehouse`.

    The changed tables are recorded in the warehouse in the load's transaction
    (`Warehouse.changed_tables`); refreshing what depends on them is the caller's part.
    The first load into an empty warehouse stores the source's data settings with it.
    """
    check_hash_key(mapping, options.hash_key)  # before any file is read
    started = time.perf_counter()
    now = options.now or datetime.now(UTC)
    batch_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    warehouse.run_sql("SET enable_progress_bar = false")  # the CLI shows its own progress
    try:
        with tempfile.TemporaryDirectory(prefix="omnikpi-ingest-") as workdir:
            sources = read_sources(warehouse, Path(workdir))
            _materialize_views(warehouse, mapping)
            settings = read_source_settings(warehouse, mapping)
            new_settings = settings_for_empty(warehouse, settings)
            # Local dates of this load (the earliest day changed, dates of zoned times)
            # are the warehouse's: the source's own when this load gives them to it.
            zone = warehouse.overrides.get("time_zone") or new_settings.get(
                "time_zone", warehouse.time_zone
            )
            kept: dict[str, PersonalColumn] = {}
            validated, tables = _validate(warehouse, mapping, sources, now, options, zone, kept)
        rows_read = sum(source.rows + source.rejected_rows for source in sources.values())
        summary = LoadSummary(
            batch_id=batch_id,
            source=label,
            checksum=checksum(),
            status="dry_run" if options.dry_run else "loaded",
            rows_read=rows_read,
            rows_quarantined=problem_rows(warehouse),
            max_error_rate=options.max_error_rate,
            duration_seconds=0.0,
            tables=tables,
            problems=tuple(sample_problems(warehouse, options.sample_size)),
            source_settings=dict(settings.values),
            new_settings=new_settings,
            settings_notes=settings.notes + differences(settings, new_settings, warehouse.settings),
            missing=missing_sources(mapping, sources, {v.table.name: v.staged for v in validated}),
            notes=tuple(
                f"{source.label}: no rows, only a header (nothing to load from it)"
                for source in sources.values()
                if source.files and not (source.rows or source.rejected_rows or source.missing)
            )
            + ((kept_note(source_name(mapping), list(kept.values())),) if kept else ()),
        )
        if summary.error_rate > options.max_error_rate and not options.dry_run:
            summary = replace(summary, status="rejected")
        if not options.dry_run:
            summary = _commit(warehouse, mapping, validated, sources, summary, now, started, zone)
    finally:
        _drop_temporary(warehouse)
    duration = time.perf_counter() - started
    return replace(summary, duration_seconds=duration)


def _materialize_views(warehouse: Warehouse, mapping: Mapping) -> None:
    """The preset's views over the sources (and the macros they use), each evaluated once
    into a temporary table: the views and tables built on it, the row counts and the
    checks read it many times."""
    views = mapping.views if isinstance(mapping, PresetMapping) else {}
    if views:
        create_macros(warehouse)
    for name, sql in views.items():
        warehouse.run_sql(f"CREATE OR REPLACE TEMP TABLE {ident('_view_' + name)} AS {sql}")


def _validate(
    warehouse: Warehouse,
    mapping: Mapping,
    sources: dict[str, SourceTable],
    now: datetime,
    options: LoadOptions,
    time_zone: str,
    kept: dict[str, PersonalColumn],
) -> tuple[list[ValidatedTable], dict[str, TableLoad]]:
    """Stage and check every mapped table; what each table would load, and why not.

    A source read when its table is staged gets its row count in `sources` then; the
    personal columns an admin allowed raw are added to `kept` (others refuse the load).
    """
    views = mapping.views if isinstance(mapping, PresetMapping) else {}
    context = Context(mapping=mapping, time_zone=time_zone, hash_key=options.hash_key)
    create_problems(warehouse)
    validated: list[ValidatedTable] = []
    left_out: dict[str, list[ReasonCount]] = {}
    for table in TABLES:
        spec = mapping.tables.get(table.name)
        if spec is None:
            continue
        name = spec.source or next(iter(sources))
        if name in views:
            source = source_table(warehouse, name, f"_view_{name}", ())
            read = _sources_of_view(views, name) & set(sources)
            rejected = tuple(r for s in sorted(read) for r in sources[s].rejected)
            source = replace(source, rejected=rejected)
        elif name in sources:
            source = sources[name]
        else:
            where = mapping.where("tables", table.name)
            raise ConfigError(f'{where}: no input for "{name}"')
        done = [v.table.name for v in validated]
        validate = partial(
            _stage_and_check, warehouse, table, spec, context, now, options, done, kept
        )
        if source.read_when_staged is None:
            v = validate(source)
        else:
            v, source = _validate_in_place(warehouse, table.name, source, validate)
            sources[name] = replace(source, rows=v.staged) if source.read_when_staged else source
        validated.append(v)
        reasons = left_out.setdefault(table.name, [])
        if spec.filter is not None and source.rows > v.staged:
            reason = spec.filter.set_aside_reason
            reasons.append(
                ReasonCount("set_aside", spec.filter.column, reason, source.rows - v.staged)
            )
        if v.merged:
            reason = f"has the key of another row (duplicates: {spec.duplicates} keeps one)"
            reasons.append(ReasonCount("merged", "", reason, v.merged))
    counted = reason_counts(warehouse)
    tables = {}
    for v in validated:
        name = v.table.name
        filtered = sum(r.rows for r in left_out[name] if r.outcome == "set_aside")
        tables[name] = TableLoad(
            name,
            source_rows=v.staged + filtered + v.rejected,
            quarantined=v.problem_rows,
            merged=v.merged,
            set_aside=v.set_aside + filtered,
            reasons=tuple(sorted((*counted.get(name, ()), *left_out[name]), key=_by_rows)),
        )
    return validated, tables


def _stage_and_check(
    warehouse: Warehouse,
    table: Table,
    spec: TableMapping,
    context: Context,
    now: datetime,
    options: LoadOptions,
    done: list[str],
    kept: dict[str, PersonalColumn],
    source: SourceTable,
) -> ValidatedTable:
    """Stage one table from `source` and run its checks (`done`: tables validated before),
    refusing personal identifiers in clear (`identifiers.py`)."""
    stage = plan_stage(table, spec, source, context)
    validated = validate_stage(warehouse, stage, spec.duplicates, now, options.references, done)
    for found in check_identifiers(warehouse, stage, context.mapping, options.allowed_identifiers):
        kept[found.target] = found
    return validated


def _validate_in_place(
    warehouse: Warehouse,
    table: str,
    source: SourceTable,
    validate: Callable[[SourceTable], ValidatedTable],
) -> tuple[ValidatedTable, SourceTable]:
    """Validate a table whose stage reads its file where it lies; a stage that meets an
    error or rows it cannot read is done again from the file read the usual way (which
    keeps such rows apart with their numbers, or names the error)."""
    try:
        validated = validate(source)
    except duckdb.Error:
        pass
    else:
        if not staged_with_rejects(warehouse, source):
            return validated, source
    assert source.reread is not None
    discard_problems(warehouse, table)
    source = source.reread()
    return validate(source), source


def _sources_of_view(views: dict[str, str], name: str) -> set[str]:
    """The sources a preset view reads (`_src_<name>`), through the views it reads."""
    sql = views[name]
    found = set(re.findall(r"\b_src_(\w+)", sql))
    for view in set(re.findall(r"\b_view_(\w+)", sql)) & set(views) - {name}:
        found |= _sources_of_view(views, view)
    return found


def _by_rows(reason: ReasonCount) -> tuple[int, str, str, str]:
    """Most frequent reasons first."""
    return (-reason.rows, reason.outcome, reason.column, reason.reason)


def _commit(
    warehouse: Warehouse,
    mapping: Mapping,
    validated: list[ValidatedTable],
    sources: dict[str, SourceTable],
    summary: LoadSummary,
    now: datetime,
    started: float,
    time_zone: str,
) -> LoadSummary:
    ensure_ingest_tables(warehouse)
    tables = dict(summary.tables)
    source_names = sorted({path.name for s in sources.values() for path in s.files} or sources)
    with warehouse.transaction():
        if summary.status == "loaded":
            for v in validated:
                keep = mapping.tables[v.table.name].existing == "keep"
                loaded = upsert(warehouse, v.table, v.good, time_zone=time_zone, keep_existing=keep)
                tables[v.table.name] = replace(
                    tables[v.table.name],
                    inserted=loaded.inserted,
                    updated=loaded.updated,
                    unchanged=loaded.unchanged,
                    earliest=loaded.earliest,
                )
            if summary.new_settings:
                warehouse.store_settings(summary.new_settings)
        replace_quarantine(warehouse, summary.batch_id, source_names, list(tables), now)
        record_load(
            warehouse,
            batch_id=summary.batch_id,
            source=summary.source,
            checksum=summary.checksum,
            status=summary.status,
            started_at=now,
            duration_seconds=time.perf_counter() - started,
            rows_read=summary.rows_read,
            rows_quarantined=summary.rows_quarantined,
            tables=tables,
        )
        result = replace(summary, tables=tables)
        # What depends on the changed tables (KPI rollups) is marked stale with the data.
        warehouse.mark_changed(result.changed, summary.batch_id)
    return result


def _drop_temporary(warehouse: Warehouse) -> None:
    """Drop this load's temporary tables and views (the warehouse may serve other loads)."""
    for kind, catalog in (("VIEW", "duckdb_views()"), ("TABLE", "duckdb_tables()")):
        names = warehouse.fetch_rows(f"SELECT {kind.lower()}_name FROM {catalog} WHERE temporary")
        for (name,) in names:
            if str(name).startswith(_TEMP_PREFIXES):
                warehouse.run_sql(f"DROP {kind} IF EXISTS temp.{ident(str(name))}")
    reset_view_values(warehouse)
