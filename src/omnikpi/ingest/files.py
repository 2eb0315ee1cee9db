"""Loading files: with a user's mapping or a preset, into the configured warehouse."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from omnikpi.errors import ConfigError
from omnikpi.ingest.mapping import Mapping, PresetMapping, TableMapping, load_mapping
from omnikpi.ingest.pipeline import LoadOptions, LoadSummary, run_load
from omnikpi.ingest.presets import load_preset
from omnikpi.ingest.readers import SourceTable, empty_source, read_files, refuse_empty
from omnikpi.model import TABLES
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

#: Name of the one source of a mapping that declares no `sources:`.
SINGLE_SOURCE = "input"


def ingest_files(
    settings: Settings, mapping: Mapping | Path, files: Sequence[Path], options: LoadOptions
) -> LoadSummary:
    """Load `files` as `mapping` (a Mapping or the path of a mapping file) says."""
    if isinstance(mapping, Path):
        mapping = load_mapping(mapping)
    if not files:
        raise ConfigError("no files to load (name them after the options)")
    return _load(settings, mapping, assign_files(mapping, files), options)


def ingest_preset(
    settings: Settings, name: str, paths: Sequence[Path], options: LoadOptions
) -> LoadSummary:
    """Load the files (or folders of files) of a well-known export with preset `name`."""
    preset = load_preset(name)
    return _load(settings, preset, assign_files(preset, paths), options)


def assign_files(mapping: Mapping, paths: Sequence[Path]) -> dict[str, list[Path]]:
    """Files per source of the mapping; folders are searched for the declared file names."""
    if not mapping.sources:
        files = [f for p in paths for f in _expand(p)]
        return {SINGLE_SOURCE: files}
    origin = mapping.name or "mapping"
    candidates = [f for p in paths for f in _expand(p)]
    assigned: dict[str, list[Path]] = {}
    for name, spec in mapping.sources.items():
        matches = [f for f in candidates if _matches(f, spec.files)]
        if not matches and spec.required:
            raise ConfigError(
                f"{origin}: no file for source {name} (expected a file named "
                f"{' or '.join(spec.files)} among {', '.join(str(p) for p in paths)})"
            )
        if matches:
            assigned[name] = matches
    expected = [g for spec in mapping.sources.values() for g in spec.files]
    for path in paths:
        if path.is_file() and not _matches(path, expected):
            raise ConfigError(
                f"{origin}: {path.name} is not one of its files (expected {', '.join(expected)})"
            )
    if not assigned:
        raise ConfigError(f"{origin}: none of the files is one it reads ({', '.join(expected)})")
    return assigned


def _matches(path: Path, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(path.name.lower(), pattern.lower()) for pattern in patterns)


def file_checksum(paths: Sequence[Path]) -> str:
    """SHA-256 over the files' contents, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def open_warehouse(settings: Settings, *, dry_run: bool) -> Iterator[Warehouse]:
    """The warehouse to load into: created when missing, read-only for a dry run."""
    path = settings.warehouse
    if not path.exists():
        target = Path(":memory:") if dry_run else path
        warehouse = Warehouse.create(target, overrides=settings.overrides)
    else:
        warehouse = Warehouse.open(path, read_only=dry_run, overrides=settings.overrides)
        if not dry_run:
            warehouse.upgrade_tables(TABLES)  # what the model gained since it was created
    with warehouse:
        yield warehouse


def _load(
    settings: Settings, mapping: Mapping, inputs: dict[str, list[Path]], options: LoadOptions
) -> LoadSummary:
    all_files = [f for files in inputs.values() for f in files]
    missing = [f for f in all_files if not f.is_file()]
    if missing:
        raise ConfigError(f"{missing[0]}: no such file")
    for path in all_files:  # before the warehouse is opened (or made)
        refuse_empty(path)

    once = read_once(mapping, list(inputs))

    def read(warehouse: Warehouse, workdir: Path) -> dict[str, SourceTable]:
        sources = {
            name: read_files(
                warehouse,
                name,
                files,
                mapping.sources.get(name, mapping.read),
                workdir,
                once=name in once,
            )
            for name, files in inputs.items()
        }
        for name, spec in mapping.sources.items():
            if name not in sources and spec.columns:
                sources[name] = empty_source(warehouse, name, spec.columns)
        return sources

    label = describe_files(all_files)
    if mapping.name:
        label = f"{mapping.name}: {label}"
    # The files are hashed on another thread while DuckDB reads them (hashlib lets go of
    # the GIL), instead of after the load has read them.
    with (
        ThreadPoolExecutor(max_workers=1) as hashing,
        open_warehouse(settings, dry_run=options.dry_run) as warehouse,
    ):
        checksum = hashing.submit(file_checksum, all_files)
        return run_load(
            warehouse,
            mapping,
            read,
            label=label,
            checksum=checksum.result,
            options=options,
        )


def read_once(mapping: Mapping, sources: Sequence[str]) -> set[str]:
    """The sources whose rows are read once, whole: by one table, without a filter, and by
    no view (a view needs the source's row numbers before any table is staged)."""
    if isinstance(mapping, PresetMapping) and mapping.views:
        return set()
    first = sources[0] if sources else None
    readers: dict[str | None, list[TableMapping]] = {}
    for spec in mapping.tables.values():
        readers.setdefault(spec.source or first, []).append(spec)
    return {
        name
        for name in sources
        if len(readers.get(name, [])) == 1 and readers[name][0].filter is None
    }


def describe_files(paths: Sequence[Path]) -> str:
    """File names, with their folder once when they share one: `a.csv, b.csv (in /data)`."""
    folders = {path.resolve().parent for path in paths}
    names = ", ".join(path.name for path in paths)
    return f"{names} (in {folders.pop()})" if len(folders) == 1 else ", ".join(map(str, paths))


def _expand(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    else:
        yield path
