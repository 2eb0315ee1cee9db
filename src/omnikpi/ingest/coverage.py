"""Which canonical tables a load could not fill because an optional file was missing.

A preset names the files it needs (`required: true`, the default) and those that only
add to the picture (`required: false`): an Olist folder without its payments file still
loads orders, lines and customers, and the report names the missing file and the tables
left without rows (the service layer adds the KPIs that will show no data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingType
from dataclasses import dataclass

from omnikpi.ingest.mapping import Mapping, PresetMapping
from omnikpi.ingest.readers import SourceTable

#: The first relation a view reads FROM: the rows it is built on (joins only add to them).
_DRIVING = re.compile(r"\bFROM\s+_(src|view)_([A-Za-z0-9_]+)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MissingSource:
    """An optional source that got no file: the file names it expects, the canonical
    tables that got no rows for lack of it and what else the load lacks (`without`)."""

    source: str
    files: tuple[str, ...]
    tables: tuple[str, ...]
    without: str | None = None

    def message(self) -> str:
        """The warning as one line."""
        lost = [f"{', '.join(self.tables)} got no rows"] if self.tables else []
        lost += [self.without] if self.without else []
        return f"no {' or '.join(self.files)} among the files: {'; '.join(lost)}"


def missing_sources(
    mapping: Mapping, sources: MappingType[str, SourceTable], staged: MappingType[str, int]
) -> tuple[MissingSource, ...]:
    """The optional sources of `mapping` without a file, each with the tables (of those
    `staged`, by rows staged) built on it that got no rows."""
    missing = [name for name, source in sources.items() if source.missing]
    if not missing:
        return ()
    views = mapping.views if isinstance(mapping, PresetMapping) else {}
    found = []
    for name in missing:
        spec = mapping.sources[name]
        tables = tuple(
            table
            for table, table_spec in mapping.tables.items()
            if staged.get(table) == 0
            and _built_on(table_spec.source or next(iter(sources)), views) == name
        )
        if tables or spec.without:  # alternatives (CDNOW's master or sample) lack nothing
            found.append(MissingSource(name, spec.files, tables, spec.without))
    return tuple(found)


def _built_on(name: str, views: MappingType[str, str]) -> str:
    """The source whose rows a source or view is built on: the first relation each view
    reads FROM, through the views (an optional file a view only joins adds columns)."""
    found = _DRIVING.search(views[name]) if name in views else None
    if found is None:
        return name
    kind, relation = found.groups()
    return _built_on(relation, views) if kind.lower() == "view" else relation
