"""Ingestion stands below the KPI engine and the interfaces (DESIGN.md §2): it imports
nothing from omnikpi.kpi, omnikpi.services, omnikpi.web or omnikpi.cli, and holds no
database connection of its own (the Warehouse's SQL methods do its work)."""

from __future__ import annotations

import ast
from pathlib import Path

INGEST = Path(__file__).parents[2] / "src" / "omnikpi" / "ingest"
FORBIDDEN = ("omnikpi.kpi", "omnikpi.services", "omnikpi.web", "omnikpi.cli")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_ingest_imports_nothing_from_kpi_services_web_or_cli() -> None:
    wrong = [
        f"{path.name}:{line} imports {module}"
        for path in sorted(INGEST.rglob("*.py"))
        for line, module in imported_modules(path)
        if forbidden(module)
    ]
    assert wrong == []


def test_the_rule_sees_imports_inside_functions(tmp_path: Path) -> None:
    """As the refresh after a load was once written, inside a function."""
    probe = tmp_path / "load.py"
    probe.write_text(
        "import omnikpi.warehouse\n"
        "def after_load():\n    from omnikpi.kpi.rollups import refresh_after_load\n",
        encoding="utf-8",
    )
    found = imported_modules(probe)
    assert found == [(1, "omnikpi.warehouse"), (3, "omnikpi.kpi.rollups")]
    assert [forbidden(module) for _, module in found] == [False, True]
    assert not forbidden("omnikpi.kpistats")


def test_ingest_holds_no_database_connection() -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(INGEST.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ".raw" in line.split("#")[0].replace(".raw_name", "")
        or "DuckDBPyConnection" in line
        or "duckdb.connect" in line
    ]
    assert found == []
