"""`omnikpi customers forget`: forgets a customer through the service, audited as the
person at the command line; beside a running server the server does it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore, app_state_path, audit_entries
from omnikpi.auth.audit import AuditEvent
from omnikpi.warehouse import Warehouse
from tests.cli.test_handoff import cli, serving
from tests.conftest import run_cli
from tests.services.forget_data import CUSTOMER_ID, build_forget_warehouse


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forget-cli")
    return build_forget_warehouse(folder / "shop.duckdb", rollups=False)


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(template, tmp_path / "shop.duckdb"))


def orders_of(shop: Path, customer_id: str) -> int:
    with Warehouse.open(shop, read_only=True) as warehouse:
        sql = "SELECT count(*) FROM orders WHERE customer_id = $c"
        return int(warehouse.fetch_value(sql, {"c": customer_id}))


def forgotten(shop: Path) -> list[tuple[str | None, str | None, str | None]]:
    store = AppStateStore.open(app_state_path(shop))
    entries = audit_entries(store, event=AuditEvent.CUSTOMER_FORGOTTEN)
    return [(e.username, e.subject, e.purpose) for e in entries]


def test_forget_prints_what_changed_and_is_audited_once(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("customers", "forget", CUSTOMER_ID, "--reason", "request #88", "-w", str(shop))
    out = capsys.readouterr().out
    assert code == 0
    assert orders_of(shop, CUSTOMER_ID) == 0
    [(username, tombstone, purpose)] = forgotten(shop)
    assert username is not None
    assert username.startswith("cli:")
    assert purpose == "request #88"
    assert tombstone is not None
    assert orders_of(shop, tombstone) == 4
    assert f"now refer to {tombstone}" in out
    assert "orders" in out
    assert CUSTOMER_ID not in out

    assert run_cli("customers", "forget", CUSTOMER_ID, "-w", str(shop)) == 0
    assert "already forgotten on 20" in capsys.readouterr().out
    assert len(forgotten(shop)) == 1


def test_an_unknown_customer_is_one_line_and_exit_2(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("customers", "forget", "nobody-42", "-w", str(shop)) == 2
    assert 'customer "nobody-42" is not in the warehouse' in capsys.readouterr().err
    assert forgotten(shop) == []


@pytest.mark.slow
def test_beside_a_server_the_server_forgets(shop: Path) -> None:
    with serving(shop):
        done = cli("customers", "forget", CUSTOMER_ID, "-w", shop.name, cwd=shop.parent)
    assert done.returncode == 0, done.stderr
    assert "now refer to forgotten-" in done.stdout
    assert orders_of(shop, CUSTOMER_ID) == 0
    assert len(forgotten(shop)) == 1
