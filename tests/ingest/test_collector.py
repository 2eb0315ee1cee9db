"""The event collector: bad batches are refused with reasons, accepted events are never lost."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.ingest import Collector, CollectorLimits, LoadSummary, create_collector_app
from omnikpi.ingest.events import parse_batch
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, NOW, rows, value

EVENT: dict[str, Any] = {
    "event_id": "e-1",
    "event_type": "page_view",
    "occurred_at": "2025-11-02T10:00:00+09:00",
    "visitor_id": "v-1",
    "session_id": "s-1",
    "device": "mobile",
    "page_path": "/?utm_source=naver&utm_medium=cpc",
    "source": "naver",
    "medium": "cpc",
    "load_ms": 840,
}


def event(**changes: Any) -> dict[str, Any]:
    return {**EVENT, **changes}


def batch(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


@pytest.fixture
def collector(settings: Settings, tmp_path: Path) -> Collector:
    return Collector(settings, tmp_path / "spool", CollectorLimits(max_events=3), clock=lambda: NOW)


def spooled(collector: Collector) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for segment in collector.spool.segments()
        for line in segment.read_text().splitlines()
    ]


def test_valid_batches_are_written_before_the_reply(collector: Collector) -> None:
    client = TestClient(create_app(collector))
    response = client.post(
        "/collect",
        content=batch(event(), event(event_id="e-2", event_type="product_view", product_id="P7")),
    )
    assert (response.status_code, response.json()) == (202, {"accepted": 2})
    assert response.headers["access-control-allow-origin"] == "*"
    records = spooled(collector)
    assert [r["event_id"] for r in records] == ["e-1", "e-2"]
    assert records[0]["occurred_at"] == "2025-11-02T01:00:00.000000Z"  # stored in UTC
    assert records[0]["received_at"] == "2026-01-15T12:00:00.000000Z"


def test_invalid_events_are_refused_with_reasons_per_event(collector: Collector) -> None:
    client = TestClient(create_app(collector))
    response = client.post(
        "/collect",
        content=batch(
            event(),
            event(event_type="teleport"),
            event(occurred_at="2025-11-02T10:00:00", device=None),
        ),
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "2 events are invalid"
    assert [(e["event"], e["field"]) for e in body["errors"]] == [
        (1, "event_type"),
        (2, "occurred_at"),
        (2, "device"),
    ]
    assert body["errors"][1]["reason"] == "Input should have timezone info"
    assert spooled(collector) == []  # all or nothing


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        (b"{not json", 400, "the body is not JSON"),
        (b'{"events": []}', 400, 'send {"events": [...]} with at least one event'),
        (
            batch(*[event(event_id=f"e{i}") for i in range(4)]),
            413,
            "4 events in one batch; send at most 3",
        ),
        (b"x" * 1_000_001, 413, "the body exceeds 1,000,000 bytes"),
    ],
)
def test_malformed_and_oversized_batches(
    collector: Collector, content: bytes, status: int, detail: str
) -> None:
    response = TestClient(create_app(collector)).post("/collect", content=content)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_accepted_events_survive_a_restart(
    settings: Settings, collector: Collector, tmp_path: Path
) -> None:
    collector.accept(
        batch(
            event(),
            event(
                event_id="e-2",
                event_type="product_view",
                product_id="P7",
                occurred_at="2025-11-02T10:00:30+09:00",
            ),
        )
    )
    # the process dies before any flush; a new collector finds the log and loads it
    restarted = Collector(settings, tmp_path / "spool", clock=lambda: NOW)
    summary = restarted.flush()
    assert summary is not None
    assert summary.status == "loaded"
    assert rows(
        settings,
        "SELECT session_id, visitor_id, channel, device, traffic_source, "
        "landing_page_type FROM sessions",
    ) == [("s-1", "v-1", "web", "mobile", "paid_search", "home")]
    assert rows(
        settings,
        "SELECT event_id, event_type, page_type, page_path, product_id, load_ms "
        "FROM events ORDER BY event_id",
    ) == [
        ("e-1", "page_view", "home", "/", None, 840),
        ("e-2", "product_view", "home", "/", "P7", 840),
    ]
    assert restarted.spool.segments() == []
    assert restarted.flush() is None


def test_a_half_written_last_line_is_dropped(
    settings: Settings, collector: Collector, tmp_path: Path
) -> None:
    collector.accept(batch(event()))
    (segment,) = collector.spool.segments()
    with segment.open("ab") as stream:  # a crash in the middle of an unacknowledged write
        stream.write(b'{"event_id": "e-9", "event_ty')
    restarted = Collector(settings, tmp_path / "spool", clock=lambda: NOW)
    restarted.flush()
    assert rows(settings, "SELECT event_id FROM events") == [("e-1",)]


def test_a_load_repeated_after_a_crash_adds_nothing(
    settings: Settings, collector: Collector
) -> None:
    collector.accept(batch(event(), event(event_id="e-2")))
    segments = collector.spool.close_segment()
    collector._load(segments)  # committed, then the process died before deleting the log
    assert collector.spool.segments() == segments
    summary = collector.flush()
    assert summary is not None
    assert summary.tables["events"].inserted == 0
    assert value(settings, "SELECT count(*) FROM events") == 2


def test_a_session_keeps_its_first_attributes(settings: Settings, collector: Collector) -> None:
    collector.accept(batch(event()))
    collector.flush()
    later = event(
        event_id="e-5",
        occurred_at="2025-11-02T10:20:00+09:00",
        page_path="/cart",
        source=None,
        medium=None,
        device="mobile",
        customer_id="C-42",
    )
    collector.accept(batch(later))
    summary = collector.flush()
    assert summary is not None
    assert summary.tables["sessions"].unchanged == 1
    assert rows(settings, "SELECT traffic_source, landing_page_type FROM sessions") == [
        ("paid_search", "home")
    ]
    assert value(settings, "SELECT page_type FROM events WHERE event_id = 'e-5'") == "cart"


def test_the_app_flushes_on_shutdown_and_the_router_mounts_anywhere(
    settings: Settings, collector: Collector
) -> None:
    with TestClient(create_collector_app(collector)) as client:
        assert client.post("/collect", content=batch(event())).status_code == 202
    assert value(settings, "SELECT count(*) FROM events") == 1
    shop = FastAPI()
    shop.include_router(collector.router(), prefix="/events")
    client = TestClient(shop)
    assert client.post("/events/collect", content=batch(event(event_id="e-3"))).status_code == 202
    script = client.get("/events/collect.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "window.omnikpi" in script.text


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the snippet")
def test_the_javascript_snippet_sends_batches_the_collector_accepts() -> None:
    harness = FIXTURES / "collector" / "harness.js"
    snippet = Path(__file__).parents[2] / "src" / "omnikpi" / "ingest" / "static" / "collect.js"
    result = subprocess.run(
        ["node", str(harness), str(snippet)], capture_output=True, text=True, check=True
    )
    (request,) = json.loads(result.stdout)
    assert request["url"] == "https://events.shop.kr/collect"
    assert request["type"] == "text/plain"  # a simple request: no CORS preflight
    records = parse_batch(request["body"].encode(), 500, NOW)
    assert [(r["event_type"], r["product_id"], r["customer_id"]) for r in records] == [
        ("page_view", None, None),
        ("add_to_cart", "SER-30", "C-42"),
    ]
    first = records[0]
    assert (first["device"], first["page_type"], first["page_path"]) == (
        "mobile",
        "product",
        "/products/serum?utm_source=kakao&utm_medium=social",
    )
    assert (first["source"], first["medium"], first["referrer"], first["load_ms"]) == (
        "kakao",
        "social",
        "https://www.instagram.com/",
        "912",
    )
    assert records[0]["session_id"] == records[1]["session_id"]


def create_app(collector: Collector) -> FastAPI:
    """The collector's routes without the background flusher."""
    app = FastAPI()
    app.include_router(collector.router())
    return app


def test_on_load_follows_each_committed_flush(settings: Settings, tmp_path: Path) -> None:
    loads: list[LoadSummary] = []
    collector = Collector(settings, tmp_path / "spool", clock=lambda: NOW, on_load=loads.append)
    collector.accept(batch(event(), event(event_id="e-2")))
    summary = collector.flush()
    assert summary is not None
    assert loads == [summary]
    assert summary.tables["events"].inserted == 2
    assert collector.flush() is None  # nothing new: no load, no call
    assert len(loads) == 1
    # the collector's log states no data settings: an empty warehouse gets none from it
    assert summary.stored_settings == {}


def test_a_failing_on_load_keeps_the_collector_running(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(summary: LoadSummary) -> None:
        raise RuntimeError("rollups are busy")

    collector = Collector(settings, tmp_path / "spool", clock=lambda: NOW, on_load=fail)
    collector.accept(batch(event()))
    summary = collector.flush()
    assert summary is not None
    assert summary.status == "loaded"
    assert value(settings, "SELECT count(*) FROM events") == 1
    assert "on_load failed" in caplog.text
    assert collector.spool.segments() == []  # the loaded events are not loaded again


def test_the_command_s_collector_refreshes_rollups_after_loads(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`omnikpi ingest collector` serves the collector with an on_load that refreshes the
    rollups of what a flush changed (through the service layer)."""
    import omnikpi.ingest.collector as collector
    import omnikpi.services.ingest as service

    served: dict[str, Any] = {}
    refreshed: list[Settings] = []
    # the service imports the collector (and its web framework) when it serves it
    monkeypatch.setattr(collector, "run_collector", lambda settings, **kw: served.update(kw))
    monkeypatch.setattr(service, "refresh_changed", lambda settings: refreshed.append(settings))
    service.run_collector(settings, host="127.0.0.1", port=8001, spool=None, flush_seconds=1.0)
    changed = Collector(settings, settings.warehouse.parent / "spool", clock=lambda: NOW)
    changed.accept(batch(event()))
    summary = changed.flush()
    assert summary is not None
    served["on_load"](summary)
    served["on_load"](replace(summary, tables={}))  # a flush that changed nothing
    assert refreshed == [settings]
