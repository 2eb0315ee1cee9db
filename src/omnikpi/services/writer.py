"""The warehouse a server owns: while `omnikpi serve` runs, its process keeps the file open
for writing, its pages and API read the last committed state on their own connections
(never blocked by a load, never a 503), and its writes — the mounted collector's flushes,
loads, refreshes — run one at a time.

No other process can open the file meanwhile, so the server says where it listens in
`<warehouse>.server.json` (pid and port) with an admin token in `<warehouse>.server.token`
(mode 0600); `omnikpi ingest`, `targets`, `kpi` find it (`find_server`) and hand their
command to its local endpoint (`omnikpi.cli.handoff`).

    >>> with owned_warehouse(settings):  # doctest: +SKIP
    ...     uvicorn.run(app)
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import is_owned, one_thread, own

__all__ = [
    "HANDOFF_PATH",
    "TOKEN_HEADER",
    "CommandRunner",
    "ServerInfo",
    "announced",
    "beside_readers",
    "discovery_path",
    "find_server",
    "lower_thread_priority",
    "owned_warehouse",
    "serves_warehouse",
    "token_path",
]


@contextmanager
def owned_warehouse(settings: Settings) -> Iterator[Warehouse]:
    """Own the settings' (existing) warehouse while the block runs: `read_warehouse` and
    `write_warehouse` of this process then share its database."""
    with own(settings.warehouse) as warehouse:
        yield warehouse


def serves_warehouse(settings: Settings) -> bool:
    """Whether this process owns the settings' warehouse (a server is running in it)."""
    return is_owned(settings.warehouse)


#: How much lower than the server's own the priority of a handed-off command's thread is
#: (a `nice` increment: 0 is the same, 19 the lowest).
HANDED_OFF_NICENESS = 10


@contextmanager
def beside_readers(warehouse: Path) -> Iterator[bool]:
    """Run the block's work on the server's warehouse beside its readers: while it runs,
    the database runs each statement on the thread that sends it only (no pool of DuckDB
    worker threads), so a handed-off load, kept to its one thread and lowered in priority
    there (`lower_thread_priority`), leaves the other cores to the pages. Enter and leave
    it from a thread of normal priority (DuckDB's workers, started again when it ends,
    take the priority of that thread). Yields False, changing nothing, when this process
    does not own `warehouse`.

    >>> with beside_readers(settings.warehouse):  # doctest: +SKIP
    ...     run_in_a_thread_of_lower_priority(load)
    """
    with one_thread(warehouse) as changed:
        yield changed


def lower_thread_priority(niceness: int = HANDED_OFF_NICENESS) -> bool:
    """Lower the calling thread's CPU priority by `niceness` for the rest of its life (an
    unprivileged process cannot raise it again: call it in a thread made for the work).
    Linux only, where a thread has its own priority; elsewhere, or when refused, nothing
    changes. Returns whether it changed.

    >>> threading.Thread(target=lambda: (lower_thread_priority(), load())).start()  # doctest: +SKIP
    """
    if not sys.platform.startswith("linux") or niceness <= 0:
        return False
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + niceness, 19))
    except OSError:
        return False
    return True


# -- handing commands to the server --------------------------------------------------------
#: The server's endpoint that runs a handed-off command (local clients only).
HANDOFF_PATH = "/internal/run"
#: Header carrying the server's admin token.
TOKEN_HEADER = "X-Omnikpi-Admin-Token"


class CommandRunner(Protocol):
    """What runs the commands the CLI hands to a server (`omnikpi.cli.handoff.COMMANDS`)."""

    def allowed(self, argv: Sequence[str]) -> bool:
        """Whether the server runs this command line."""
        ...

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], width: int | None
    ) -> Iterator[bytes]:
        """Run it here, yielding what it prints and its exit code as NDJSON lines."""
        ...


@dataclass(frozen=True)
class ServerInfo:
    """A running server that owns a warehouse: its process, its loopback port and the
    admin token its local endpoint takes."""

    pid: int
    port: int
    token: str


def discovery_path(warehouse: Path) -> Path:
    """`<warehouse>.server.json`: the running server's pid and port."""
    return warehouse.with_name(f"{warehouse.name}.server.json")


def token_path(warehouse: Path) -> Path:
    """`<warehouse>.server.token`: the running server's admin token (mode 0600)."""
    return warehouse.with_name(f"{warehouse.name}.server.token")


@contextmanager
def announced(settings: Settings, port: int) -> Iterator[str]:
    """Say, beside the warehouse, that this process serves it on 127.0.0.1:`port`, with a
    new random admin token (readable by its owner only); removed when the block ends.
    Yields the token."""
    token = secrets.token_urlsafe(32)
    secret = token_path(settings.warehouse)
    secret.unlink(missing_ok=True)
    descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(token)
    discovery = discovery_path(settings.warehouse)
    discovery.write_text(json.dumps({"pid": os.getpid(), "port": port}), encoding="utf-8")
    try:
        yield token
    finally:
        if _read_json(discovery).get("pid") == os.getpid():  # not a newer server's
            discovery.unlink(missing_ok=True)
            secret.unlink(missing_ok=True)


def find_server(settings: Settings) -> ServerInfo | None:
    """The server running for the settings' warehouse, if another process announced one
    and is still alive (a file left by a dead one is ignored); None in the server itself."""
    if is_owned(settings.warehouse):
        return None
    found = _read_json(discovery_path(settings.warehouse))
    pid, port = found.get("pid"), found.get("port")
    if not isinstance(pid, int) or not isinstance(port, int) or not _alive(pid):
        return None
    try:
        token = token_path(settings.warehouse).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return ServerInfo(pid, port, token)


def _read_json(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, but not one to hand work to
        return False
    return True
