"""The event collector: `POST /collect` for web and app events, flushed to the warehouse.

Events are validated (400 with the reasons per event, 413 when a batch is too large; a
body nested too deeply, holding NaN, Infinity or a number no column can hold, or an event
time outside the bounds every load gives `events.occurred_at` (`omnikpi.ingest.bounds`)
is a 400 too, never a 500), appended to a durable log and fsynced before the 202 reply,
then loaded into `sessions` and `events` in batches by a background thread through the
same load path as every other source. Mount `Collector.router()` in any FastAPI app, or
run `omnikpi ingest collector` to serve it alone.
"""

from __future__ import annotations

import json
import logging
import math
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
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from omnikpi.errors import OmnikpiError
from omnikpi.ingest.bounds import Bounds, column_bounds
from omnikpi.ingest.checks import FUTURE_TOLERANCE
from omnikpi.ingest.events import LOG_COLUMNS, BatchRejected, parse_batch
from omnikpi.ingest.files import file_checksum, open_warehouse
from omnikpi.ingest.mapping import PresetMapping, parse_preset
from omnikpi.ingest.pipeline import LoadOptions, LoadSummary, run_load
from omnikpi.ingest.readers import SourceTable, read_arrow
from omnikpi.ingest.spool import EventSpool, read_records
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import writing

log = logging.getLogger(__name__)
_CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}
#: Integers a body may hold: what the warehouse's integer columns (BIGINT) can store.
_INT_LIMIT = 2**63
_INSTANT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


@dataclass(frozen=True)
class CollectorLimits:
    """Largest request the collector accepts, and how often it loads the warehouse.

    `max_depth` counts nested arrays and objects: `{"events": [{...}]}` is 3 deep.
    """

    max_body_bytes: int = 1_000_000
    max_events: int = 500
    flush_seconds: float = 5.0
    max_depth: int = 8


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
        now = self.clock()
        document = read_document(body, self.limits.max_depth)
        bounds = column_bounds("events", "occurred_at", now.astimezone(UTC).date())
        check_times(document, bounds, now + FUTURE_TOLERANCE)
        records = parse_batch(body, self.limits.max_events, now)
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
            except OSError as exc:  # the log cannot be written (disk full): retry later
                log.error("collector: cannot write the event log: %s", exc)
                detail = {"detail": "the event log cannot be written now; send the batch again"}
                return JSONResponse(detail, status_code=503, headers={**_CORS, "Retry-After": "5"})
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
        # One write session at a time in this process (a server's loads and refreshes).
        with (
            writing(self.settings.warehouse),
            open_warehouse(self.settings, dry_run=False) as warehouse,
        ):
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


def read_document(body: bytes, max_depth: int) -> Any:
    """The JSON of a request body, refused (BatchRejected, 400) when it is not JSON, is
    nested more than `max_depth` arrays and objects deep, holds NaN or Infinity, a number
    no column can hold, or text that is not Unicode (a lone surrogate such as "\\ud800")."""
    try:
        document = json.loads(
            body, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        raise BatchRejected(400, f"the body is nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchRejected(400, f"the body is not JSON ({exc})") from None
    _check_nesting(document, max_depth)
    return document


def check_times(document: Any, bounds: Bounds, latest: datetime | None = None) -> None:
    """Refuse (400) a batch whose event times fall outside `bounds` (UTC days) or after
    `latest` (what a load would quarantine as in the future), naming each such event;
    times that are not times at all are left for the event's own checks."""
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list):
        return
    errors = []
    for index, raw in enumerate(events):
        if not isinstance(raw, dict) or raw.get("occurred_at") is None:
            continue
        try:
            moment = _INSTANT.validate_python(raw["occurred_at"])
        except ValidationError:
            continue
        if not bounds.first_instant() <= moment < bounds.end_instant():
            reason = (
                f"is outside {bounds.describe()} (UTC; check the device's clock and the "
                "time's UTC offset)"
            )
            errors.append({"event": index, "field": "occurred_at", "reason": reason})
        elif latest is not None and moment > latest:
            reason = (
                f"is in the future (after {latest:%Y-%m-%d %H:%M} UTC; check the device's clock "
                "and the time's UTC offset)"
            )
            errors.append({"event": index, "field": "occurred_at", "reason": reason})
    if errors:
        count = len(errors)
        detail = "1 event has" if count == 1 else f"{count} events have"
        raise BatchRejected(400, f"{detail} a time out of range", errors)


def _no_constant(name: str) -> float:
    raise BatchRejected(400, f"the body holds {name}, which JSON has no number for (send null)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BatchRejected(400, f"the number {text[:32]} is too large")
    return value


def _bounded_int(text: str) -> int:
    # Checked by length first: int() of thousands of digits is slow, and Python refuses it.
    if len(text) > 20 or not -_INT_LIMIT <= (value := int(text)) < _INT_LIMIT:
        raise BatchRejected(400, f"the number {text[:32]} is too large")
    return value


def _check_nesting(document: Any, max_depth: int) -> None:
    """Refuse arrays and objects nested deeper than `max_depth`, and text that cannot be
    written as UTF-8 (keys included)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if isinstance(value, dict):
            for key in value:
                _check_text(key)
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            raise BatchRejected(400, f"the body is nested more than {max_depth} levels deep")
        pending.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BatchRejected(
                400, "the body holds text that is not Unicode (a lone surrogate escape)"
            ) from None


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
