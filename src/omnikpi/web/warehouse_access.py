"""How the server reads the warehouse: a read-only connection per request, closed after it.

DuckDB lets one process write a database file only while no other process has it open.
Holding a connection for the server's lifetime would block `omnikpi ingest` and
`omnikpi demo --force` for as long as the server runs, so each request opens the file
read-only, reads, and closes it (a few milliseconds). While a load holds the write lock the
request is retried briefly and then answered with 503 and a message to try again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from omnikpi.errors import ConfigError, OmnikpiError
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

_ATTEMPTS = 5
_BACKOFF_SECONDS = 0.1


class WarehouseBusy(OmnikpiError):
    """Another process is writing the warehouse; the request can be retried shortly."""

    http_status = 503


@contextmanager
def open_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """The warehouse of `settings`, read-only, for the duration of one request."""
    for attempt in range(_ATTEMPTS):
        try:
            warehouse = Warehouse.open(
                settings.warehouse, read_only=True, overrides=settings.overrides
            )
            break
        except ConfigError as exc:
            if not isinstance(exc.__cause__, duckdb.IOException):
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
