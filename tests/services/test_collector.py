"""The event collector the app mounts: events posted to the app reach its warehouse, and
pages keep answering while the collector loads them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import omnikpi.ingest.collector as collector_module
from omnikpi.auth import AppStateStore
from omnikpi.services.collector import collector_spool, event_collector
from omnikpi.settings import Settings
from omnikpi.web import create_app
from tests.ingest.conftest import NOW

EVENT: dict[str, Any] = {
    "event_id": "e-1",
    "event_type": "page_view",
    "occurred_at": "2025-11-02T10:00:00+09:00",
    "visitor_id": "v-1",
    "session_id": "s-1",
    "device": "mobile",
    "page_path": "/",
}


def test_the_app_mounts_a_collector_logging_beside_its_warehouse(tmp_path: Path) -> None:
    settings = Settings(warehouse=tmp_path / "shop.duckdb")
    collector = event_collector(settings)
    assert collector.spool.folder == collector_spool(settings) == tmp_path / "shop.duckdb.collector"


def test_pages_answer_while_the_mounted_collector_flushes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(warehouse=tmp_path / "shop.duckdb")
    collector = event_collector(settings)
    collector.clock = lambda: NOW
    collector.accept(json.dumps({"events": [EVENT]}).encode())
    collector.flush()  # the warehouse now exists, with one event
    app = create_app(settings, store=AppStateStore.open(tmp_path / "state.sqlite"), now=lambda: NOW)
    seen: list[int] = []
    run_load: Callable[..., Any] = collector_module.run_load

    def load_while_a_page_is_read(*args: Any, **kwargs: Any) -> Any:
        seen.append(client.get("/login").status_code)  # the flush holds the warehouse now
        return run_load(*args, **kwargs)

    monkeypatch.setattr(collector_module, "run_load", load_while_a_page_is_read)
    client = TestClient(app, raise_server_exceptions=False)
    collector.accept(json.dumps({"events": [{**EVENT, "event_id": "e-2"}]}).encode())
    assert collector.flush() is not None
    assert seen == [200]
