"""`omnikpi ingest`, `targets` and `kpi refresh` beside a running server: they hand their
command to it (the server owns the warehouse) and print what it prints, exiting with its
code; without a server they run as always."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnikpi.auth import AppStateStore
from omnikpi.cli.handoff import COMMANDS, run_command
from omnikpi.cli.output import console
from omnikpi.services.writer import (
    HANDED_OFF_NICENESS,
    HANDOFF_PATH,
    TOKEN_HEADER,
    discovery_path,
    find_server,
    token_path,
)
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import own
from omnikpi.web import create_app
from tests.conftest import run_cli
from tests.ingest.conftest import write
from tests.ingest.test_validate import HEADER, SHOP

CLI = [sys.executable, "-c", "from omnikpi.cli.main import main; main()"]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A warehouse with one order, its mapping and a second file to load."""
    write(tmp_path / "shop.yaml", SHOP)
    write(tmp_path / "o1.csv", HEADER + "1001,C1,Online,01/12/2010,Paid,10.00\n")
    write(tmp_path / "o2.csv", HEADER + "1002,C2,Online,02/12/2010,Paid,5.00\n")
    warehouse = tmp_path / "shop.duckdb"
    mapping, first = str(tmp_path / "shop.yaml"), str(tmp_path / "o1.csv")
    assert run_cli("ingest", "-m", mapping, first, "-w", str(warehouse)) == 0
    return warehouse


@contextmanager
def serving_app(
    settings: Settings, make_app: Callable[[int], FastAPI]
) -> Iterator[tuple[FastAPI, str]]:
    """`make_app(port)` served by uvicorn with its lifespan on a free loopback port;
    yields the app and its base URL once it has started (and owns its warehouse)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = make_app(port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(600):  # the lifespan has run once the server says it started
            if server.started:
                break
            time.sleep(0.05)
        assert server.started
        assert find_server(settings) is None  # this process owns the warehouse
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@contextmanager
def serving(warehouse: Path) -> Iterator[int]:
    """The app owning `warehouse`, served and announced beside it; yields its port."""
    settings = Settings(warehouse=warehouse)

    def make(port: int) -> FastAPI:
        return create_app(settings, own_warehouse=True, handoff_port=port, commands=COMMANDS)

    with serving_app(settings, make) as (_, base):
        yield int(base.rsplit(":", 1)[1])


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The omnikpi CLI in another process (as a user runs it beside the server)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_commands_beside_a_server_run_in_it_and_say_what_it_says(shop: Path) -> None:
    folder = shop.parent
    # The server reads the files the CLI names by their absolute paths; so do messages.
    absent = str(folder / "nothere.csv")
    missing_local = cli("ingest", "-m", "shop.yaml", absent, "-w", shop.name, cwd=folder)
    with serving(shop):
        assert json.loads(discovery_path(shop).read_text())["pid"] == os.getpid()
        assert token_path(shop).stat().st_mode & 0o777 == 0o600
        loaded = cli("ingest", "-m", "shop.yaml", "o2.csv", "-w", shop.name, cwd=folder)
        assert loaded.returncode == 0, loaded.stderr
        assert f"Loaded shop: o2.csv (in {folder})" in loaded.stdout  # paths were made absolute
        status = cli("ingest", "status", "--format", "json", "-w", shop.name, cwd=folder)
        assert status.returncode == 0, status.stderr
        assert len(json.loads(status.stdout)["loads"]) == 2
        missing = cli("ingest", "-m", "shop.yaml", "nothere.csv", "-w", shop.name, cwd=folder)
    # A failure reads and exits as it does without a server.
    assert (missing.returncode, missing.stderr) == (missing_local.returncode, missing_local.stderr)
    assert missing.returncode == 2
    assert f"{absent}: no such file" in missing.stderr
    assert not discovery_path(shop).exists()
    assert not token_path(shop).exists()
    # Without a server the command opens the file itself again.
    status = cli("ingest", "status", "--format", "json", "-w", shop.name, cwd=folder)
    assert status.returncode == 0
    assert len(json.loads(status.stdout)["loads"]) == 2


def post(port: int, body: object, token: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers[TOKEN_HEADER] = token
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{HANDOFF_PATH}",
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_local_endpoint_wants_the_token_and_runs_only_the_handed_commands(
    shop: Path,
) -> None:
    with serving(shop) as port:
        token = token_path(shop).read_text()
        body = {"argv": ["ingest", "status", "-w", str(shop)], "env": {}}
        assert post(port, body, None) == 403
        assert post(port, body, "not-the-token") == 403
        assert post(port, {"argv": ["users", "add", "eve"], "env": {}}, token) == 403
        assert post(port, {"argv": "ingest status"}, token) == 400
        assert post(port, body, token) == 200


def test_the_endpoint_refuses_other_machines_and_is_not_public(shop: Path) -> None:
    settings = Settings(warehouse=shop)
    store = AppStateStore.open(shop.with_name("state.sqlite"))
    app: FastAPI = create_app(
        settings, store=store, own_warehouse=True, handoff_port=1, commands=COMMANDS
    )
    with TestClient(app) as client:  # its client is "testclient", not a loopback address
        response = client.post(HANDOFF_PATH, json={"argv": ["ingest", "status"], "env": {}})
        assert response.status_code == 404
        assert HANDOFF_PATH not in json.dumps(app.openapi())


def test_a_server_that_died_is_ignored(shop: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    discovery_path(shop).write_text(json.dumps({"pid": int(gone.stdout), "port": 9}))
    token_path(shop).write_text("stale")
    assert find_server(Settings(warehouse=shop)) is None
    assert run_cli("ingest", "status", "-w", str(shop)) == 0


def test_reading_commands_beside_a_server_answer_through_it(shop: Path) -> None:
    """`kpi query`, `kpi show` and `warehouse info` cannot open a warehouse a server owns:
    the server answers them, as it would itself; `warehouse set` stores through it."""
    folder = shop.parent
    query = ("kpi", "query", "orders", "--grain", "day", "--start", "2020-12-24")
    args = (*query, "--end", "2021-01-31", "--format", "csv", "-w", shop.name)
    alone = cli(*args, cwd=folder)
    assert alone.returncode == 0, alone.stderr
    with serving(shop):
        beside = cli(*args, cwd=folder)
        info = cli("warehouse", "info", "--format", "json", "-w", shop.name, cwd=folder)
        shown = cli("kpi", "show", "orders", "-w", shop.name, cwd=folder)
        stored = cli("warehouse", "set", "currency", "USD", "-w", shop.name, cwd=folder)
    assert (beside.returncode, beside.stdout) == (0, alone.stdout)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["warehouse"] == str(shop.absolute())
    assert shown.returncode == 0, shown.stderr
    assert "orders" in shown.stdout
    assert stored.returncode == 0, stored.stderr
    after = cli("warehouse", "info", "--format", "json", "-w", shop.name, cwd=folder)
    assert json.loads(after.stdout)["settings"]["currency"] == "USD"


def test_a_command_whose_settings_differ_from_the_servers_is_refused_not_run_differently(
    shop: Path,
) -> None:
    """A time zone (or catalog, limit, ...) the CLI sets would be ignored by the server: the
    command is refused with both settings named, and runs through it once they agree."""
    folder = shop.parent
    query = ("kpi", "query", "orders", "--grain", "day", "--start", "2020-12-24")
    args = (*query, "--end", "2021-01-31", "-w", shop.name)
    env = {**os.environ, "COLUMNS": "200", "OMNIKPI_TIME_ZONE": "America/New_York"}
    with serving(shop):
        refused = subprocess.run(
            [*CLI, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300
        )
        agreeing = cli(*args, cwd=folder)
    assert refused.returncode == 2
    assert "OMNIKPI_TIME_ZONE unset" in refused.stderr
    assert "OMNIKPI_TIME_ZONE=America/New_York" in refused.stderr
    assert refused.stdout == ""
    assert agreeing.returncode == 0, agreeing.stderr


def _nice_of_threads() -> dict[int, int]:
    """The nice value of each thread of this process (Linux: /proc/self/task)."""
    found = {}
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(stat.parent.name)] = int(fields[16])
    return found


@pytest.mark.isolated  # in a process shared with the whole suite its command never started
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority")
def test_a_handed_command_runs_on_one_thread_of_lower_priority_beside_the_readers(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a handed-off command runs, the served database keeps to the command's thread
    (DuckDB threads = 1), that thread runs at a lower priority, and readers keep answering;
    afterwards the setting is back and no thread is left at the lower priority (DuckDB's
    workers are started again from a thread of normal priority)."""
    cli_main = importlib.import_module("omnikpi.cli.main")  # the module, not its function
    seen: dict[str, object] = {}
    running, finish = threading.Event(), threading.Event()

    def command(argv: list[str]) -> None:
        seen["argv"] = argv
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        with Warehouse.open(shop) as warehouse:  # the command's own connection
            seen["threads"] = warehouse.database_setting("threads")
            seen["orders"] = warehouse.fetch_value("SELECT count(*) FROM orders")
        running.set()
        assert finish.wait(timeout=180)
        console.print("done")

    monkeypatch.setattr(cli_main, "main", command)
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with own(shop) as owner:
        owner.set_database_setting("threads", 2)
        argv = ["ingest", "status", "--warehouse", str(shop)]
        lines: list[dict[str, object]] = []
        streaming = threading.Thread(
            target=lambda: lines.extend(json.loads(raw) for raw in run_command(argv, {}))
        )
        streaming.start()
        assert running.wait(timeout=180)
        with Warehouse.open(shop, read_only=True) as reader:  # a page, meanwhile
            assert reader.fetch_value("SELECT count(*) FROM orders") == 1
            assert reader.database_setting("threads") == "1"
        finish.set()
        streaming.join(timeout=60)
        for thread in threading.enumerate():  # the command's lead sets the database back
            if thread.name.startswith("omnikpi-handoff"):
                thread.join(timeout=60)
        assert owner.database_setting("threads") == "2"
        owner.fetch_value("SELECT sum(range) FROM range(1000000)")  # the workers run again
        for _ in range(600):  # a joined thread may take a moment more to leave the system
            if set(_nice_of_threads().values()) == {base}:
                break
            time.sleep(0.05)
        assert set(_nice_of_threads().values()) == {base}
    assert seen == {
        "argv": argv,
        "nice": min(base + HANDED_OFF_NICENESS, 19),
        "threads": "1",
        "orders": 1,
    }
    assert lines == [{"stream": "out", "text": "done\n"}, {"exit": 0}]
