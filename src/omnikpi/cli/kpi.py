"""`omnikpi kpi`: list, show and query KPIs; refresh their rollups.

The CLI runs as the owner of the warehouse file, who can read every table of it with any
DuckDB client: it reads every KPI. `--role ROLE` answers as that role would be answered
on the server (the same rule, `omnikpi.services.access`), to check what a role sees.
"""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.auth import UserRole, parse_role
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, console, progress_bar, render_rows
from omnikpi.i18n.formatting import format_change, format_number, format_value
from omnikpi.services import (
    STAGES,
    KpiRequest,
    KpiResult,
    check_kpi_visible,
    data_settings,
    describe_kpi,
    list_kpis,
    load_catalog,
    open_reader,
    parse_day,
    query_kpis,
    rebuild_rollups,
    visible_kpis,
)
from omnikpi.settings import load_settings

app = typer.Typer(help="KPIs: list, show, query; refresh their rollups.", no_args_is_help=True)
CatalogOption = typer.Option(
    None,
    "--catalog",
    help="Folder of your own catalog YAML files (adds or overrides KPIs).",
    file_okay=False,
)
RoleOption = typer.Option(
    None,
    "--role",
    help="Answer as this role (admin, member:cs_agent, ...): only the KPIs it may read.",
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
def list_command(
    tier: str | None = typer.Option(None, "--tier", help="cxo, lead or member:ROLE."),
    stage: str | None = typer.Option(None, "--stage", help=f"One of {', '.join(STAGES)}."),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    catalog_dir: Path | None = CatalogOption,
    role_name: str | None = RoleOption,
) -> None:
    """The KPIs of the catalog, optionally of one tier or stage (or those a role reads)."""
    role = _role(role_name)
    catalog = load_catalog(load_settings(catalog=catalog_dir).catalog_dirs)
    readable = None if role is None else {k.id for k in visible_kpis(catalog, role)}
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
        for k in list_kpis(catalog, tier, stage)
        if readable is None or k.id in readable
    ]
    render_rows(rows, LIST_COLUMNS, fmt.value, title=f"{len(rows)} KPIs")


@app.command("show")
def show(
    ctx: typer.Context,
    kpi_id: str = typer.Argument(..., metavar="ID", help="KPI id."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
    role_name: str | None = RoleOption,
) -> None:
    """A KPI's definition in English and Korean, its formula and the SQL that computes it."""
    from omnikpi.cli.handoff import hand_off

    role = _role(role_name)
    hand_off(ctx, warehouse)  # a server owning the warehouse answers (it alone can open it)
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    catalog = load_catalog(settings.catalog_dirs)
    if role is not None:
        check_kpi_visible(catalog, role, kpi_id)
    found = describe_kpi(settings, catalog, kpi_id)
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
def query_command(
    ctx: typer.Context,
    ids: str = typer.Argument(..., metavar="ID[,ID...]", help="KPI ids, comma-separated."),
    grain: str = typer.Option(..., "--grain", help="day, week, month, quarter or year."),
    start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD (inclusive)."),
    end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD (inclusive)."),
    by: list[str] = typer.Option([], "--by", help="Dimension to break down by (repeatable)."),
    filters: list[str] = typer.Option([], "--filter", help="DIM=VALUE (repeatable)."),
    compare: str | None = typer.Option(
        None,
        "--compare",
        help="previous, yoy, last_week (days, weeks) or weekday_last_year (days).",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
    no_rollups: bool = typer.Option(False, "--no-rollups", help="Compute from raw tables."),
    parts: bool = typer.Option(
        False, "--parts", help="Also the numerator and denominator of ratio KPIs."
    ),
    role_name: str | None = RoleOption,
) -> None:
    """KPI values by grain, range, dimensions and filters, with comparison and targets."""
    from omnikpi.cli.handoff import hand_off

    role = _role(role_name)
    hand_off(ctx, warehouse)  # a server owning the warehouse answers (it alone can open it)
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    request = KpiRequest.parse(
        ids, grain, start, end, by=by, filters=filters, compare=compare, parts=parts
    )
    catalog = load_catalog(settings.catalog_dirs)
    with open_reader(settings, catalog, rollups=not no_rollups) as reader:
        result = query_kpis(reader, request, role)
    if fmt is OutputFormat.CSV:
        for chunk in result.csv_chunks():
            console.file.write(chunk)
    elif fmt is OutputFormat.JSON:
        render_rows(result.records(), result.columns, "json")
    else:
        render_rows(_formatted(result, data_settings(settings).currency), result.columns, "table")


def _role(name: str | None) -> UserRole | None:
    """The role of `--role` (None: the warehouse owner, who reads every KPI)."""
    return None if name is None else parse_role(name)


def _formatted(result: KpiResult, currency: str) -> list[dict[str, object]]:
    """The rows as people read them: values in their unit, changes in % or points."""
    units = {kpi.id: kpi.unit for kpi in result.kpis}
    rows = []
    for record, row in zip(result.records(), result.rows, strict=True):
        unit = units[row.kpi]

        def shown(value: float | None, unit: str = unit) -> str:
            return format_value(value, unit, "en", currency=currency)  # type: ignore[arg-type]

        shown_row: dict[str, object] = dict(record)
        shown_row["value"] = shown(row.value)
        for column, amount in (
            ("comparison_value", row.comparison_value),
            ("target", row.target),
        ):
            shown_row[column] = "" if amount is None else shown(amount)
        for part, amount in (("numerator", row.numerator), ("denominator", row.denominator)):
            if part in record:
                shown_row[part] = "" if amount is None else format_number(amount, "en", digits=2)
        shown_row["change"] = (
            ""
            if row.change is None
            else format_change(row.change, "en", change_type=row.change_type, unit=unit)
        )
        shown_row["status"] = row.status or ""
        rows.append(shown_row)
    return rows


@app.command("refresh")
def refresh(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Rebuild from this day (default: all)."),
    warehouse: Path | None = WarehouseOption,
    catalog_dir: Path | None = CatalogOption,
) -> None:
    """Rebuild the KPI rollups that dashboards read (by the server, when one runs on the
    warehouse)."""
    from omnikpi.cli.handoff import hand_off

    hand_off(ctx, warehouse)
    settings = load_settings(warehouse=warehouse, catalog=catalog_dir)
    catalog = load_catalog(settings.catalog_dirs)
    first = parse_day(since, "--since") if since else None
    with progress_bar() as progress:
        task = progress.add_task("Building KPI rollups", total=None)
        report = rebuild_rollups(
            settings,
            catalog,
            first,
            progress=lambda _s, done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"Rollups hold {report.atoms} atoms; wrote {report.rows:,} rows.")
