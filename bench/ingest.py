"""Ingest throughput: an orders file as CSV and Parquet, a preset export, the event collector.

Baselines, measured in the same run on the same files:
- files: DuckDB's own `read_csv` / `read_parquet` into a table of a file database (types
  detected, nothing validated), the fastest plain load on this machine;
- preset: the same DuckDB load of the export file (UCI Online Retail II, generated in its
  CSV layout: invoices with postage lines, stock adjustments at price 0, guests and
  cancellations of earlier lines);
- collector: the same HTTP requests to an endpoint that only answers 202 (no validation,
  no log, no fsync), so the ratio is the cost of validating and writing durably.
omnikpi loads the orders through a mapping: text converted to model types, every row
checked (types, categories, keys, references to 200k customers, plausibility), then
upserted in one transaction with the load recorded; the preset through its views (orders,
lines, returns, customers and products) into five tables, end to end as `omnikpi ingest
--preset online-retail` loads it (the KPI rollups it refreshes afterwards are not counted).

Each figure is the median of `--repeat` runs (ours and the baseline alternate), each run in
a fresh process whose peak resident memory (VmHWM) is reported with it; the load
average of the machine is recorded with them: on a shared machine it moves the figures
more than anything else.

    python bench/ingest.py                 # 5M rows, writes its section of bench/RESULTS.md
    python bench/ingest.py --rows 1000000 --repeat 1 --no-record
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from results import publish

if TYPE_CHECKING:  # the measured processes import only what they measure
    import uvicorn
    from fastapi import FastAPI

#: DuckDB's settings in the baseline: those of omnikpi's warehouse (warehouse.DUCKDB_CONFIG),
#: written out so that the baseline's process does not import omnikpi.
BASELINE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

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
#: Lines of the generated Online Retail II export: 20 a invoice, every tenth invoice with a
#: postage line, every 200th a stock adjustment at price 0 without a customer, every fifth
#: a guest's; the first two lines of every 40th invoice are cancelled three invoices later.
ONLINE_RETAIL_LINES = """
WITH sale AS (
  SELECT n, line, (489434 + n)::VARCHAR AS "Invoice",
    CASE WHEN line = 19 AND n % 10 = 0 THEN 'POST' ELSE (10000 + hash(i) % 4000)::VARCHAR END
      AS "StockCode",
    CAST(1 + hash(i * 7) % 24 AS BIGINT) AS qty,
    CASE WHEN n % 200 = 3 THEN 0 ELSE 0.5 + (hash(i * 13) % 950) / 100 END AS price,
    CASE WHEN n % 5 <> 0 AND n % 200 <> 3 THEN CAST(12346 + hash(n) % 4000 AS BIGINT) END
      AS customer,
    TIMESTAMP '2009-12-01 07:45:00' + to_minutes(n * 3) AS invoiced
  FROM (SELECT i, i // 20 AS n, i % 20 AS line FROM range({rows}) t(i))
)
SELECT n, 0 AS kind, line, "Invoice", "StockCode", 'ITEM ' || "StockCode" AS "Description",
       qty::VARCHAR AS "Quantity", strftime(invoiced, '%Y-%m-%d %H:%M:%S') AS "InvoiceDate",
       printf('%.2f', price) AS "Price", customer::VARCHAR || '.0' AS "Customer ID",
       CASE WHEN n % 17 = 0 THEN 'France' ELSE 'United Kingdom' END AS "Country"
FROM sale
UNION ALL
SELECT n + 3, 1, line, 'C' || (489434 + n + 3)::VARCHAR, "StockCode", 'ITEM ' || "StockCode",
       (-qty)::VARCHAR, strftime(invoiced + INTERVAL 9 MINUTE, '%Y-%m-%d %H:%M:%S'),
       printf('%.2f', price), customer::VARCHAR || '.0', 'United Kingdom'
FROM sale WHERE n % 40 = 11 AND line < 2 AND customer IS NOT NULL
"""


def write_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """Orders as CSV and Parquet (same rows), and the customers they refer to."""
    orders_csv, orders_parquet = folder / "orders.csv", folder / "orders.parquet"
    customers = folder / "customers.csv"
    with duckdb.connect(config=BASELINE_CONFIG) as con:
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


def write_online_retail(folder: Path, rows: int) -> Path:
    """About `rows` invoice lines in the layout of UCI's online_retail_II.csv."""
    path = folder / "online_retail_II.csv"
    columns = '"Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", '
    columns += '"Customer ID", "Country"'
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT {columns} FROM ({ONLINE_RETAIL_LINES.format(rows=rows)}) "
            f"ORDER BY n, kind, line) TO '{path}' (HEADER)"
        )
    return path


# -- measured in a fresh process each ---------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One measured run: its seconds and the peak resident memory of its process (MiB)."""

    seconds: float
    peak_mib: float


def in_fresh_process(function: Callable[..., float], *args: Any) -> Run:
    """Run `function(*args)` (which returns the seconds it measured) in a new process."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        seconds, peak = pool.submit(_measured, function, *args).result()
    return Run(seconds, peak)


def _measured(function: Callable[..., float], *args: Any) -> tuple[float, float]:
    seconds = function(*args)
    return seconds, peak_rss_mib()


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ru_maxrss, that keeps the
    parent's size at the fork before exec) counts only this process's own pages."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def duckdb_load(path: Path, folder: Path) -> float:
    """Seconds for DuckDB to load the file into a table of a file database."""
    database = folder / "baseline.duckdb"
    database.unlink(missing_ok=True)
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    with duckdb.connect(str(database), config=BASELINE_CONFIG) as con:
        con.execute("SET enable_progress_bar = false")  # as omnikpi's loads
        started = time.perf_counter()
        con.execute(f"CREATE TABLE orders AS SELECT * FROM {reader}('{path}')")
        con.execute("CHECKPOINT")
        return time.perf_counter() - started


def orders_load(path: Path, customers: Path, warehouse: Path, rows: int, again: bool) -> float:
    """Seconds for omnikpi to load the orders into `warehouse`: into a new one (customers
    loaded beforehand, not counted) or, `again`, into the one that holds them already
    (every row compared with the stored one, none changed)."""
    from omnikpi.ingest import LoadOptions, ingest_files, parse_mapping
    from omnikpi.settings import Settings

    settings = Settings(warehouse=warehouse)
    options = LoadOptions(now=NOW, max_error_rate=0.0)
    if not again:
        warehouse.unlink(missing_ok=True)
        ingest_files(settings, parse_mapping(CUSTOMER_MAPPING), [customers], options)
    started = time.perf_counter()
    summary = ingest_files(settings, parse_mapping(ORDERS), [path], options)
    seconds = time.perf_counter() - started
    orders = summary.tables["orders"]
    expected = "unchanged" if again else "inserted"
    if summary.status != "loaded" or summary.rows_quarantined or getattr(orders, expected) != rows:
        raise SystemExit(f"the benchmark load failed: {summary}")
    return seconds


def preset_load(path: Path, warehouse: Path) -> float:
    """Seconds for omnikpi to load the Online Retail export into a new warehouse."""
    from omnikpi.ingest import LoadOptions, ingest_preset
    from omnikpi.settings import Settings

    warehouse.unlink(missing_ok=True)
    started = time.perf_counter()
    summary = ingest_preset(
        Settings(warehouse=warehouse), "online-retail", [path], LoadOptions(now=NOW)
    )
    seconds = time.perf_counter() - started
    loaded = {name: table.inserted for name, table in summary.tables.items()}
    if summary.status != "loaded" or summary.rows_quarantined or not all(loaded.values()):
        raise SystemExit(f"the preset load failed: {summary}")
    return seconds


@dataclass(frozen=True)
class Figure:
    """Median rows/s of omnikpi and of DuckDB's own load of `rows` rows, and each one's peak
    memory; `again` for loading the same rows a second time."""

    rows: int
    ours: float
    base: float
    ours_mib: float
    base_mib: float
    again: float = 0.0
    again_mib: float = 0.0


def figure_of(rows: int, ours: list[Run], base: list[Run], again: Sequence[Run] = ()) -> Figure:
    """Rows per second (median of the runs) and peak memory (the largest) of each side."""

    def rate(runs: Sequence[Run]) -> float:
        return rows / statistics.median(r.seconds for r in runs)

    return Figure(
        rows=rows,
        ours=rate(ours),
        base=rate(base),
        ours_mib=max(r.peak_mib for r in ours),
        base_mib=max(r.peak_mib for r in base),
        again=rate(again) if again else 0.0,
        again_mib=max((r.peak_mib for r in again), default=0.0),
    )


def file_figure(
    label: str, path: Path, customers: Path, folder: Path, rows: int, repeat: int
) -> Figure:
    ours: list[Run] = []
    again: list[Run] = []
    base: list[Run] = []
    warehouse = folder / "omnikpi.duckdb"
    for _ in range(repeat):
        base.append(in_fresh_process(duckdb_load, path, folder))
        ours.append(in_fresh_process(orders_load, path, customers, warehouse, rows, False))
        again.append(in_fresh_process(orders_load, path, customers, warehouse, rows, True))
        print(
            f"{label}: {rows / ours[-1].seconds:,.0f} rows/s, again "
            f"{rows / again[-1].seconds:,.0f}, baseline {rows / base[-1].seconds:,.0f}",
            flush=True,
        )
    return figure_of(rows, ours, base, again)


def preset_figure(path: Path, folder: Path, repeat: int) -> Figure:
    with duckdb.connect() as con:
        counted = con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchone()
    rows = int(counted[0]) if counted else 0
    ours: list[Run] = []
    base: list[Run] = []
    for _ in range(repeat):
        base.append(in_fresh_process(duckdb_load, path, folder))
        ours.append(in_fresh_process(preset_load, path, folder / "preset.duckdb"))
        print(
            f"Online Retail preset: {rows / ours[-1].seconds:,.0f} lines/s, baseline "
            f"{rows / base[-1].seconds:,.0f}",
            flush=True,
        )
    return figure_of(rows, ours, base)


# -- collector -------------------------------------------------------------------------------
def serve(app: FastAPI) -> tuple[uvicorn.Server, int]:
    import uvicorn

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
    import httpx

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
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from omnikpi.ingest import Collector, CollectorLimits
    from omnikpi.settings import Settings

    settings = Settings(warehouse=folder / "collector.duckdb")
    collector = Collector(settings, folder / "spool", CollectorLimits(flush_seconds=3600))
    app = FastAPI()
    app.include_router(collector.router())

    async def echo(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": per_batch}, status_code=202)

    app.router.add_route("/echo", echo, methods=["POST"])  # a plain Starlette endpoint

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


def _row(what: str, ours: float, mib: float, base: str = "", ratio: str = "") -> str:
    return f"| {what} | {ours:,.0f} | {mib:,.0f} | {base} | {ratio} |"


def report(
    args: argparse.Namespace,
    files: dict[str, Figure],
    preset: Figure,
    collector: dict[str, float],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    lines = [
        f"## Ingestion\n\n{date.today():%Y-%m-%d}, {machine()}; load average (1, 5, 15 min) "
        f"{_load(load_before)} before and {_load(load_after)} after the run; file and preset "
        f"figures: median of {args.repeat} runs, each in a fresh process (peak RSS: the "
        "largest of its runs).\n",
        "| what | omnikpi | peak RSS (MiB) | baseline (peak RSS) | ratio |",
        "|---|---|---|---|---|",
    ]
    for label, figure in files.items():
        reader = "read_csv" if label == "CSV" else "read_parquet"
        lines.append(
            _row(
                f"{label}, {args.rows:,} orders (rows/s)",
                figure.ours,
                figure.ours_mib,
                f"{figure.base:,.0f} (DuckDB `{reader}` into a table; {figure.base_mib:,.0f} MiB)",
                f"{figure.ours / figure.base:.2f}",
            )
        )
    lines.append(
        _row(
            f"Online Retail preset, {preset.rows:,} invoice lines into five tables, end to end "
            "(lines/s)",
            preset.ours,
            preset.ours_mib,
            f"{preset.base:,.0f} (DuckDB `read_csv` of the export into a table; "
            f"{preset.base_mib:,.0f} MiB)",
            f"{preset.ours / preset.base:.2f}",
        )
    )
    for label, figure in files.items():
        lines.append(
            _row(
                f"{label}, the same orders loaded again: every row compared, none changed (rows/s)",
                figure.again,
                figure.again_mib,
            )
        )
    lines.append(
        f"| collector, {collector['events']:,.0f} events in batches of {args.per_batch} from "
        f"{args.clients} clients (events/s, validated and fsynced) | {collector['accept']:,.0f} "
        f"| | {collector['echo']:,.0f} (same requests to a 202-only endpoint) "
        f"| {collector['accept'] / collector['echo']:.2f} |"
    )
    lines.append(
        f"| collector flush to sessions and events (events/s) | {collector['flush']:,.0f} | | | |"
    )
    lines.append(
        "\nAims (DESIGN.md §9, issue 20): CSV and Parquet ≥ 0.7× DuckDB's own load of the same "
        "file, a preset load ≥ 0.5×; collector ≥ 5,000 events/s.\n"
    )
    return "\n".join(lines)


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
        online_retail = write_online_retail(folder, args.rows)
        files = {
            label: file_figure(label, path, customers, folder, args.rows, args.repeat)
            for label, path in (("CSV", orders_csv), ("Parquet", orders_parquet))
        }
        preset = preset_figure(online_retail, folder, args.repeat)
        collector = collector_figures(folder, args.batches, args.per_batch, args.clients)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    publish(
        report(args, files, preset, collector, load_before, load_after),
        record=not args.no_record,
    )


if __name__ == "__main__":
    main()
