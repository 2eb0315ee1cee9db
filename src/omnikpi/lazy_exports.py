"""Package exports imported on first use (PEP 562), so `omnikpi --help` or a small load
does not import the KPI engine, Ibis or FastAPI it never uses.

>>> __getattr__ = lazy_exports(__name__, {"omnikpi.kpi.engine": ("KpiQuery",)})  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each exported name from its module
    (`modules`: module -> names) on first use and keeps it in the package."""
    exports = {name: module for module, names in modules.items() for name in names}
    namespace = sys.modules[package].__dict__

    def exported(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    return exported
