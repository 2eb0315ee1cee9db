"""Simulator throughput: rows per second into the warehouse or Parquet, with peak memory.

Baseline, measured in the same run: DuckDB generating and storing the same number of rows
of random numbers and strings with its own `range()` table function, the fastest way to
produce that many rows on this machine. The ratio shows what realism costs.

    python bench/simulate.py --customers 200000
    python bench/simulate.py --customers 1000000 --sink parquet   # bounded memory check
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from omnikpi.simulate import FileSink, SimulationConfig, build_warehouse, run


def baseline_rows_per_second(rows: int, folder: Path) -> float:
    """DuckDB writing `rows` synthetic rows (8 columns) into a table of a file database."""
    con = duckdb.connect(str(folder / "baseline.duckdb"))
    started = time.perf_counter()
    con.execute(
        """CREATE TABLE t AS SELECT range AS id, 'S' || lpad(range::VARCHAR, 10, '0') AS key,
           (random() * 1e6)::BIGINT AS a, random() AS b, (random() * 100)::DECIMAL(18, 2) AS c,
           TIMESTAMPTZ '2025-01-01' + to_seconds((random() * 3e7)::BIGINT) AS ts,
           CASE WHEN random() < 0.5 THEN 'web' ELSE 'app' END AS channel, random() < 0.1 AS flag
           FROM range(?)""",
        [rows],
    )
    con.execute("CHECKPOINT")
    elapsed = time.perf_counter() - started
    con.close()
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--sink", choices=["warehouse", "parquet"], default="warehouse")
    args = parser.parse_args()
    config = SimulationConfig(customers=args.customers, days=args.days, end=date(2026, 10, 31))
    folder = Path(tempfile.mkdtemp(prefix="omnikpi-bench-"))
    try:
        started = time.perf_counter()
        if args.sink == "warehouse":
            rows = build_warehouse(config, folder / "bench.duckdb")
        else:
            rows = run(config, FileSink(folder / "parquet", "parquet"))
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        total = sum(rows.values())
        baseline = baseline_rows_per_second(total, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rate = total / elapsed
    print(f"machine: {platform.node()} {platform.machine()} python {platform.python_version()}")
    print(f"simulate {args.customers:,} customers x {args.days} days -> {args.sink}")
    print(f"  rows: {total:,} in {elapsed:.1f} s = {rate:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB")
    print(f"  events {rows.get('events', 0):,}, orders {rows.get('orders', 0):,}")
    print(f"baseline: DuckDB range() insert of {total:,} rows = {baseline:,.0f} rows/s")
    print(f"ratio simulator / baseline = {rate / baseline:.3f}")


if __name__ == "__main__":
    main()
