"""The event collector: `POST /collect` for web and app events, flushed to the warehouse.

Events are validated (400 with the reasons per event, 413 when a batch is too large),
appended to a durable log and fsynced before the 202 reply, then loaded into
`sessions` and `events` in batches by a background thread through the same load path
as every other source. Mount `Collector.router()` in any FastAPI app, or run
`omnikpi ingest collector` to serve it alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from omnikpi.errors import OmnikpiError
from omnikpi.ingest.events import LOG_COLUMNS, BatchRejected, parse_batch
from omnikpi.ingest.files import file_checksum, open_warehouse
from omnikpi.ingest.mapping import PresetMapping, parse_preset
from omnikpi.ingest.pipeline import LoadOptions, LoadSummary, run_load
from omnikpi.ingest.readers import SourceTable, read_arrow
from omnikpi.ingest.spool import EventSpool, read_records
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

log = logging.getLogger(__name__)
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}


@dataclass(frozen=True)
class CollectorLimits:
    """Largest request the collector accepts, and how often it loads the warehouse."""

    max_body_bytes: int = 1_000_000
    max_events: int = 500
    flush_seconds: float = 5.0


def collector_mapping() -> PresetMapping:
    """The mapping from the collector's log to sessions and events."""
    text = resources.files("omnikpi.ingest").joinpath("collector.yaml").read_text("utf-8")
    return parse_preset(yaml.safe_load(text), origin="collector.yaml")


def snippet() -> str:
    """The JavaScript shops include to send events (served at GET /collect.js)."""
    return resources.files("omnikpi.ingest").joinpath("static/collect.js").read_text("utf-8")


class Collector:
    """Accepts event batches into a durable log and loads them into a warehouse."""

    def __init__(
        self,
        settings: Settings,
        spool: Path,
        limits: CollectorLimits = CollectorLimits(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        on_load: Callable[[LoadSummary], None] | None = None,
    ) -> None:
        self.settings = settings
        self.spool = EventSpool(spool)
        self.limits = limits
        self.clock = clock
        #: Called after each flush whose load committed (say, to refresh KPI rollups).
        self.on_load = on_load
        self._mapping = collector_mapping()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- receiving ------------------------------------------------------------------------
    def accept(self, body: bytes) -> int:
        """Validate a request body and write its events durably; returns how many."""
        if len(body) > self.limits.max_body_bytes:
            raise BatchRejected(413, f"the body exceeds {self.limits.max_body_bytes:,} bytes")
        records = parse_batch(body, self.limits.max_events, self.clock())
        self.spool.append(records)
        return len(records)

    def router(self) -> APIRouter:
        """`POST /collect` and `GET /collect.js`, to mount in a FastAPI app."""
        router = APIRouter()

        @router.post("/collect", status_code=202, tags=["collector"])
        async def collect(request: Request) -> Response:
            """Accept a batch of web or app events: `{"events": [...]}`."""
            try:
                body = await _read_limited(request, self.limits.max_body_bytes)
                accepted = await run_in_threadpool(self.accept, body)
            except BatchRejected as exc:
                return JSONResponse(exc.body, status_code=exc.status, headers=_CORS)
            return JSONResponse({"accepted": accepted}, status_code=202, headers=_CORS)

        @router.options("/collect", include_in_schema=False)
        async def preflight() -> Response:
            return Response(status_code=204, headers={**_CORS, "Access-Control-Max-Age": "86400"})

        @router.get("/collect.js", include_in_schema=False)
        async def script() -> Response:
            return Response(
                snippet(),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=3600"},
            )

        return router

    # -- loading --------------------------------------------------------------------------
    def flush(self) -> LoadSummary | None:
        """Load every closed segment of the log into the warehouse, then delete them;
        `on_load` follows a committed load."""
        with self._flush_lock:
            segments = self.spool.close_segment()
            if not segments:
                return None
            summary = self._load(segments)
            self.spool.remove(segments)
        if self.on_load is not None and summary.status == "loaded":
            try:
                self.on_load(summary)
            except Exception:  # the events are loaded; what follows must not stop the collector
                log.exception(
                    "after a collector flush: on_load failed (the changed tables stay marked "
                    "in the warehouse for the next refresh)"
                )
        return summary

    def _load(self, segments: Sequence[Path]) -> LoadSummary:
        def read(warehouse: Warehouse, workdir: Path) -> dict[str, SourceTable]:
            del workdir
            table = _records_table(read_records(segments))
            return {"events": read_arrow(warehouse, "events", "collector", [table])}

        options = LoadOptions(max_error_rate=1.0, references="required", now=self.clock())
        with open_warehouse(self.settings, dry_run=False) as warehouse:
            return run_load(
                warehouse,
                self._mapping,
                read,
                label=f"collector log ({len(segments)} segment{'s' if len(segments) > 1 else ''})",
                checksum=lambda: file_checksum(segments),
                options=options,
            )

    def start(self) -> None:
        """Flush in a background thread every `limits.flush_seconds`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="omnikpi-collector", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread after a last flush."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self._flush_quietly()

    def _run(self) -> None:
        while not self._stop.wait(self.limits.flush_seconds):
            self._flush_quietly()

    def _flush_quietly(self) -> None:
        """A failed flush keeps the log for the next one (the warehouse may be busy)."""
        try:
            summary = self.flush()
        except (OmnikpiError, duckdb.Error, OSError) as exc:
            log.warning("collector flush failed, will retry: %s", exc)
            return
        if summary is not None and summary.rows_quarantined:
            log.warning(
                "collector flush quarantined %d of %d events (see `omnikpi ingest status`)",
                summary.rows_quarantined,
                summary.rows_read,
            )


def create_collector_app(collector: Collector) -> FastAPI:
    """A FastAPI app serving only the collector, flushing while it runs."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        collector.start()
        try:
            yield
        finally:
            await run_in_threadpool(collector.stop)

    app = FastAPI(title="omnikpi collector", lifespan=lifespan)
    app.include_router(collector.router())
    return app


def run_collector(
    settings: Settings,
    *,
    host: str,
    port: int,
    spool: Path | None = None,
    flush_seconds: float = 5.0,
    on_load: Callable[[LoadSummary], None] | None = None,
) -> None:
    """Serve the collector with uvicorn until interrupted; `on_load` follows each flush
    that loaded events."""
    import uvicorn

    folder = spool or settings.warehouse.with_name(f"{settings.warehouse.name}.collector")
    limits = CollectorLimits(flush_seconds=flush_seconds)
    collector = Collector(settings, folder, limits, on_load=on_load)
    uvicorn.run(create_collector_app(collector), host=host, port=port, log_level="warning")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BatchRejected(413, f"the body exceeds {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BatchRejected(413, f"the body exceeds {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _records_table(records: Iterable[dict[str, Any]]) -> pa.Table:
    rows = list(records)
    columns = {name: pa.array([r.get(name) for r in rows], pa.string()) for name in LOG_COLUMNS}
    return pa.table(columns)
