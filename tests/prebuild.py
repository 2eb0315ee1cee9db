"""Build the test run's shared warehouses (`tests.conftest.SHARED_BUILDS`) in the
background: `python -m tests.prebuild BASETEMP FD...`, started by the test session with
each build's lock already taken (FD: the lock files, in the order of SHARED_BUILDS); each
lock is released as soon as its build is done, so a worker needing it waits only that
long. A build that fails leaves no file: the worker that needs it then builds it itself
and shows the error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tests.conftest import SHARED_BUILDS


def main(base: Path, fds: list[int]) -> None:
    for (name, build), fd in zip(SHARED_BUILDS.items(), fds, strict=True):
        path = base / name
        started = time.perf_counter()
        try:
            if not path.exists():
                path.parent.mkdir(exist_ok=True)
                build(path)
            print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
        except BaseException as exc:  # the worker that needs it rebuilds it and reports
            print(f"{name}: failed ({exc!r})", flush=True)
            for leftover in path.parent.glob(f"{path.stem}*"):
                leftover.unlink()
        finally:
            os.close(fd)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(fd) for fd in sys.argv[2:]])
