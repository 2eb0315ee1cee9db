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


# -- the analysts' views (tests/customers/tiny_retailer.py; as of 2025-06-30) ---------------
@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.customers.tiny_retailer import build_tiny_retailer

    return build_tiny_retailer(tmp_path_factory.mktemp("tiny-cli") / "tiny.duckdb")


@pytest.fixture
def tiny(tiny_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(tiny_template, tmp_path / "tiny.duckdb"))


def test_segments_as_json_and_csv(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert run_cli("customers", "segments", "--since", "2025-06-01", "--format", "json",
                   "-w", str(tiny)) == 0  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert (document["as_of"], document["withheld"]) == ("2025-06-30", 0)
    sizes = {r["segment"]: r["customers"] for r in document["rows"]}
    # See tests/customers/test_segments.py: A, I, K; B; C, H; D; E; J; F; G.
    assert sizes == {
        "negative_experience": 3,
        "hero": 1,
        "new": 2,
        "active": 1,
        "cart_abandoner": 1,
        "at_risk": 1,
        "lapsed": 1,
        "prospect": 1,
    }
    assert run_cli("customers", "segments", "--as-of", "2025-05-31", "--since", "2025-05-01",
                   "--by", "member", "--format", "csv", "-w", str(tiny)) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "as_of,member,segment,customers,share"
    assert "2025-05-31,True,active,1,1.0" in lines  # A, the only member, was active


def test_transitions_rfm_and_cohorts_tables(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("customers", "transitions", "--format", "csv", "-w", str(tiny)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "from_date,to_date,from_segment,to_segment,customers,share"
    assert "2025-05-31,2025-06-30,active,negative_experience,1,0.5" in lines
    assert run_cli("customers", "rfm", "-w", str(tiny)) == 0
    out = capsys.readouterr().out
    assert "RFM groups (as of 2025-06-30)" in out
    assert "champions" in out
    assert run_cli("customers", "cohorts", "--since", "2024-12-01", "--by", "first_channel",
                   "--format", "csv", "-w", str(tiny)) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cohort,first_channel,months_since,cohort_customers")
    assert lines[1].startswith("2024-12-01,web,0,2,2,35000.0,1.0,17500.0,17500.0,True")


def test_show_is_audited_and_unknown_or_bad_values_exit_2(
    tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert run_cli("customers", "show", "A", "--format", "json", "-w", str(tiny)) == 0
    profile = json.loads(capsys.readouterr().out)
    assert (profile["segment"], profile["rfm_group"], profile["points_balance"]) == (
        "negative_experience",
        "champions",
        70,
    )
    store = AppStateStore.open(app_state_path(tiny))
    [entry] = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert (entry.subject, entry.row_count) == ("customer A", 1)
    assert entry.username is not None
    assert entry.username.startswith("cli:")
    assert run_cli("customers", "show", "A", "-w", str(tiny)) == 0
    assert "negative_experience" in capsys.readouterr().out
    assert run_cli("customers", "show", "nobody", "-w", str(tiny)) == 2
    assert 'no customer "nobody"' in capsys.readouterr().err
    assert run_cli("customers", "segments", "--by", "planet", "-w", str(tiny)) == 2
    assert 'by "planet" is not valid' in capsys.readouterr().err
    assert run_cli("customers", "cohorts", "--as-of", "2026-01-01", "-w", str(tiny)) == 2
    assert "≤ 2025-06-30" in capsys.readouterr().err


def test_list_refresh_and_segment_overrides(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("customers", "list", "--segment", "negative_experience", "--format", "csv",
                   "-w", str(tiny)) == 0  # fmt: skip
    rows = capsys.readouterr().out.splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["A", "K", "I"]
    assert run_cli("customers", "refresh", "-w", str(tiny)) == 0
    assert "customer_profiles: 11 customers as of 2025-06-30" in capsys.readouterr().out
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "segments:\n  - {id: members, priority: 1, condition: is_member}\n", encoding="utf-8"
    )
    assert run_cli("customers", "list", "--segment", "members", "--segments", str(rules),
                   "--format", "csv", "-w", str(tiny)) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[1].startswith("A,members,")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "r.yaml").write_text(
        "segments:\n  - {id: members, priority: 1, condition: is_membr}\n", encoding="utf-8"
    )
    assert run_cli("customers", "segments", "--segments", str(bad), "-w", str(tiny)) == 2
    err = capsys.readouterr().err
    assert 'r.yaml: segment "members" condition "is_membr"' in err


@pytest.mark.slow
def test_beside_a_server_the_server_answers_and_audits(tiny: Path) -> None:
    with serving(tiny):
        done = cli("customers", "segments", "--format", "csv", "-w", tiny.name, cwd=tiny.parent)
        shown = cli("customers", "show", "B", "--format", "json", "-w", tiny.name, cwd=tiny.parent)
    assert done.returncode == 0, done.stderr
    assert "2025-06-30,hero,1," in done.stdout
    assert shown.returncode == 0, shown.stderr
    assert '"segment": "hero"' in shown.stdout
    store = AppStateStore.open(app_state_path(tiny))
    [entry] = audit_entries(store, event=AuditEvent.CUSTOMER_READ)
    assert entry.subject == "customer B"
