"""The server reads the warehouse per request and never keeps it locked against loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import AppStateStore, create_user, parse_role
from omnikpi.settings import load_settings
from omnikpi.web import create_app
from tests.web.conftest import fixed_now, sign_in

#: Opens the warehouse for writing in another process, says so, and holds it until stdin closes.
HOLD_WRITE_LOCK = (
    "import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
    "print('locked', flush=True); sys.stdin.read(); con.close()"
)


@contextmanager
def writer(path: Path) -> Iterator[None]:
    """Another process writing the warehouse (as `omnikpi ingest` would)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        assert process.stdout.readline().strip() == "locked"
        yield
    finally:
        process.stdin.close()
        assert process.wait(timeout=60) == 0


def app_on_copy(sim_path: Path, tmp_path: Path) -> FastAPI:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(sim_path, copy)
    store = AppStateStore.open(tmp_path / "state.sqlite")
    create_user(store, "ana", "long enough", parse_role("analyst"))
    return create_app(load_settings(warehouse=copy), store=store, now=fixed_now)


def test_a_load_can_write_between_requests(sim_path: Path, tmp_path: Path) -> None:
    app = app_on_copy(sim_path, tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "ana", "long enough")
        assert client.get("/status").status_code == 200
        with writer(app.state.context.settings.warehouse):
            pass  # the writer got its lock while the server was running
        assert client.get("/status").status_code == 200


def test_while_a_load_writes_pages_say_to_try_again(sim_path: Path, tmp_path: Path) -> None:
    app = app_on_copy(sim_path, tmp_path)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "ana", "long enough")
        client.cookies.set("omnikpi_locale", "en")
        with writer(app.state.context.settings.warehouse):
            page = client.get("/status")
            api = client.get("/api/v1/status")
        assert page.status_code == 503
        assert "Try again shortly" in page.text
        assert api.status_code == 503
        assert api.json()["code"] == "unavailable"
        assert client.get("/status").status_code == 200
