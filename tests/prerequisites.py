"""What a test needs beyond Python packages: skipped on a laptop that lacks it, a failure
under CI.

A test that needs chromium, PostgreSQL, node or the CDNOW files asks for it here, never with
its own `pytest.skip`: with `CI=true` in the environment (`.ci/run` sets it) a missing
prerequisite fails the run, naming what is missing and the command that installs it, so that
a suite can never pass because its browser, database or data was not there.

>>> require("python", True, "apt-get install python3")  # present: nothing happens
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

#: Installs chromium, node and PostgreSQL, starts PostgreSQL and creates its `test` database.
TEST_DEPS = "bash scripts/test-deps.sh"


def in_ci() -> bool:
    """Whether this is CI's run (`CI=true`, as GitHub Actions, GitLab and `.ci/run` set)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(name: str, available: bool, how_to_install: str, *, detail: str = "") -> None:
    """Go on if `available`; else skip the test, or fail it under CI.

    `name` says what is missing ("node"), `how_to_install` the command that installs it.
    """
    if not available:
        missing(name, how_to_install, detail=detail)


def missing(name: str, how_to_install: str, *, detail: str = "") -> NoReturn:
    """Skip the test because `name` is missing, or fail it under CI."""
    found = f" ({' '.join(detail.split())})" if detail else ""  # on one line
    message = f"{name} is missing{found}; install it with: {how_to_install}"
    if in_ci():
        pytest.fail(f"CI=true and a test prerequisite is missing: {message}", pytrace=False)
    pytest.skip(message)


def require_chromium(executable: Path) -> None:
    """Debian's chromium (the browser tests never download Playwright's own)."""
    require(
        f"Debian's chromium at {executable}",
        executable.exists(),
        f"apt-get install chromium, or {TEST_DEPS}",
    )


def require_node() -> None:
    """node on the PATH (it runs the collector's JavaScript snippet)."""
    require("node", shutil.which("node") is not None, f"apt-get install nodejs, or {TEST_DEPS}")


def require_cdnow(folder: Path) -> None:
    """The CDNOW purchase files (../shared/data/cdnow, see its README)."""
    names = ("CDNOW_master.txt", "CDNOW_sample.txt")
    require(
        f"the CDNOW data set in {folder}",
        all((folder / name).exists() for name in names),
        f"mkdir -p {folder} and copy {' and '.join(names)} into it "
        "(from the lifetimes package, lifetimes/datasets/)",
    )


def missing_postgres(detail: str) -> NoReturn:
    """No PostgreSQL server with a `test` database answers at 127.0.0.1:5432."""
    missing(
        "a PostgreSQL server at 127.0.0.1:5432 with a database named test", TEST_DEPS, detail=detail
    )
