"""The architecture's one-way rules (DESIGN.md §2), read from the source:

    model → warehouse → kpi / ingest / simulate / auth → services → web / cli

A package imports only packages of a lower layer (or itself); computation packages do not
import each other; the CLI and the web app reach everything through `services` (plus the
foundations: errors, settings, i18n, and auth for sign-in); only `warehouse` holds a
database connection; no module imports itself back through a chain of others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "omnikpi"

#: Each top-level part of omnikpi and its layer; a package imports only lower layers.
LAYERS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "lazy_exports": 0,
    "settings": 1,
    "i18n": 1,
    "model": 2,
    "warehouse": 3,
    "kpi": 4,
    "ingest": 4,
    "simulate": 4,
    "auth": 4,
    "customers": 4,
    "marketing": 4,
    "audiences": 4,
    "services": 5,
    "web": 6,
    "cli": 6,
}
#: The interfaces reach the rest only through these.
INTERFACE_IMPORTS = {"services", "errors", "settings", "i18n", "auth", "__init__"}
#: Imports allowed against the layering, each with its reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("cli", "web"): "`omnikpi serve` and `omnikpi demo` start the web app",
    ("customers", "kpi"): "segment rules are written in the KPI catalog's expression language",
    ("audiences", "customers"): "audience rules read the customer 360 and its local days",
    ("audiences", "marketing"): "campaign readouts use the experiments' statistics, no copy",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every omnikpi import in a file, at any depth, except imports
    needed only by the type checker."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(child) for child in ast.walk(node)}
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("omnikpi"):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.startswith("omnikpi"):
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    yield node.lineno, full if _is_module(full) else module


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in _source_files()}
    assert parts - set(LAYERS) == set(), "give each new package a layer in LAYERS"


def test_imports_follow_the_layers() -> None:
    wrong = []
    for path in _source_files():
        own = _part(_module_name(path))
        for line, module in _imports(path):
            target = _part(module)
            if target == own or (own, target) in EXCEPTIONS:
                continue
            interface = LAYERS[own] == LAYERS["web"] and target not in INTERFACE_IMPORTS
            if LAYERS[target] >= LAYERS[own] or interface:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert wrong == []


def test_only_the_warehouse_holds_a_connection() -> None:
    found = []
    for path in _source_files():
        if path.relative_to(PACKAGE).parts[0] == "warehouse":
            continue
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            if ".raw." in line or line.rstrip().endswith(".raw") or "duckdb.connect(" in line:
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert found == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _source_files():
        name = _module_name(path)
        graph[name] = {module for _, module in _imports(path) if module != name}
    return graph


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports (a package's __init__ re-exporting
    its modules is not a cycle of the modules)."""
    graph = _graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str], seen: set[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target == path[0]:
                cycles.append([*path, target])
            elif target not in seen and target in graph and not _is_package(target):
                seen.add(target)
                visit(target, [*path, target], seen)

    for module in sorted(graph):
        if not _is_package(module):
            visit(module, [module], {module})
    assert cycles == []


def _is_package(module: str) -> bool:
    return PACKAGE.parent.joinpath(*module.split("."), "__init__.py").is_file()
