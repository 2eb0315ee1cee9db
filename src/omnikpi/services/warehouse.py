"""The warehouse as the interfaces see it: opening it, what it holds, its data settings.

DuckDB lets one process open a database file read-write and then no other process at all.
While `omnikpi serve` runs it owns the file (`omnikpi.warehouse.duckdb.own`): reads
(`read_warehouse`) share its database, each thread on its own connection in a read-only
transaction, so they see the last committed state while a load writes and are never
blocked by one; writes (`write_warehouse`, loads, refreshes) run one at a time
(`writing`). Without an owner a read opens the file read-only for the request and closes
it; while another process holds the write lock it is retried briefly and then refused
with `WarehouseBusy` (HTTP 503).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omnikpi.errors import ConfigError, InvalidChoice, OmnikpiError
from omnikpi.ingest import INGEST_TABLES
from omnikpi.kpi import load_catalog
from omnikpi.kpi.rollup_store import ROLLUP_TABLES
from omnikpi.kpi.rollups import refresh_changes
from omnikpi.kpi.targets import TARGETS
from omnikpi.model import TABLES
from omnikpi.model.audiences import AUDIENCE_TABLES
from omnikpi.model.derived import DERIVED_TABLES
from omnikpi.settings import DATA_SETTING_KEYS, DataSettings, Settings
from omnikpi.warehouse import SYSTEM_TABLES, Warehouse
from omnikpi.warehouse.duckdb import writing

_ATTEMPTS = 5
_BACKOFF_SECONDS = 0.1
#: Every table omnikpi declares: the canonical model and the system tables beside it.
DECLARED_TABLES = (
    *TABLES,
    *SYSTEM_TABLES,
    *INGEST_TABLES,
    *ROLLUP_TABLES,
    TARGETS,
    *DERIVED_TABLES,
    *AUDIENCE_TABLES,
)
#: The names `omnikpi warehouse set` takes, and the data setting each one sets.
SETTING_NAMES = {name.replace("_", "-"): name for name in DATA_SETTING_KEYS}


class WarehouseBusy(OmnikpiError):
    """Another process is writing the warehouse; the request can be retried shortly."""

    http_status = 503


@contextmanager
def read_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The warehouse of `settings`, read-only, retried briefly while another process
    writes it."""
    for attempt in range(_ATTEMPTS):
        try:
            warehouse = Warehouse.open(
                settings.warehouse, read_only=True, overrides=settings.overrides
            )
            break
        except ConfigError as exc:
            if "another omnikpi process" not in str(exc):
                raise
            if attempt == _ATTEMPTS - 1:
                raise WarehouseBusy(
                    f"the warehouse {settings.warehouse} is being written by another process "
                    "(a load is probably running); try again in a moment"
                ) from exc
            time.sleep(_BACKOFF_SECONDS * (attempt + 1))
    try:
        yield warehouse
    finally:
        warehouse.close()


@contextmanager
def write_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The existing warehouse of `settings`, open for writing (in its own data settings:
    what is written, such as rollups, keeps them whatever this process overrides); one
    write session of this process at a time (another thread's waits)."""
    with writing(settings.warehouse), Warehouse.open(settings.warehouse) as warehouse:
        yield warehouse


def data_settings(settings: Settings) -> DataSettings:
    """The data settings in effect: the warehouse's own with this process's overrides
    (the defaults, overridden, when there is no warehouse yet)."""
    if not settings.warehouse.exists():
        return DataSettings().updated(settings.overrides)
    with read_warehouse(settings) as warehouse:
        return warehouse.settings


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    kind: str


@dataclass(frozen=True)
class WarehouseInfo:
    """What `omnikpi warehouse info` shows."""

    path: Path
    tables: tuple[TableInfo, ...]
    #: The settings in effect, and those stored in the file (not defaults or overrides).
    settings: DataSettings
    stored: dict[str, str]
    overridden: dict[str, str]


def warehouse_info(settings: Settings) -> WarehouseInfo:
    """Tables with their row counts, and the data settings."""
    kinds = {t.name: t.kind for t in DECLARED_TABLES}
    with read_warehouse(settings) as warehouse:
        counts = warehouse.row_counts()
        tables = tuple(
            TableInfo(name, count, kinds.get(name, "other")) for name, count in counts.items()
        )
        return WarehouseInfo(
            settings.warehouse,
            tables,
            warehouse.settings,
            warehouse.stored_settings(),
            dict(settings.overrides),
        )


def set_data_setting(settings: Settings, name: str, value: str) -> DataSettings:
    """Store one data setting (`time-zone`, `currency`, `fiscal-year-start` or
    `attribution-model`) in the warehouse; returns the settings now stored. A new time
    zone moves every local date, so every KPI rollup is rebuilt with the settings'
    catalog; a new attribution model rewrites the attributed revenue behind ROAS and the
    rollups that read it."""
    key = SETTING_NAMES.get(name)
    if key is None:
        raise InvalidChoice("setting", name, ", ".join(SETTING_NAMES))
    with write_warehouse(settings) as warehouse:
        before = warehouse.settings.as_dict()[key]
        stored = warehouse.store_settings({key: value.strip()})
        if before == stored.as_dict()[key]:
            return stored
        if key == "time_zone":
            present = warehouse.table_set()
            changed = {t.name: None for t in TABLES if t.name in present}
            with warehouse.transaction():
                warehouse.mark_changed(changed, "warehouse set time-zone")
        if key in ("time_zone", "attribution_model"):
            # its days or its model changed (imported here: journeys read through this module)
            from omnikpi.services.attributed_revenue import write_attributed_revenue

            write_attributed_revenue(warehouse)
        refresh_changes(warehouse, load_catalog(settings.catalog_dirs))
        return stored
