"""`omnikpi kpi`: list, show and query KPIs; refresh their rollups."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.options import WarehouseOption, parse_date, warehouse_path
from omnikpi.cli.output import OutputFormat, console, progress_bar, render_rows
from omnikpi.errors import ConfigError
from omnikpi.i18n.formatting import format_change, format_value
from omnikpi.kpi import load_catalog, query
from omnikpi.kpi.explain import explain
from omnikpi.kpi.periods import COMPARISONS, Grain
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.kpi.spec import STAGES
from omnikpi.settings import load_settings
from omnikpi.warehouse import Warehouse

app = typer.Typer(help="KPIs: list, show, query; refresh their rollups.", no_args_is_help=True)
CatalogOption = typer.Option(
    None,
    "--catalog",
    help="Folder of your own catalog YAML files (adds or overrides KPIs).",
    file_okay=False,
)
LIST_COLUMNS = [
    "id",
    "name_en",
    "name_ko",
    "stage",
    "function",
    "race",
    "unit",
    "direction",
    "tiers",
]


@app.command("list")
def list_kpis(
    tier: str | None = typer.Option(None, "--tier", help="cxo, lead or member:ROLE."),
    stage: str | None = typer.Option(None, "--stage", help=f"One of {', '.join(STAGES)}."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """The KPIs of the catalog, optionally of one tier or stage."""
    catalog = load_catalog(load_settings(catalog=catalog_dir).catalog_dirs)
    if stage is not None and stage not in STAGES:
        raise ConfigError(f'stage "{stage}" is not valid (choose one of: {", ".join(STAGES)})')
    if tier is not None:
        tiers = sorted({t for k in catalog.kpis.values() for t in k.tiers})
        if tier not in tiers:
            raise ConfigError(f'tier "{tier}" is not valid (choose one of: {", ".join(tiers)})')
    rows = [
        {
            "id": k.id,
            "name_en": k.name.en,
            "name_ko": k.name.ko,
            "stage": k.stage,
            "function": k.function,
            "race": k.race,
            "unit": k.unit,
            "direction": k.direction,
            "tiers": ";".join(k.tiers),
        }
        for k in catalog.select(tier=tier, stage=stage)
    ]
    render_rows(rows, LIST_COLUMNS, fmt.value, title=f"{len(rows)} KPIs")


@app.command("show")
def show(
    kpi_id: str = typer.Argument(..., metavar="ID", help="KPI id."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """A KPI's definition in English and Korean, its formula and the SQL that computes it."""
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    catalog = load_catalog(settings.catalog_dirs)
    catalog.get(kpi_id)
    path = warehouse_path(warehouse)
    if path.exists():
        with Warehouse.open(path, read_only=True, overrides=settings.overrides) as opened:
            found = explain(catalog, kpi_id, opened)
    else:
        found = explain(catalog, kpi_id)
    k = found.kpi
    console.print(f"[bold]{k.id}[/bold]  {k.name.en} / {k.name.ko}")
    console.print(
        f"  stage {k.stage} · function {k.function} · RACE {k.race} · unit {k.unit} · "
        f"{'higher' if k.direction == 'up' else 'lower'} is better · tiers "
        f"{', '.join(k.tiers) or '-'}",
        markup=False,
    )
    console.print(f"  en: {k.definition.en}", markup=False)
    console.print(f"  ko: {k.definition.ko}", markup=False)
    console.print(f"  formula: {found.formula}", markup=False)
    console.print(f"  dimensions: {', '.join(found.dimensions) or '-'}", markup=False)
    for number, sql in enumerate(found.sql, start=1):
        console.print(f"\n-- query {number}", markup=False)
        console.print(sql, markup=False, highlight=False)


@app.command("query")
def query_kpis(
    ids: str = typer.Argument(..., metavar="ID[,ID...]", help="KPI ids, comma-separated."),
    grain: Grain = typer.Option(..., "--grain", help="day, week, month, quarter or year."),
    start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD (inclusive)."),
    end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD (inclusive)."),
    by: list[str] = typer.Option([], "--by", help="Dimension to break down by (repeatable)."),
    filters: list[str] = typer.Option([], "--filter", help="DIM=VALUE (repeatable)."),
    compare: str | None = typer.Option(None, "--compare", help="previous or yoy."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
    no_rollups: bool = typer.Option(False, "--no-rollups", help="Compute from raw tables."),
) -> None:
    """KPI values by grain, range, dimensions and filters, with comparison and targets."""
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    if compare is not None and compare not in COMPARISONS:
        raise ConfigError(
            f'comparison "{compare}" is not valid (choose one of: {", ".join(COMPARISONS)})'
        )
    wanted: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(f'filter "{item}" is not DIM=VALUE (e.g. --filter channel=web)')
        wanted.setdefault(name, []).append(value)
    kpi_ids = [i.strip() for i in ids.split(",") if i.strip()]
    result = query(
        kpi_ids,
        grain,
        parse_date(start, "--start"),
        parse_date(end, "--end"),
        by=by,
        filters=wanted,
        compare=compare,  # type: ignore[arg-type]
        settings=settings,
        rollups=not no_rollups,
    )
    columns = [str(c) for c in result.columns]
    records = [{str(k): v for k, v in row.items()} for row in result.to_dict("records")]
    for row in records:
        row["period_start"] = str(row["period_start"])
    if fmt is not OutputFormat.TABLE:
        render_rows(records, columns, fmt.value)
        return
    catalog = load_catalog(settings.catalog_dirs)
    with Warehouse.open(settings.warehouse, read_only=True, overrides=settings.overrides) as wh:
        currency = wh.currency
    for row in records:
        unit = catalog.get(row["kpi"]).unit
        for column in ("value", "comparison_value", "target"):
            row[column] = (
                format_value(row[column], unit, "en", currency=currency)
                if column == "value" or row[column] is not None
                else ""
            )
        row["change"] = format_change(row["change"], "en") if row["change"] is not None else ""
        row["status"] = row["status"] or ""
    render_rows(records, columns, "table")


@app.command("refresh")
def refresh(
    since: str | None = typer.Option(None, "--since", help="Rebuild from this day (default: all)."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """Rebuild the KPI rollups that dashboards read."""
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    catalog = load_catalog(settings.catalog_dirs)
    first = parse_date(since, "--since") if since else None
    with (
        Warehouse.open(settings.warehouse, overrides=settings.overrides) as opened,
        progress_bar() as progress,
    ):
        task = progress.add_task("Building KPI rollups", total=None)
        report = refresh_rollups(
            opened,
            catalog,
            first,
            progress=lambda _s, done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"Rollups hold {report.atoms} atoms; wrote {report.rows:,} rows.")
