"""Ingest throughput: a 5M-row orders file as CSV and Parquet, and the event collector.

Baselines, measured in the same run on the same files:
- files: DuckDB's own `read_csv` / `read_parquet` into a table of a file database (types
  detected, nothing validated), the fastest plain load on this machine;
- collector: the same HTTP requests to an endpoint that only answers 202 (no validation,
  no log, no fsync), so the ratio is the cost of validating and writing durably.
omnikpi loads the orders through a mapping: text converted to model types, every row
checked (types, categories, keys, references to 200k customers, plausibility), then
upserted in one transaction with the load recorded.

Each file figure is the median of `--repeat` runs (ours and the baseline alternate), and
the load average of the machine is recorded with them: on a shared machine it moves the
figures more than anything else.

    python bench/ingest.py                 # 5M rows, appends to bench/RESULTS.md
    python bench/ingest.py --rows 500000 --repeat 1 --no-record
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from omnikpi.ingest import Collector, CollectorLimits, LoadOptions, ingest_files, parse_mapping
from omnikpi.settings import Settings
from omnikpi.warehouse import DUCKDB_CONFIG
from results import publish

CUSTOMERS = 200_000
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORDERS = {
    "name": "bench-orders",
    "currency": "KRW",
    "dates": {"format": "%Y-%m-%d %H:%M:%S", "time_zone": "Asia/Seoul"},
    "tables": {
        "orders": {
            "columns": {
                "order_id": "order_no",
                "customer_id": "member_no",
                "channel": {
                    "column": "channel",
                    "map": {"ONLINE": "web", "APP": "app", "SHOP": "store"},
                },
                "placed_at": "ordered_at",
                "status": {"column": "status", "map": {"PAID": "paid", "DONE": "completed"}},
                "status_changed_at": "ordered_at",
                "payment_method": {"column": "pay", "map": {"CARD": "card", "KPAY": "mobile_pay"}},
                "fulfilment": {"value": "delivery"},
                "gross_amount": "gross",
                "discount_amount": "discount",
                "net_amount": "net",
                "shipping_amount": "shipping",
                "tax_amount": "vat",
                "total_amount": "total",
                "coupon_code": "coupon",
            }
        }
    },
}
CUSTOMER_MAPPING = {
    "tables": {
        "customers": {
            "columns": {
                "customer_id": "member_no",
                "created_at": {"column": "joined", "format": "%Y-%m-%d %H:%M:%S"},
                "acquisition_channel": {"value": "web"},
                "gender": {"value": "unknown"},
                "is_member": {"value": True},
                "is_business": {"value": False},
            }
        }
    }
}


def write_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """Orders as CSV and Parquet (same rows), and the customers they refer to."""
    orders_csv, orders_parquet = folder / "orders.csv", folder / "orders.parquet"
    customers = folder / "customers.csv"
    with duckdb.connect(config=DUCKDB_CONFIG) as con:
        con.execute(
            f"""CREATE TABLE o AS SELECT
              'O' || lpad(range::VARCHAR, 9, '0') AS order_no,
              'M' || lpad((hash(range) % {CUSTOMERS})::VARCHAR, 7, '0') AS member_no,
              ['ONLINE', 'APP', 'SHOP'][1 + range % 3] AS channel,
              strftime(TIMESTAMP '2024-01-01' + to_seconds(range % 60000000), '%Y-%m-%d %H:%M:%S')
                AS ordered_at,
              CASE WHEN range % 4 = 0 THEN 'PAID' ELSE 'DONE' END AS status,
              CASE WHEN range % 2 = 0 THEN 'CARD' ELSE 'KPAY' END AS pay,
              CAST(10000 + range % 90000 AS DECIMAL(18, 2)) AS gross,
              CAST((range % 7) * 500 AS DECIMAL(18, 2)) AS discount,
              gross - discount AS net, CAST(3000 AS DECIMAL(18, 2)) AS shipping,
              CAST(round(net / 11, 2) AS DECIMAL(18, 2)) AS vat, net + shipping AS total,
              CASE WHEN range % 10 = 0 THEN 'WELCOME10' END AS coupon
            FROM range({rows})"""
        )
        con.execute(f"COPY o TO '{orders_csv}' (HEADER)")
        con.execute(f"COPY o TO '{orders_parquet}' (FORMAT parquet)")
        con.execute(
            f"""COPY (SELECT 'M' || lpad(range::VARCHAR, 7, '0') AS member_no,
                        '2023-06-01 10:00:00' AS joined FROM range({CUSTOMERS}))
                TO '{customers}' (HEADER)"""
        )
    return orders_csv, orders_parquet, customers


def baseline(path: Path, folder: Path) -> float:
    """Seconds for DuckDB to load the file into a table of a file database."""
    database = folder / "baseline.duckdb"
    database.unlink(missing_ok=True)
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    with duckdb.connect(str(database), config=DUCKDB_CONFIG) as con:
        started = time.perf_counter()
        con.execute(f"CREATE TABLE orders AS SELECT * FROM {reader}('{path}')")
        con.execute("CHECKPOINT")
        return time.perf_counter() - started


def omnikpi_load(path: Path, customers: Path, folder: Path, rows: int) -> tuple[float, float]:
    """Seconds for `omnikpi ingest` to load the orders (customers loaded beforehand), and
    to load the same file again (every row compared with the stored one, none changed)."""
    settings = Settings(warehouse=folder / "omnikpi.duckdb")
    settings.warehouse.unlink(missing_ok=True)
    options = LoadOptions(now=NOW, max_error_rate=0.0)
    ingest_files(settings, parse_mapping(CUSTOMER_MAPPING), [customers], options)
    seconds = []
    for expected in ("inserted", "unchanged"):
        started = time.perf_counter()
        summary = ingest_files(settings, parse_mapping(ORDERS), [path], options)
        seconds.append(time.perf_counter() - started)
        orders = summary.tables["orders"]
        if (
            summary.status != "loaded"
            or summary.rows_quarantined
            or (getattr(orders, expected) != rows)
        ):
            raise SystemExit(f"the benchmark load failed: {summary}")
    return seconds[0], seconds[1]


def file_figures(
    label: str, path: Path, customers: Path, folder: Path, rows: int, repeat: int
) -> dict[str, float]:
    """Median rows/s of omnikpi (first load and reload) and of the baseline over `repeat` runs."""
    ours, again, base = [], [], []
    for _ in range(repeat):
        base.append(rows / baseline(path, folder))
        first, second = omnikpi_load(path, customers, folder, rows)
        ours.append(rows / first)
        again.append(rows / second)
        print(f"{label}: {ours[-1]:,.0f} rows/s, again {again[-1]:,.0f}, baseline {base[-1]:,.0f}")
    return {
        "ours": statistics.median(ours),
        "again": statistics.median(again),
        "base": statistics.median(base),
    }


# -- collector -------------------------------------------------------------------------------
def serve(app: FastAPI) -> tuple[uvicorn.Server, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, port


def post_batches(port: int, path: str, batches: int, per_batch: int, clients: int) -> float:
    """Seconds for `clients` threads to post `batches` batches of `per_batch` events."""
    body_for: Callable[[int], bytes] = lambda i: (  # noqa: E731
        '{"events": ['
        + ",".join(
            f'{{"event_id": "b{i}-{j}", "event_type": "page_view", '
            f'"occurred_at": "2025-11-02T10:00:{j % 60:02d}+09:00", "visitor_id": "v{i % 5000}", '
            f'"session_id": "s{i % 20000}", "device": "mobile", "page_path": "/p/P{j:04d}", '
            f'"load_ms": {300 + j}}}'
            for j in range(per_batch)
        )
        + "]}"
    ).encode()
    bodies = [body_for(i) for i in range(batches)]
    next_batch = iter(range(batches))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            while True:
                with lock:
                    index = next(next_batch, None)
                if index is None:
                    return
                response = http.post(path, content=bodies[index])
                assert response.status_code == 202, response.text

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def collector_figures(folder: Path, batches: int, per_batch: int, clients: int) -> dict[str, float]:
    settings = Settings(warehouse=folder / "collector.duckdb")
    collector = Collector(settings, folder / "spool", CollectorLimits(flush_seconds=3600))
    app = FastAPI()
    app.include_router(collector.router())

    @app.post("/echo", status_code=202)
    async def echo(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": per_batch}, status_code=202)

    server, port = serve(app)
    try:
        events = batches * per_batch
        accept = post_batches(port, "/collect", batches, per_batch, clients)
        echo_seconds = post_batches(port, "/echo", batches, per_batch, clients)
        started = time.perf_counter()
        summary = collector.flush()
        flush = time.perf_counter() - started
        if summary is None or summary.tables["events"].inserted != events:
            raise SystemExit(f"the collector flush did not load {events} events: {summary}")
    finally:
        server.should_exit = True
    return {
        "events": events,
        "accept": events / accept,
        "echo": events / echo_seconds,
        "flush": events / flush,
    }


# -- report ----------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def _load(average: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.1f}" for value in average)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per file figure (median)")
    parser.add_argument("--batches", type=int, default=2_000, help="collector requests")
    parser.add_argument("--per-batch", type=int, default=20, help="events per request")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="omnikpi-bench-ingest-"))
    load_before = os.getloadavg()
    try:
        orders_csv, orders_parquet, customers = write_files(folder, args.rows)
        figures = {
            label: file_figures(label, path, customers, folder, args.rows, args.repeat)
            for label, path in (("CSV", orders_csv), ("Parquet", orders_parquet))
        }
        collector = collector_figures(folder, args.batches, args.per_batch, args.clients)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    lines = [
        f"## Ingestion\n\n{date.today():%Y-%m-%d}, {machine()}; load average (1, 5, 15 min) "
        f"{_load(load_before)} before and {_load(load_after)} after the run; file figures: "
        f"median of {args.repeat} runs.\n",
        "| what | omnikpi | baseline | ratio |",
        "|---|---|---|---|",
    ]
    for label, figure in figures.items():
        reader = "read_csv" if label == "CSV" else "read_parquet"
        lines.append(
            f"| {label}, {args.rows:,} orders (rows/s) | {figure['ours']:,.0f} "
            f"| {figure['base']:,.0f} (DuckDB `{reader}` into a table) "
            f"| {figure['ours'] / figure['base']:.2f} |"
        )
    for label, figure in figures.items():
        lines.append(
            f"| {label}, the same orders loaded again: every row compared, none changed "
            f"(rows/s) | {figure['again']:,.0f} | | |"
        )
    lines.append(
        f"| collector, {collector['events']:,.0f} events in batches of {args.per_batch} from "
        f"{args.clients} clients (events/s, validated and fsynced) | {collector['accept']:,.0f} "
        f"| {collector['echo']:,.0f} (same requests to a 202-only endpoint) "
        f"| {collector['accept'] / collector['echo']:.2f} |"
    )
    lines.append(
        f"| collector flush to sessions and events (events/s) | {collector['flush']:,.0f} | | |"
    )
    lines.append(
        "\nAims (DESIGN.md §9): CSV ≥ 200,000 rows/s, Parquet ≥ 1,000,000 rows/s, "
        "collector ≥ 5,000 events/s.\n"
    )
    publish("\n".join(lines), record=not args.no_record)


if __name__ == "__main__":
    main()
