"""The KPI grid's figures as a printed table and as the "KPI grid" section of RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kpi_grid_compare import Comparison
from kpi_grid_data import BuiltWarehouse
from results import record_section

DIRECT_AIM = 1.5
ROLLUPS_AIM = 0.2
BUILD_AIM = 2.0
REFRESH_AIM = 0.05
DASHBOARD_AIM_MS = 100.0
BASELINES = ("DuckDB SQL", "PostgreSQL SQL", "pandas")


@dataclass
class Figures:
    """Everything one run measured."""

    built: BuiltWarehouse
    grid_kpis: int
    grid_days: int
    groups: dict[str, int]
    no_data: list[str]
    seconds: dict[str, list[float]]
    dashboard: dict[str, list[float]]
    comparisons: list[Comparison]
    postgres_load: float
    pandas_load: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    versions: dict[str, Any]
    #: Seconds of a full rollup build on a copy of the warehouse, in this run (None: skipped).
    build_seconds: float | None = None
    #: Seconds of the refresh after a one-day load into every table, in this run, with the
    #: SQL a refresh compiles kept from an earlier one (the daily case) ...
    refresh_seconds: float | None = None
    #: ... and the first refresh after the build (compiling that SQL).
    first_refresh_seconds: float | None = None
    #: Peak resident memory of this process after each step, in MB.
    peak_rss: dict[str, float] | None = None

    def median(self, method: str) -> float:
        return statistics.median(self.seconds[method])

    def ratio(self, method: str, baseline: str) -> float:
        return self.median(method) / self.median(baseline)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(method, median seconds, every run, omnikpi direct / method)."""
        rows = []
        for method, runs in self.seconds.items():
            relative = (
                ""
                if method.startswith("omnikpi")
                else f"{self.ratio('omnikpi direct', method):.2f}"
            )
            every = ", ".join(f"{s:.2f}" for s in runs)
            rows.append((method, f"{self.median(method):.2f}", every, relative))
        return rows

    def dashboard_rows(self) -> list[tuple[str, str, str, str]]:
        """(what, median ms, p95 ms, runs)."""
        rows = []
        for what, runs in self.dashboard.items():
            ms = sorted(s * 1000 for s in runs)
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            rows.append((what, f"{statistics.median(ms):.0f}", f"{p95:.0f}", str(len(ms))))
        return rows

    def aims(self) -> list[str]:
        direct = self.ratio("omnikpi direct", "DuckDB SQL")
        verdict = "met" if direct <= DIRECT_AIM else "NOT met"
        lines = [f"omnikpi direct / DuckDB SQL = {direct:.2f} (aim <= {DIRECT_AIM}): {verdict}"]
        if "pandas" in self.seconds:
            faster = self.median("omnikpi direct") < self.median("pandas")
            lines.append(
                f"omnikpi direct {self.median('omnikpi direct'):.2f} s vs pandas "
                f"{self.median('pandas'):.2f} s (aim: faster than pandas): "
                + ("met" if faster else "NOT met")
            )
        rolled = self.ratio("omnikpi rollups", "DuckDB SQL")
        verdict = "met" if rolled <= ROLLUPS_AIM else "NOT met"
        lines.append(
            f"omnikpi rollups / DuckDB SQL = {rolled:.2f} (aim <= {ROLLUPS_AIM}): {verdict}"
        )
        if self.build_seconds is not None:
            build = self.build_seconds / self.median("DuckDB SQL")
            verdict = "met" if build <= BUILD_AIM else "NOT met"
            lines.append(
                f"rollup build {self.build_seconds:.1f} s / DuckDB SQL grid = {build:.1f} "
                f"(aim <= {BUILD_AIM:.0f}): {verdict}"
            )
        if self.build_seconds and self.refresh_seconds is not None:
            share = self.refresh_seconds / self.build_seconds
            verdict = "met" if share < REFRESH_AIM else "NOT met"
            first = ""
            if self.first_refresh_seconds is not None:
                compiling = self.first_refresh_seconds
                first = f"; the first after the build, compiling its SQL, {compiling:.1f} s"
            lines.append(
                f"refresh after a one-day load {self.refresh_seconds:.1f} s = {share:.0%} of "
                f"the full build (aim < {REFRESH_AIM:.0%}): {verdict}{first}"
            )
        for what, runs in self.dashboard.items():
            ms = statistics.median(runs) * 1000
            verdict = "met" if ms < DASHBOARD_AIM_MS else "NOT met"
            lines.append(f"{what}: median {ms:.0f} ms (aim < {DASHBOARD_AIM_MS:.0f} ms): {verdict}")
        return lines

    def table(self) -> str:
        lines = ["", "method                 median s   runs (s)                   direct / method"]
        for method, median, every, relative in self.rows():
            lines.append(f"{method:<22} {median:>8}   {every:<26} {relative}")
        lines.append(
            f"omnikpi rollups / DuckDB SQL = {self.ratio('omnikpi rollups', 'DuckDB SQL'):.2f}"
        )
        lines.append("")
        for what, median, p95, runs in self.dashboard_rows():
            lines.append(f"{what}: median {median} ms, p95 {p95} ms ({runs} runs)")
        lines += ["", self.memory()]
        return "\n".join([*lines, "", *self.aims()])

    def memory(self) -> str:
        """Peak resident memory after each step (a process's peak only grows)."""
        steps = ", ".join(f"{step} {mb:,.0f} MB" for step, mb in (self.peak_rss or {}).items())
        return f"Peak RSS of the benchmark process after: {steps or 'not measured'}."

    def markdown(self) -> str:
        b = self.built
        rows = b.rows
        groups = ", ".join(f"{n} by {d}" for d, n in self.groups.items())
        compared = "; ".join(
            f"{c.method}: {c.cells:,} cells ({c.with_values:,} with values), "
            + ("all equal" if c.ok else f"{len(c.mismatches):,} DIFFER")
            for c in self.comparisons
        )
        v = self.versions
        lines = [
            "## KPI grid",
            "",
            f"{date.today()}, `{' '.join(platform.uname())}`, {cpu_model()}, "
            f"{os.cpu_count()} cores (shared with other developers), {memory_gib()} GiB; "
            f"load average {_load(self.load_before)} at the start, {_load(self.load_after)} at "
            f"the end. omnikpi {v['commit']}, Python {v['python']}, DuckDB {v['duckdb']}, "
            f"pandas {v['pandas']}, PostgreSQL {v['postgresql']}.",
            "",
            f"Data: `bench/kpi_grid.py` simulation of {b.config.customers:,} customers x "
            f"{b.config.days} days (traffic knobs at their floor: anonymous visitors 0.05, browse "
            f"0.1 and cart 0.05 sessions per purchase): {rows['events']:,} events, "
            f"{rows['orders']:,} orders, {rows['order_lines']:,} order lines, "
            f"{rows['sessions']:,} sessions. Built in {b.simulate_seconds:.0f} s, rollups in "
            f"{b.rollup_seconds:.0f} s ({b.built_on}); PostgreSQL load "
            f"{_seconds(self.postgres_load)}, pandas load {self.pandas_load:.0f} s (neither in "
            "the comparison).",
            "",
            f"Grid: {self.grid_kpis} lead KPIs x {self.grid_days} days by channel ({groups}), "
            "one `KpiQuery.run` per breakdown. Baselines hand-written from `omnikpi kpi show`, "
            f"checked cell by cell against omnikpi direct: {compared}. "
            f"{', '.join(self.no_data)} read customer_scores, which the simulator does not "
            "write: no data in omnikpi, nothing to hand-write.",
            "",
            "| method | median s | runs (s) | omnikpi direct / method |",
            "|---|---|---|---|",
            *(f"| {m} | {med} | {every} | {rel} |" for m, med, every, rel in self.rows()),
            "",
            f"omnikpi rollups / DuckDB SQL = {self.ratio('omnikpi rollups', 'DuckDB SQL'):.2f}.",
            "",
            "| dashboard from rollups (fresh `KpiQuery` per run) | median ms | p95 ms | runs |",
            "|---|---|---|---|",
            *(f"| {w} | {m} | {p} | {n} |" for w, m, p, n in self.dashboard_rows()),
            "",
            self.memory(),
            "",
            "Aims (issue 20): " + "; ".join(self.aims()) + ".",
            "",
        ]
        return "\n".join(lines)


def record(figures: Figures, results: Path) -> None:
    """Replace (or append) the "KPI grid" section of RESULTS.md, keeping the others."""
    record_section(figures.markdown(), results)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return round(int(line.split()[1]) / 1024 / 1024)
    return 0


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in load)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value else "reused from an earlier run"
