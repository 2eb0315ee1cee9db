"""Handing a command to the server that owns its warehouse.

While `omnikpi serve` runs, no other process can open its warehouse (DuckDB lets one
process write a file and then no other open it). `omnikpi ingest`, `targets` and
`kpi refresh` therefore look for a server announced beside the warehouse
(`omnikpi.services.writer.find_server`) and, when one runs, send it their command line
(paths made absolute: the server reads the files from the same machine) on its local
endpoint, authenticated with its admin token. The server runs the same command through
the warehouse it owns — the same service functions, one write at a time, its pages still
answering — and streams back what it prints as NDJSON lines (`{"stream": "out"|"err",
"text": ...}`, then `{"exit": code}`); the CLI prints them and exits with that code, as
if it had run the command itself. Without a server the command runs here, as always.

    >>> hand_off(ctx, warehouse)  # doctest: +SKIP  (first line of a command; exits if handed)
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, TextIO, cast

import typer

from omnikpi.errors import ConfigError
from omnikpi.services.writer import (
    HANDOFF_PATH,
    TOKEN_HEADER,
    ServerInfo,
    beside_readers,
    find_server,
    lower_thread_priority,
)
from omnikpi.settings import load_settings

#: The commands a server runs for the CLI (their first words).
HANDED_OFF = frozenset(
    {
        ("ingest",),
        ("ingest", "status"),
        ("targets", "import"),
        ("targets", "list"),
        ("kpi", "refresh"),
        ("kpi", "show"),
        ("kpi", "query"),
        ("warehouse", "info"),
        ("warehouse", "set"),
        ("customers", "forget"),
        ("customers", "segments"),
        ("customers", "transitions"),
        ("customers", "rfm"),
        ("customers", "cohorts"),
        ("customers", "show"),
        ("customers", "list"),
        ("customers", "refresh"),
        ("customers", "clv"),
        ("customers", "top"),
        ("analyze", "catchment"),
        ("customers", "affinity"),
        ("audiences",),
        ("workspace", "sql"),
    }
)
#: Environment variables of the CLI that the command reads, sent with it.
FORWARDED_ENV = ("OMNIKPI_PSEUDONYM_KEY",)
#: The CLI's other OMNIKPI_ variables are sent too, and the server runs the command only if
#: its own are the same (a time zone or catalog of the CLI's would otherwise be ignored
#: without a word); the warehouse is named on the command line instead.
_NOT_COMPARED = frozenset({*FORWARDED_ENV, "OMNIKPI_WAREHOUSE"})


# -- the CLI's side -------------------------------------------------------------------------
def hand_off(ctx: Any, warehouse: Path | None) -> None:
    """When a server owns the warehouse, run this command there (printing what it prints)
    and exit with its exit code; otherwise return, and the command runs here."""
    settings = load_settings(warehouse=warehouse)
    server = find_server(settings)
    if server is None:
        return
    env = {name: value for name, value in os.environ.items() if name.startswith("OMNIKPI_")}
    code = run_on_server(server, command_line(ctx, settings.warehouse), env)
    if code is not None:
        raise typer.Exit(code)


def command_line(ctx: Any, warehouse: Path) -> list[str]:
    """The command line of `ctx`'s command as the server should run it: options first,
    paths absolute, the warehouse named."""
    command, words = ctx, list[str]()
    while ctx.parent is not None:  # the names of the command and its groups, not the root
        words.insert(0, ctx.info_name)
        ctx = ctx.parent
    options: list[str] = []
    arguments: list[str] = []
    for param in command.command.params:
        value = command.params.get(param.name)
        if param.name == "warehouse" or value is None or value is False:
            continue
        values = list(value) if isinstance(value, list | tuple) else [value]
        texts = [_text(v) for v in values]
        if param.param_type_name == "argument":
            arguments.extend(texts)
        elif getattr(param, "is_flag", False):
            options.append(param.opts[0])
        else:
            for text in texts:
                options.extend([param.opts[0], text])
    return [*words, *options, "--warehouse", str(warehouse.absolute()), *arguments]


def _text(value: object) -> str:
    if isinstance(value, Path):
        return str(value.absolute())
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def run_on_server(
    server: ServerInfo, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> int | None:
    """Run `argv` on `server`, printing its output as it comes; its exit code (None: the
    server did not answer, so the caller runs the command itself)."""
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    body = json.dumps({"argv": list(argv), "env": dict(env or {}), "width": width}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{HANDOFF_PATH}",
        data=body,
        headers={"Content-Type": "application/json", TOKEN_HEADER: server.token},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        response = opener.open(request)
    except urllib.error.HTTPError as exc:
        raise ConfigError(
            f"the server running on this warehouse (pid {server.pid}, port {server.port}) "
            f"refused the command ({exc.code} {exc.reason}); stop it to run the command here"
        ) from None
    except OSError:
        return None  # not listening (starting or gone): the command runs here
    with response:
        for raw in response:
            line = json.loads(raw)
            if "exit" in line:
                return int(line["exit"])
            stream = sys.stderr if line.get("stream") == "err" else sys.stdout
            stream.write(str(line.get("text", "")))
            stream.flush()
    raise ConfigError(
        f"the server (pid {server.pid}) stopped before the command finished; see "
        "`omnikpi ingest status` once it runs again, or run the command again"
    )


# -- the server's side ----------------------------------------------------------------------
_RUNNING = threading.Lock()


def allowed(argv: Sequence[str]) -> bool:
    """Whether the server runs this command line for the CLI."""
    words = [word for word in argv[:2] if not word.startswith("-")]
    return tuple(words[:1]) in HANDED_OFF or tuple(words) in HANDED_OFF


def run_command(
    argv: Sequence[str], env: Mapping[str, str], width: int | None = None
) -> Iterator[bytes]:
    """Run an omnikpi command line in this process (one at a time), yielding what it
    prints and then its exit code as NDJSON lines."""
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
    differing = settings_differing(env)
    if differing:
        yield (json.dumps({"stream": "err", "text": f"Error: {differing}\n"}) + "\n").encode()
        yield (json.dumps({"exit": 2}) + "\n").encode()
        return

    def work() -> None:
        from omnikpi.cli.main import main

        code = 1
        lower_thread_priority()  # this thread is the command's alone and ends with it
        try:
            with _RUNNING, _captured(lines, width), _environment(env):
                try:
                    main(list(argv))
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except Exception as exc:  # reported to the CLI, the server keeps running
                    lines.put({"stream": "err", "text": f"Error: {exc}\n"})
        finally:
            lines.put({"exit": code})
            lines.put(None)

    def supervise(warehouse: Path) -> None:
        # While the command runs (on a thread of lower priority), the database keeps to
        # that thread; this one, of normal priority, sets it back whatever the client does.
        with beside_readers(warehouse):
            worker = threading.Thread(target=work, name="omnikpi-handoff", daemon=True)
            worker.start()
            worker.join()

    if "--warehouse" in argv:  # `command_line` always names it
        warehouse = Path(argv[list(argv).index("--warehouse") + 1])
        lead = threading.Thread(target=supervise, args=(warehouse,), name="omnikpi-handoff-lead")
        lead.daemon = True
        lead.start()
    else:
        threading.Thread(target=work, name="omnikpi-handoff", daemon=True).start()
    while (line := lines.get()) is not None:
        yield (json.dumps(line) + "\n").encode()


def settings_differing(env: Mapping[str, str]) -> str | None:
    """Why this server would not run a command as the CLI that sent `env` would have run it
    (its OMNIKPI_ settings differ), or None.

    >>> settings_differing({"OMNIKPI_TIME_ZONE": "UTC"})  # doctest: +SKIP
    'the server runs with OMNIKPI_TIME_ZONE unset, this command with OMNIKPI_TIME_ZONE=UTC; ...'
    """
    ours = {n: v for n, v in os.environ.items() if n.startswith("OMNIKPI_")}
    names = sorted((set(ours) | set(env)) - _NOT_COMPARED)
    different = [name for name in names if ours.get(name) != env.get(name)]
    if not different:
        return None

    def shown(values: Mapping[str, str], name: str) -> str:
        return f"{name}={values[name]}" if name in values else f"{name} unset"

    return (
        f"the server running on this warehouse runs with "
        f"{', '.join(shown(ours, name) for name in different)}, this command with "
        f"{', '.join(shown(env, name) for name in different)}; run the command with the "
        "server's settings, or stop the server to run it here with yours"
    )


class _Stream:
    """A text stream that sends what is written to it as lines of one stream's output."""

    def __init__(self, lines: queue.Queue[dict[str, Any] | None], name: str) -> None:
        self.lines, self.name = lines, name

    def write(self, text: str) -> int:
        if text:
            self.lines.put({"stream": self.name, "text": text})
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@contextmanager
def _captured(lines: queue.Queue[dict[str, Any] | None], width: int | None) -> Iterator[None]:
    from omnikpi.cli.output import console, error_console

    # The private fields: `file` reads sys.stdout or sys.stderr at each use when unset.
    saved = [(c, c._file, c._width) for c in (console, error_console)]
    console.file = cast(TextIO, _Stream(lines, "out"))
    error_console.file = cast(TextIO, _Stream(lines, "err"))
    console.width = width or 160
    try:
        yield
    finally:
        for target, file, chosen in saved:
            target._file, target._width = file, chosen


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    names = [name for name in FORWARDED_ENV if name in env]
    saved = {name: os.environ.get(name) for name in FORWARDED_ENV}
    for name in FORWARDED_ENV:
        os.environ.pop(name, None)
    os.environ.update({name: env[name] for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Commands:
    """The CLI's commands as a server runs them (`omnikpi.services.writer.CommandRunner`)."""

    def allowed(self, argv: Sequence[str]) -> bool:
        return allowed(argv)

    def run(
        self, argv: Sequence[str], env: Mapping[str, str], width: int | None
    ) -> Iterator[bytes]:
        return run_command(argv, env, width)


#: What `omnikpi serve` gives the app to run the commands the CLI hands it.
COMMANDS = _Commands()
