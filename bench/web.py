"""Web pages under load: the demo app served by `omnikpi serve` on loopback, 8 clients.

Each page is requested by the role that uses it (scorecard: executive, stage dashboard:
lead, my KPIs: a customer service agent, KPI detail and catalog: analyst), signed in
through the login form like a browser. Figures per page:

- cold: the first request after the server starts (the KPI results are not cached yet, so
  the KPI engine runs on the rollups);
- p50 / p95 under load: `--requests` requests from 8 concurrent clients, once the page's
  results are cached for the warehouse's data version (what users get until the next load);
- a KPI detail with a new period on every request (`--requests` / 2 of them, 8 clients),
  so every request runs the KPI engine: its trend, breakdown and compared period;
- during a load: `omnikpi ingest` of a `--load-rows` orders file (1M by default) into the
  served warehouse, which hands it to the server (one writer); 8 clients keep asking for
  the scorecard and the stage dashboard until the load (its rollup refresh included) ends.
  Its p95 against the same pages' p95 without a load (issue 21: within 2×), and every
  answer's status (no 5xx, no 503).

Baseline, in the same run and with the same clients: the sign-in page (a template rendered
by the same app, no data) and a static file of the app. The server's peak resident memory
(VmHWM) is read when the run ends, and the CPU time it spent per request under load (user +
system, from /proc): on a shared machine that figure moves less with the load than the
latencies do.

    python bench/web.py                          # a 20,000-customer demo: "Web during a load"
    python bench/web.py --warehouse demo.duckdb --requests 200 --no-record
    python bench/web.py --warehouse demo.duckdb --engine-only --no-record   # quick look
    python bench/web.py --load-rows 0          # without the load in progress: section "Web"
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from ingest import CUSTOMER_MAPPING, ORDERS, machine, write_files
from results import publish

#: (label, user, path) of each page measured.
PAGES = [
    ("Executive scorecard", "executive", "/scorecard"),
    ("Stage dashboard", "lead", "/stages"),
    ("Stage dashboard by quarter, members", "lead", "/stages?grain=quarter&member=member"),
    ("Stage dashboard by year", "lead", "/stages?grain=year"),
    ("My KPIs (customer service agent)", "member_cs_agent", "/my-kpis"),
    ("KPI detail (revenue, by sales channel)", "analyst", "/kpis/revenue"),
    ("KPI catalog", "analyst", "/kpis"),
]
BASELINES = [
    ("Sign-in page (template, no data)", None, "/login"),
    ("Static file (app.css)", None, "/static/app.css"),
]
CONCURRENCY = 8
#: The pages asked for while a load runs, and the users asking.
DURING_LOAD = [("executive", "/scorecard"), ("lead", "/stages")]


def omnikpi(*args: str) -> list[str]:
    """The command line of `omnikpi ARGS` with this Python."""
    return [sys.executable, "-c", "from omnikpi.cli import main; main()", *args]


def build_demo(folder: Path, customers: int) -> Path:
    """A demo warehouse with rollups and demo users, built by `omnikpi demo --no-serve`."""
    path = folder / "demo.duckdb"
    command = omnikpi("demo", "--customers", str(customers), "--warehouse", str(path), "--no-serve")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return path


def copied(warehouse: Path, folder: Path) -> Path:
    """A copy of `warehouse` and its app state (users) in `folder`."""
    copy = folder / warehouse.name
    shutil.copy2(warehouse, copy)
    state = warehouse.with_name(f"{warehouse.stem}.state.sqlite")
    if state.exists():
        shutil.copy2(state, copy.with_name(state.name))
    return copy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            errors = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"omnikpi serve stopped: {errors}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # polling a starting server; there is no event to wait on
    raise SystemExit("omnikpi serve did not start in time")


def signed_in(base: str, username: str | None) -> httpx.Client:
    """A client with a session for `username` (None: signed out), in English."""
    client = httpx.Client(base_url=base, timeout=120, cookies={"omnikpi_locale": "en"})
    form = client.get("/login").text
    if username is None:
        return client
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the login page has no CSRF token"
    response = client.post(
        "/login",
        data={"username": username, "password": "demo", "csrf_token": token.group(1), "next": "/"},
    )
    assert response.status_code in (200, 303), response.text
    return client


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return elapsed


def under_load(base: str, user: str | None, paths: list[str]) -> list[float]:
    """Seconds of each request of `paths`, sent by CONCURRENCY clients of `user`."""
    clients = [signed_in(base, user) for _ in range(CONCURRENCY)]
    queue = iter(paths)
    lock = threading.Lock()
    times: list[float] = []

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                path = next(queue, None)
            if path is None:
                return
            elapsed = timed(client, path)
            with lock:
                times.append(elapsed)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return times


@dataclass
class LoadRun:
    """The dashboard requests answered while a load ran, and the load itself."""

    rows: int
    seconds: float
    times: list[float]
    statuses: dict[int, int]
    output: str


def during_load(base: str, warehouse: Path, folder: Path, rows: int) -> LoadRun:
    """Dashboard requests from CONCURRENCY clients while `omnikpi ingest` loads `rows` new
    orders into the served warehouse (the customers they refer to are loaded first, not
    timed). Requests go on until the load has ended, its rollup refresh included."""
    orders, _, customers = write_files(folder, rows)
    mappings = {}
    for name, mapping in (("orders", ORDERS), ("customers", CUSTOMER_MAPPING)):
        mappings[name] = folder / f"{name}.yaml"
        mappings[name].write_text(yaml.safe_dump(mapping))
    ingest = ["ingest", "--warehouse", str(warehouse), "--max-error-rate", "0", "--mapping"]
    subprocess.run(omnikpi(*ingest, str(mappings["customers"]), str(customers)), check=True)
    clients = [signed_in(base, user) for user, _ in DURING_LOAD for _ in range(CONCURRENCY // 2)]
    paths = [path for _, path in DURING_LOAD for _ in range(CONCURRENCY // 2)]
    lock = threading.Lock()
    times: list[float] = []
    statuses: dict[int, int] = {}
    loading = threading.Event()
    loading.set()

    def work(client: httpx.Client, path: str) -> None:
        while loading.is_set():
            started = time.perf_counter()
            status = client.get(path).status_code
            elapsed = time.perf_counter() - started
            with lock:
                times.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [
        threading.Thread(target=work, args=pair) for pair in zip(clients, paths, strict=True)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    load = subprocess.run(
        omnikpi(*ingest, str(mappings["orders"]), str(orders)), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    loading.clear()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    if load.returncode != 0:
        raise SystemExit(f"the load during the run failed: {load.stdout}{load.stderr}")
    return LoadRun(rows, seconds, times, statuses, (load.stdout + load.stderr).strip())


def peak_memory(pid: int) -> int:
    """The peak resident memory of process `pid` so far, in bytes (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process `pid` has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh_details(base: str, count: int) -> list[str]:
    """`count` addresses of the revenue detail by week, each ending on another day (so no
    result is cached), going back from the end of the detail's default view."""
    client = signed_in(base, "analyst")
    page = client.get("/kpis/revenue").text
    client.close()
    end = date.fromisoformat(re.findall(r'name="end" type="date" value="([0-9-]+)"', page)[0])
    return [f"/kpis/revenue?grain=week&end={end - timedelta(days=i)}" for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, help="an existing demo warehouse")
    parser.add_argument("--customers", type=int, default=20_000, help="demo size if built")
    parser.add_argument("--requests", type=int, default=400, help="requests per page")
    parser.add_argument(
        "--load-rows", type=int, default=1_000_000, help="orders loaded while pages are read"
    )
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument(
        "--engine-only",
        action="store_true",
        help="only the baseline and the uncached detail (not recorded)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="omnikpi-bench-web-"))
    load_before = os.getloadavg()
    server: subprocess.Popen[bytes] | None = None
    try:
        warehouse = args.warehouse or build_demo(folder, args.customers)
        if args.warehouse and args.load_rows and not args.engine_only:
            warehouse = copied(args.warehouse, folder)  # the load must not change the original
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = omnikpi("serve", "--warehouse", str(warehouse), "--port", str(port))
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_up(base, server)
        rows = []
        pages = BASELINES[:1] if args.engine_only else [*BASELINES, *PAGES]
        for label, user, path in pages:
            client = signed_in(base, user)
            cold = timed(client, path)
            client.close()
            used = cpu_seconds(server.pid)
            times = under_load(base, user, [path] * args.requests)
            cpu = (cpu_seconds(server.pid) - used) / len(times)
            rows.append((label, path, cold, times, cpu))
        fresh = fresh_details(base, max(args.requests // 2, CONCURRENCY * 4))
        used = cpu_seconds(server.pid)
        engine = under_load(base, "analyst", fresh)
        cpu = (cpu_seconds(server.pid) - used) / len(engine)
        label = "KPI detail, a new period on every request (engine)"
        rows.append((label, fresh[0], 0.0, engine, cpu))
        loaded = None
        if args.load_rows and not args.engine_only:
            loaded = during_load(base, warehouse, folder, args.load_rows)
        peak = peak_memory(server.pid)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    baseline = percentile(rows[0][3], 95)
    loads = [", ".join(f"{value:.1f}" for value in load) for load in (load_before, load_after)]
    data = "the given warehouse" if args.warehouse else f"a {args.customers:,}-customer demo"
    lines = [
        # A run with a load keeps its own section: its idle rows share a busier process.
        f"## {'Web during a load' if loaded else 'Web'}\n\n{date.today():%Y-%m-%d}, "
        f"{machine()}; load average (1, 5, 15 min) "
        f"{loads[0]} before and {loads[1]} after the run. `omnikpi serve` (one process) on "
        f"{data}, {CONCURRENCY} concurrent clients on loopback, {args.requests} requests per "
        f"page ({len(rows[-1][3])} uncached details); times in ms. Peak resident memory of the "
        f"server: {peak / 2**20:,.0f} MiB.\n",
        "| page | cold (first request) | p50 | p95 | p95 / baseline p95 | server CPU per request |",
        "|---|---|---|---|---|---|",
    ]
    for label, path, cold, times, cpu in rows:
        shown = path.split("?")[0] if "end=" in path else path
        lines.append(
            f"| {label} (`{shown}`) | {milliseconds(cold) if cold else '—'} "
            f"| {milliseconds(statistics.median(times))} | {milliseconds(percentile(times, 95))} "
            f"| {percentile(times, 95) / baseline:.1f} | {milliseconds(cpu)} |"
        )
    if loaded is not None:
        lines.extend(
            load_lines(loaded, [row for row in rows if row[1] in dict(DURING_LOAD).values()])
        )
    lines.append(
        "\nBaseline: the sign-in page of the same app (first row). Aims (DESIGN.md §9, issues "
        "19 and 20): dashboard pages under 300 ms p95 from rollups; the stage dashboard at any "
        "grain under 1 s cold; an uncached KPI detail under 500 ms p95.\n"
    )
    publish("\n".join(lines), record=not (args.no_record or args.engine_only))


def load_lines(
    loaded: LoadRun, idle: list[tuple[str, str, float, list[float], float]]
) -> list[str]:
    """The rows of the load in progress: its p95 against the same pages' without a load."""
    before = percentile([t for row in idle for t in row[3]], 95)
    during = percentile(loaded.times, 95)
    statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(loaded.statuses.items()))
    return [
        f"\nDuring a load: `omnikpi ingest` of {loaded.rows:,} new orders (CSV, through a "
        f"mapping; handed to the server, which owns the warehouse) took {loaded.seconds:,.1f} s "
        "with its rollup refresh; meanwhile "
        f"{CONCURRENCY} clients read {' and '.join(p for _, p in DURING_LOAD)}: "
        f"{len(loaded.times):,} answers ({statuses}).\n",
        "| pages | p50 | p95 | p95 / p95 without a load |",
        "|---|---|---|---|",
        f"| without a load (rows above) | "
        f"{milliseconds(statistics.median([t for row in idle for t in row[3]]))} "
        f"| {milliseconds(before)} | 1.0 |",
        f"| during the load | {milliseconds(statistics.median(loaded.times))} "
        f"| {milliseconds(during)} | {during / before:.1f} |",
    ]


if __name__ == "__main__":
    main()
