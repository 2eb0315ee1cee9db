"""The event collector as the app mounts it: events from shops' sites, loaded into the
app's warehouse every few seconds."""

from __future__ import annotations

from pathlib import Path

from omnikpi.ingest import Collector, LoadSummary
from omnikpi.services.ingest import refresh_changed
from omnikpi.settings import Settings

__all__ = ["Collector", "collector_spool", "event_collector"]


def collector_spool(settings: Settings) -> Path:
    """Where the mounted event collector keeps its log: `<warehouse>.collector/`."""
    return settings.warehouse.with_name(f"{settings.warehouse.name}.collector")


def event_collector(settings: Settings) -> Collector:
    """The collector of the settings' warehouse, logging beside it; after each load it
    refreshes the rollups of what the events changed."""

    def refresh(_summary: LoadSummary) -> None:
        refresh_changed(settings)

    return Collector(settings, collector_spool(settings), on_load=refresh)
