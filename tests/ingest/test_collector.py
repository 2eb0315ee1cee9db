"""The event collector: bad batches are refused with reasons, accepted events are never lost."""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzzing
from hypothesis import strategies as st

from omnikpi.ingest import Collector, CollectorLimits, LoadSummary, create_collector_app
from omnikpi.ingest.bounds import column_bounds
from omnikpi.ingest.checks import FUTURE_TOLERANCE
from omnikpi.ingest.events import CollectedEvent, parse_batch
from omnikpi.settings import Settings
from tests.ingest.conftest import FIXTURES, NOW, rows, value
from tests.prerequisites import require_node

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


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "the body is nested more than 8 levels deep"),
        (batch(event(load_ms=[[[[[[1]]]]]])), "the body is nested more than 8 levels deep"),
        (batch(event(load_ms=float("nan"))), "the body holds NaN"),
        (batch(event(load_ms=float("-inf"))), "the body holds -Infinity"),
        (batch(event(load_ms=1e999)), "the body holds Infinity"),  # how json.dumps writes inf
        (b'{"events": [{"load_ms": 1e999}]}', "the number 1e999 is too large"),
        (batch(event(search_results=2**63)), "the number 9223372036854775808 is too large"),
        (b'{"events": [{"load_ms": 1' + b"0" * 5000 + b"}]}", "the number 1000000000000000000"),
        (b'{"events": [{"page_path": "\\ud800"}]}', "the body holds text that is not Unicode"),
        (b'{"events": [{"\\udfff": 1}]}', "the body holds text that is not Unicode"),
    ],
)
def test_bodies_no_column_could_hold_are_refused_with_the_reason(
    collector: Collector, content: bytes, detail: str
) -> None:
    response = TestClient(create_app(collector)).post("/collect", content=content)
    assert (response.status_code, response.json()["detail"][: len(detail)]) == (400, detail)
    assert spooled(collector) == []


def test_a_batch_nested_exactly_as_deep_as_allowed_is_read(collector: Collector) -> None:
    """8 levels: the batch (1), its events (2), an event (3) and five more inside it."""
    nested = batch(event(campaign=[[[[["x"]]]]]))
    response = TestClient(create_app(collector)).post("/collect", content=nested)
    # read as JSON, then refused by the event's own check (campaign is text)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "campaign"


OUT_OF_BOUNDS = (
    "is outside 1970-01-01 … 2027-01-15 (UTC; check the device's clock and the time's UTC offset)"
)
IN_THE_FUTURE = (
    "is in the future (after 2026-01-15 12:10 UTC; check the device's clock and the time's "
    "UTC offset)"
)


@pytest.mark.parametrize(
    ("occurred_at", "refused"),
    [
        ("0001-01-01T00:00:00+09:00", OUT_OF_BOUNDS),  # year 1: before the epoch
        ("9999-12-31T23:59:59-05:00", OUT_OF_BOUNDS),  # year 9999 after UTC
        ("1969-12-31T23:59:59Z", OUT_OF_BOUNDS),
        ("1970-01-01T09:00:00+09:00", None),  # the first instant allowed, in Seoul's time
        ("2027-01-16T00:00:00Z", OUT_OF_BOUNDS),
        # Within the bounds but ahead of the clock by more than a load allows: a load would
        # quarantine it, so the sender hears it now. The clock is 2026-01-15 12:00 UTC.
        ("2027-01-15T23:59:59Z", IN_THE_FUTURE),
        ("2026-01-15T12:10:01Z", IN_THE_FUTURE),
        ("2026-01-15T21:09:00+09:00", None),  # 12:09 UTC: a clock a few minutes fast
        (-1, OUT_OF_BOUNDS),  # a Unix time, as pydantic reads numbers
        (0, None),
    ],
)
def test_event_times_must_lie_within_the_bounds_of_every_load(
    collector: Collector, occurred_at: object, refused: str | None
) -> None:
    response = TestClient(create_app(collector)).post(
        "/collect", content=batch(event(), event(event_id="e-2", occurred_at=occurred_at))
    )
    if refused is None:
        assert response.status_code == 202, response.text
        return
    assert response.status_code == 400
    assert response.json() == {
        "detail": "1 event has a time out of range",
        "errors": [{"event": 1, "field": "occurred_at", "reason": refused}],
    }
    assert spooled(collector) == []


class FullDisk:
    """A segment file on a disk that fills up halfway through the next block."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.name = real.name

    def write(self, data: bytes) -> int:
        self.real.write(data[: len(data) // 2])
        self.real.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_log_that_cannot_be_written_is_a_503_and_keeps_no_half_batch(
    settings: Settings, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(collector))
    assert client.post("/collect", content=batch(event())).status_code == 202
    opened = collector.spool._open

    def full_disk() -> Any:
        return FullDisk(opened())

    monkeypatch.setattr(collector.spool, "_open", full_disk)
    failed = client.post("/collect", content=batch(event(event_id="e-2"), event(event_id="e-3")))
    assert (failed.status_code, failed.headers["retry-after"]) == (503, "5")
    assert "send the batch again" in failed.json()["detail"]
    monkeypatch.undo()
    assert client.post("/collect", content=batch(event(event_id="e-4"))).status_code == 202
    assert [r["event_id"] for r in spooled(collector)] == ["e-1", "e-4"]  # no half line
    assert len(collector.spool.segments()) == 2  # the next block went to a new segment
    collector.flush()
    assert rows(settings, "SELECT event_id FROM events ORDER BY 1") == [("e-1",), ("e-4",)]


#: JSON values of every kind, extremes included (NaN, infinities, lone surrogates).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "0001-01-01", "9999-12-31T23:59:59Z", "", " ", "-1e999"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
#: Event times from year 1 to 9999 with any UTC offset, and things that are not times.
TIMES = (
    st.builds(
        lambda moment, minutes: (
            moment.isoformat()
            + f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        ),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    )
    | st.datetimes().map(datetime.isoformat)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | JSON_VALUES
)
#: An event with any time, and one of its fields (or an unknown one) holding anything.
EVENTS = st.builds(
    lambda moment, field, anything: {**EVENT, "occurred_at": moment, field: anything},
    TIMES,
    st.sampled_from([*CollectedEvent.model_fields, "extra"]),
    JSON_VALUES,
)
BODIES = st.one_of(
    st.lists(EVENTS, max_size=4).map(lambda events: json.dumps({"events": events}).encode()),
    EVENTS.map(lambda one: json.dumps([one]).encode()),
    JSON_VALUES.map(lambda anything: json.dumps(anything).encode()),
    st.integers(min_value=1, max_value=5_000).map(lambda depth: b'{"events":' + b"[" * depth),
    st.integers(min_value=1, max_value=3_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.binary(max_size=64),
)


@fuzzing(
    max_examples=200,
    database=None,  # keep no examples between runs: each run draws afresh
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_no_body_gets_a_server_error(collector: Collector, body: bytes) -> None:
    """Whatever is posted, the collector answers 202 or a 4xx saying why: never a 5xx, and
    what it accepts lies within the bounds of every load."""
    before = len(spooled(collector))
    response = collector_client(collector).post("/collect", content=body)
    assert response.status_code in (202, 400, 413), response.text
    if response.status_code != 202:
        assert response.json()["detail"]
        return
    bounds = column_bounds("events", "occurred_at", NOW.date())
    for record in spooled(collector)[before:]:
        moment = datetime.fromisoformat(record["occurred_at"])
        assert bounds.contains(moment)
        assert moment <= NOW + FUTURE_TOLERANCE


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


def test_the_javascript_snippet_sends_batches_the_collector_accepts() -> None:
    require_node()
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


@functools.cache
def collector_client(collector: Collector) -> TestClient:
    """One client per collector: hypothesis calls a test many times with the same one."""
    return TestClient(create_app(collector))


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
