"""`omnikpi ingest`: load files, presets or a PostgreSQL query; `status`; `collector`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, error_console, render_rows
from omnikpi.errors import ConfigError, DataError, RefreshFailed
from omnikpi.settings import load_settings

if TYPE_CHECKING:  # a load imports ingestion when it runs (not for --help)
    from omnikpi.services.ingest import IngestResult, LoadOptions, LoadSummary


class _FilesOrCommand(TyperGroup):
    """`omnikpi ingest FILE...` loads files; `omnikpi ingest status` runs a subcommand."""

    allow_interspersed_args = True

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """A first argument naming a subcommand dispatches to it; otherwise files follow."""
        if args and args[0] in self.commands:
            super(TyperGroup, self).parse_args(ctx, [])
            ctx._protected_args, ctx.args = args[:1], args[1:]
            return list(ctx.args)
        return list(super(TyperGroup, self).parse_args(ctx, args))


app = typer.Typer(cls=_FilesOrCommand, invoke_without_command=True)


@app.callback()
def ingest(
    ctx: typer.Context,
    files: list[Path] | None = typer.Argument(
        None, help="Files (or, for presets, folders) to load.", show_default=False
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", "-m", help="Mapping file (YAML) saying how columns map.", dir_okay=False
    ),
    preset: str | None = typer.Option(
        None,
        "--preset",
        help="Mapping of a known export: online-retail, olist, shopify, ga4, cdnow.",
    ),
    infer: bool = typer.Option(False, "--infer", help="Propose a mapping for one file and exit."),
    out: Path | None = typer.Option(None, "--out", help="Where --infer writes the mapping."),
    postgres: str | None = typer.Option(
        None, "--postgres", help="PostgreSQL connection string to read from.", show_default=False
    ),
    table: str | None = typer.Option(None, "--table", help="PostgreSQL table to read."),
    query: str | None = typer.Option(None, "--query", help="PostgreSQL SELECT to read."),
    batch_size: int = typer.Option(
        50_000, "--batch-size", min=100, max=5_000_000, help="Rows per PostgreSQL fetch."
    ),
    warehouse: Path | None = WarehouseOption,
    max_error_rate: str = typer.Option(
        "5%", "--max-error-rate", help="Fail above this share of bad rows (5% or 0.05)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
) -> None:
    """Load files with a mapping or preset, or a PostgreSQL table or query.

    \b
    omnikpi ingest --mapping shop.yaml orders.csv
    omnikpi ingest --preset olist ./olist/
    omnikpi ingest --postgres postgresql://localhost/shop --table orders --mapping shop.yaml
    omnikpi ingest --infer orders.csv > shop.yaml
    """
    if ctx.invoked_subcommand is not None:
        return
    paths = list(files or [])
    if infer:
        _infer(paths, out)
        return
    chosen = [name for name, v in (("--mapping", mapping), ("--preset", preset)) if v]
    if postgres:
        if mapping is None:
            raise ConfigError("--postgres needs --mapping (start one with --infer on an export)")
        if (table is None) == (query is None):
            raise ConfigError("--postgres needs exactly one of --table or --query")
    elif len(chosen) != 1:
        raise ConfigError(
            "say how to read the files: --mapping MAP.yaml or --preset NAME "
            "(or --infer FILE to propose a mapping)"
        )
    from omnikpi.cli.handoff import hand_off
    from omnikpi.services.ingest import LoadOptions

    hand_off(ctx, warehouse)  # a server owning the warehouse loads it, its pages answering
    settings = load_settings(warehouse)
    options = LoadOptions(
        dry_run=dry_run,
        max_error_rate=parse_rate(max_error_rate),
        hash_key=os.environ.get("OMNIKPI_PSEUDONYM_KEY"),
    )
    with error_console.status("Reading and validating…"):
        result = _run(settings, paths, mapping, preset, postgres, table, query, batch_size, options)
    summary = result.summary
    print_summary(result)
    if summary.too_many_errors:
        done = "nothing was loaded" if summary.status == "rejected" else "the dry run failed"
        raise DataError(
            f"{summary.error_rate:.1%} of rows failed validation, above --max-error-rate "
            f"{summary.max_error_rate:.1%}; {done} (fix the rows listed above, see "
            "`omnikpi ingest status`, or raise --max-error-rate)"
        )
    if result.refresh_error:
        raise RefreshFailed(result.refresh_error)


def _run(
    settings: Any,
    paths: list[Path],
    mapping: Path | None,
    preset: str | None,
    postgres: str | None,
    table: str | None,
    query: str | None,
    batch_size: int,
    options: LoadOptions,
) -> IngestResult:
    from omnikpi.services.ingest import ingest_files, ingest_postgres, ingest_preset

    if postgres:
        assert mapping is not None
        return ingest_postgres(
            settings,
            postgres,
            mapping,
            table=table,
            query=query,
            batch_size=batch_size,
            options=options,
        )
    if preset:
        if not paths:
            raise ConfigError(f"name the files or folder of the {preset} export to load")
        return ingest_preset(settings, preset, paths, options)
    assert mapping is not None
    return ingest_files(settings, mapping, paths, options)


def _infer(paths: list[Path], out: Path | None) -> None:
    from omnikpi.services.ingest import infer_mapping

    if len(paths) != 1:
        raise ConfigError("--infer reads exactly one file")
    text = infer_mapping(paths[0])
    if out is None:
        console.file.write(text)
        return
    if out.exists():
        raise ConfigError(f"{out} already exists (choose another --out)")
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote a proposed mapping to {out}; check every line marked TODO.")


def parse_rate(value: str) -> float:
    """`5%` or `0.05` as a fraction; ConfigError for anything else."""
    text = value.strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(
            f'--max-error-rate "{value}" is not a share (use e.g. 5% or 0.05)'
        ) from None
    if not 0 <= rate <= 1:
        raise ConfigError(f'--max-error-rate "{value}" is not between 0% and 100%')
    return rate


def print_summary(result: IngestResult) -> None:
    """The load's outcome: per table the source rows and what became of them, the rows not
    loaded per reason, the data settings, missing optional files and the first problems."""
    summary = result.summary
    headline = {
        "loaded": "Loaded",
        "rejected": "Rejected",
        "dry_run": "Dry run (nothing written) of",
    }[summary.status]
    console.print(f"{headline} {summary.source}", markup=False, highlight=False)
    columns = ["table", "source rows", "inserted", "updated", "unchanged"]
    if summary.status != "loaded":
        columns = ["table", "source rows", "valid"]
    columns += ["merged", "quarantined", "set aside"]
    rows = [
        {
            "table": name,
            "source rows": f"{t.source_rows:,}",
            "valid": f"{t.valid:,}",
            "inserted": f"{t.inserted:,}",
            "updated": f"{t.updated:,}",
            "unchanged": f"{t.unchanged:,}",
            "merged": f"{t.merged:,}",
            "quarantined": f"{t.quarantined:,}",
            "set aside": f"{t.set_aside:,}",
        }
        for name, t in summary.tables.items()
    ]
    render_rows(rows, columns, "table")
    reasons = [
        {
            "table": name,
            "rows": f"{reason.rows:,}",
            "not loaded": reason.outcome.replace("_", " "),
            "why": f'"{reason.column}" {reason.reason}' if reason.column else reason.reason,
        }
        for name, t in summary.tables.items()
        for reason in t.reasons
    ]
    if reasons:
        render_rows(reasons, ["table", "rows", "not loaded", "why"], "table", title="Not loaded")
    _print_settings(summary)
    for missing in summary.missing:
        kpis = result.kpis_without_data.get(missing.source, ())
        without = f"; KPIs without data: {', '.join(kpis)}" if kpis else ""
        console.print(f"Warning: {missing.message()}{without}", markup=False, highlight=False)
    console.print(
        f"{summary.rows_read:,} {'row' if summary.rows_read == 1 else 'rows'} read, "
        f"{summary.rows_quarantined:,} quarantined "
        f"({summary.error_rate:.2%}; limit {summary.max_error_rate:.1%}) "
        f"in {summary.duration_seconds:.1f} s, batch {summary.batch_id}",
        markup=False,
        highlight=False,
    )
    if summary.problems:
        console.print("First problems:", markup=False)
        for problem in summary.problems:
            console.print(f"  {problem.message()}", markup=False, highlight=False)


def _print_settings(summary: LoadSummary) -> None:
    if summary.new_settings:
        done = "Stored" if summary.status == "loaded" else "Would store"
        values = ", ".join(
            f"{name.replace('_', '-')} {value}" for name, value in summary.new_settings.items()
        )
        console.print(
            f"{done} the data settings of this source in the empty warehouse: {values}",
            markup=False,
            highlight=False,
        )
    for note in (*summary.settings_notes, *summary.notes):
        console.print(f"Note: {note}", markup=False, highlight=False)


@app.command("status")
def status(
    ctx: typer.Context,
    warehouse: Path | None = WarehouseOption,
    limit: int = typer.Option(20, "--limit", min=1, help="Loads to show."),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="Output format."),
) -> None:
    """Recent loads (JSON: with each table's report) and what is in quarantine."""
    from omnikpi.cli.handoff import hand_off
    from omnikpi.services.ingest import load_status

    hand_off(ctx, warehouse)
    found = load_status(load_settings(warehouse), limit)
    loads = found.loads
    if fmt == InfoFormat.JSON:
        render_rows([], [], "json", json_document={"loads": loads, "quarantine": found.quarantine})
        return
    load_columns = [
        "batch_id",
        "started_at",
        "status",
        "rows_read",
        "rows_inserted",
        "rows_updated",
        "rows_quarantined",
        "seconds",
        "source",
    ]
    render_rows(loads, load_columns, "table", title=f"Loads (times in {found.time_zone})")
    if not loads:
        console.print("No loads yet (run `omnikpi ingest --mapping MAP.yaml FILE`).")
    quarantine_columns = ["source", "table_name", "column_name", "rows", "first_row", "reason"]
    render_rows(found.quarantine, quarantine_columns, "table", title="Quarantine")


@app.command("collector")
def collector(
    warehouse: Path | None = WarehouseOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8001, "--port", min=1, max=65535, help="Port to listen on."),
    spool: Path | None = typer.Option(
        None, "--spool", help="Folder of the durable event log (default: beside the warehouse)."
    ),
    flush_seconds: float = typer.Option(
        5.0, "--flush-seconds", min=0.1, help="How often events are loaded into the warehouse."
    ),
) -> None:
    """Receive web and app events on POST /collect and load them into the warehouse
    (KPI rollups are refreshed after each load)."""
    from omnikpi.services.ingest import run_collector

    settings = load_settings(warehouse)
    console.print(
        f"Collecting events on http://{host}:{port}/collect into {settings.warehouse} "
        "(Ctrl+C to stop)",
        markup=False,
    )
    run_collector(settings, host=host, port=port, spool=spool, flush_seconds=flush_seconds)
