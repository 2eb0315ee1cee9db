"""The event collector's wire format: a JSON batch of web/app events, validated per event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from omnikpi.model import enums

#: Text limits keep one malicious event from bloating the log.
_ID = Field(min_length=1, max_length=128)


class CollectedEvent(BaseModel):
    """One event as a shop sends it (the JavaScript snippet fills every field it knows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str | None = Field(None, min_length=1, max_length=64)
    event_type: enums.EventType
    occurred_at: AwareDatetime
    visitor_id: str = _ID
    session_id: str = _ID
    customer_id: str | None = Field(None, min_length=1, max_length=128)
    channel: enums.VisitChannel = enums.VisitChannel.WEB
    device: enums.Device
    page_type: enums.PageType | None = None
    page_path: str = Field(min_length=1, max_length=2048)
    product_id: str | None = Field(None, max_length=128)
    search_query: str | None = Field(None, max_length=512)
    search_results: int | None = Field(None, ge=0)
    banner_id: str | None = Field(None, max_length=128)
    order_id: str | None = Field(None, max_length=128)
    load_ms: int | None = Field(None, ge=0, le=600_000)
    source: str | None = Field(None, max_length=256)
    medium: str | None = Field(None, max_length=256)
    campaign: str | None = Field(None, max_length=256)
    referrer: str | None = Field(None, max_length=2048)


#: Columns of an event in the durable log, in order; every value is text or null.
LOG_COLUMNS: tuple[str, ...] = (*CollectedEvent.model_fields, "received_at")


class BatchRejected(Exception):
    """A batch the collector refuses: HTTP status and a JSON body saying why."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {"detail": detail}
        if errors:
            self.body["errors"] = errors


def parse_batch(body: bytes, max_events: int, received_at: datetime) -> list[dict[str, Any]]:
    """Validated events of a request body, as log records; BatchRejected says what is wrong.

    The body is `{"events": [...]}` (or a bare list). Either every event is valid and the
    batch is accepted, or none is and each bad event is listed with its reasons.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchRejected(400, f"the body is not JSON ({exc})") from None
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list) or not events:
        raise BatchRejected(400, 'send {"events": [...]} with at least one event')
    if len(events) > max_events:
        raise BatchRejected(413, f"{len(events)} events in one batch; send at most {max_events}")
    records: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(events):
        try:
            event = CollectedEvent.model_validate(raw)
        except ValidationError as exc:
            errors += [
                {
                    "event": index,
                    "field": ".".join(str(p) for p in error["loc"]) or "(event)",
                    "reason": error["msg"],
                }
                for error in exc.errors()
            ]
            continue
        records.append(_record(event, received_at))
    if errors:
        invalid = len({e["event"] for e in errors})
        detail = "1 event is invalid" if invalid == 1 else f"{invalid} events are invalid"
        raise BatchRejected(400, detail, errors)
    return records


def _record(event: CollectedEvent, received_at: datetime) -> dict[str, Any]:
    """The log record: an id for replays to be idempotent, UTC times as ISO text."""
    data = event.model_dump(mode="json")
    data["event_id"] = event.event_id or uuid.uuid4().hex
    data["occurred_at"] = _utc(event.occurred_at)
    data["received_at"] = _utc(received_at)
    return {name: None if data.get(name) is None else str(data[name]) for name in LOG_COLUMNS}


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
