"""The served app while data loads: 8 clients read pages and the API while three
`omnikpi ingest` commands (handed to the server, which owns the warehouse) and a flush of
the mounted collector write it. No read fails or waits for a 503, every load succeeds, and
the values read after each load include it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from omnikpi.auth import Action, AppStateStore, app_state_path
from omnikpi.auth.roles import Role, UserRole
from omnikpi.auth.sessions import start_session
from omnikpi.auth.tokens import create_api_token
from omnikpi.auth.users import create_user
from omnikpi.cli.handoff import COMMANDS
from omnikpi.services.collector import event_collector
from omnikpi.settings import Settings
from omnikpi.web import create_app
from omnikpi.web.security import SESSION_COOKIE
from tests.cli.test_handoff import cli, serving_app
from tests.conftest import run_cli
from tests.ingest.conftest import NOW, write
from tests.ingest.test_validate import HEADER, SHOP
from tests.services.test_collector import EVENT

pytestmark = pytest.mark.slow
SERIES = "/api/v1/kpis/orders/series?grain=month&start=2010-12-01&end=2010-12-31"
CLIENTS = 8


def order_file(folder: Path, number: int) -> Path:
    line = f"{1000 + number},C{number},Online,{number:02d}/12/2010,Paid,{number}.00\n"
    return write(folder / f"orders_{number}.csv", HEADER + line)


def test_reads_never_fail_while_the_cli_and_the_collector_load(tmp_path: Path) -> None:
    warehouse = tmp_path / "shop.duckdb"
    write(tmp_path / "shop.yaml", SHOP)
    assert (
        run_cli(
            "ingest",
            "-m",
            str(tmp_path / "shop.yaml"),
            str(order_file(tmp_path, 1)),
            "-w",
            str(warehouse),
        )
        == 0
    )
    settings = Settings(warehouse=warehouse)
    store = AppStateStore.open(app_state_path(warehouse))
    user = create_user(store, "ada", "a long enough password", UserRole(Role.ADMIN))
    _, secret = create_api_token(
        store, "ada", "reader", frozenset({Action.READ_KPIS, Action.VIEW_DATA_STATUS})
    )
    collector = event_collector(settings)
    collector.clock = lambda: NOW
    statuses: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def orders(client: httpx.Client) -> float:
        response = client.get(SERIES)
        assert response.status_code == 200, response.text
        return sum(row["value"] or 0 for row in response.json()["rows"])

    with serving_app(
        settings,
        lambda port: create_app(
            settings,
            store=store,
            collector=collector,
            own_warehouse=True,
            handoff_port=port,
            commands=COMMANDS,
        ),
    ) as (app, base):
        cookie = app.state.context.signer.sign(start_session(store, user), "session")
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"})
        assert orders(api) == 1

        def read(number: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                client.headers["Authorization"] = f"Bearer {secret}"
                client.cookies.set(SESSION_COOKIE, cookie)
                paths = [
                    SERIES,
                    "/home",
                    "/status",
                    "/api/v1/status",
                    SERIES.replace("month", "day"),
                ]
                turn = number
                try:
                    while not stop.is_set():
                        statuses.append(client.get(paths[turn % len(paths)]).status_code)
                        turn += 1
                except BaseException as exc:  # reported below
                    failures.append(exc)

        readers = [threading.Thread(target=read, args=(n,)) for n in range(CLIENTS)]
        for thread in readers:
            thread.start()
        try:
            seen = []
            for number in (2, 3, 4):
                loaded = cli(
                    "ingest",
                    "-m",
                    "shop.yaml",
                    order_file(tmp_path, number).name,
                    "-w",
                    warehouse.name,
                    cwd=tmp_path,
                )
                assert loaded.returncode == 0, loaded.stdout + loaded.stderr
                assert "Loaded shop" in loaded.stdout
                seen.append(orders(api))  # what a reader sees once the load has returned
            collector.accept(json.dumps({"events": [EVENT]}).encode())
            flushed = collector.flush()
            assert flushed is not None
            assert flushed.status == "loaded"
            assert api.get("/api/v1/status").status_code == 200
        finally:
            stop.set()
            for thread in readers:
                thread.join()
            api.close()
    assert not failures
    assert seen == [2, 3, 4]
    assert len(statuses) >= CLIENTS
    assert set(statuses) == {200}, sorted(set(statuses))  # never a 5xx, never a 503
