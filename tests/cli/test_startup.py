"""The CLI starts fast: a command imports only what it needs.

`omnikpi --help` lists the commands without importing them (`main.COMMANDS`), and the
packages the commands reach (services, KPI, ingestion) import their exports on first use,
so `omnikpi --help` and a file load never import the KPI engine, Ibis or FastAPI for
nothing. Each check runs in a fresh interpreter and reads `sys.modules` afterwards.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperCommand

from omnikpi.cli.main import COMMANDS, load_command
from tests.conftest import run_cli

SOURCE = Path(__file__).parents[2] / "src" / "omnikpi"
#: Imported by the KPI engine, the web app or the warehouse; not by `omnikpi --help`.
HEAVY = ("fastapi", "ibis", "omnikpi.kpi.engine", "duckdb", "pandas", "omnikpi.warehouse")


def imported_after(*args: str) -> dict[str, Any]:
    """Run `omnikpi ARGS` in a fresh interpreter: its exit code and the modules it imported."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from omnikpi.cli import main
        try:
            main({list(args)!r})
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    return dict(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_no_engine_no_web_framework() -> None:
    found = imported_after("--help")
    assert found["code"] == 0
    assert [name for name in HEAVY if name in found["modules"]] == []
    commands = {m for m in found["modules"] if m.startswith("omnikpi.cli.")}
    assert commands == {"omnikpi.cli.main", "omnikpi.cli.output"}


def test_a_command_s_help_imports_that_command_only() -> None:
    found = imported_after("ingest", "--help")
    assert found["code"] == 0
    assert [name for name in HEAVY if name in found["modules"]] == []
    commands = {m for m in found["modules"] if m.startswith("omnikpi.cli.")}
    assert "omnikpi.cli.ingest" in commands
    assert commands.isdisjoint({"omnikpi.cli.kpi", "omnikpi.cli.demo", "omnikpi.cli.serve"})


def write_customers(tmp_path: Path) -> tuple[Path, Path]:
    """A customers file and its mapping."""
    customers = tmp_path / "customers.csv"
    customers.write_text("id,joined\nC1,2025-01-02\n", encoding="utf-8")
    mapping = tmp_path / "customers.yaml"
    mapping.write_text(
        "tables:\n  customers:\n    columns:\n      customer_id: id\n      created_at: joined\n"
        "      acquisition_channel: {value: web}\n      gender: {value: unknown}\n"
        "      is_member: {value: true}\n      is_business: {value: false}\n",
        encoding="utf-8",
    )
    return customers, mapping


def test_a_dry_run_load_imports_neither_the_kpi_engine_nor_fastapi(tmp_path: Path) -> None:
    """A load reads and checks files with DuckDB; the collector's web framework and the
    KPI engine (needed only to refresh rollups after a load changed tables) stay out."""
    customers, mapping = write_customers(tmp_path)
    warehouse = str(tmp_path / "w.duckdb")
    found = imported_after(
        "ingest", "-w", warehouse, "-m", str(mapping), str(customers), "--dry-run"
    )
    assert found["code"] == 0
    assert "omnikpi.ingest.pipeline" in found["modules"]  # it did load
    assert [m for m in ("fastapi", "omnikpi.kpi.engine") if m in found["modules"]] == []


def test_a_load_that_changes_nothing_refreshes_no_rollups(tmp_path: Path) -> None:
    customers, mapping = write_customers(tmp_path)
    load = ("ingest", "-w", str(tmp_path / "w.duckdb"), "-m", str(mapping), str(customers))
    assert run_cli(*load) == 0  # the first load changes customers (and refreshes rollups)
    found = imported_after(*load)
    assert found["code"] == 0
    assert [m for m in ("fastapi", "omnikpi.kpi.engine") if m in found["modules"]] == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_summary_is_the_command_s_own(name: str) -> None:
    """`omnikpi --help` lists `COMMANDS` summaries; each is what the command itself says."""
    command = load_command(name)
    listed = TyperCommand(name, help=COMMANDS[name].summary)
    for limit in (45, 70, 200):
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_runs_through_the_lazy_group(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert run_cli(name, "--help") == 0
        assert f"Usage: omnikpi {name}" in capsys.readouterr().out


def test_a_mistyped_command_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("ingets") == 2
    assert "No such command 'ingets'. Did you mean 'ingest', 'targets'?" in capsys.readouterr().err


# -- lazy package exports (PEP 562) ---------------------------------------------------------
def type_checking_imports(package: str) -> dict[str, str]:
    """Name → module of the imports in a package's `if TYPE_CHECKING:` block."""
    path = SOURCE.joinpath(*package.split(".")[1:], "__init__.py")
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.body:
                assert isinstance(child, ast.ImportFrom)
                assert child.module is not None
                found |= {alias.name: child.module for alias in child.names}
    return found


@pytest.mark.parametrize("package", ["omnikpi.services", "omnikpi.kpi", "omnikpi.ingest"])
def test_lazy_exports_are_the_typed_ones(package: str) -> None:
    """Every name of `__all__` is typed (the TYPE_CHECKING imports), imported from the same
    module on first use, and is the object that module defines."""
    module = importlib.import_module(package)
    typed = type_checking_imports(package)
    exports = {name: source for source, names in module._MODULES.items() for name in names}
    assert set(module.__all__) == set(typed) == set(exports)
    for name, source in typed.items():
        assert exports[name] == source
        assert getattr(module, name) is getattr(importlib.import_module(source), name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_importing_one_service_does_not_import_the_others() -> None:
    script = (
        "import sys, omnikpi.services.export, omnikpi.kpi.spec; "
        "print(' '.join(m for m in ('omnikpi.kpi.engine', 'fastapi', 'omnikpi.services.query') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
