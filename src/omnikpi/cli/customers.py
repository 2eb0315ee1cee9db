"""`omnikpi customers`: the analysts' customer views — lifecycle `segments` over time and
their `transitions`, `rfm` groups, acquisition `cohorts`, one customer's 360 (`show`) and
`list`s of customers, the stored profiles (`refresh`) — and `forget` a customer on
request. Each command is a thin call of a service in `omnikpi.services.customers`, run as
the warehouse owner (`Actor.cli()`): customer-level reads are audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnikpi.cli.customers_clv import app as clv_app
from omnikpi.cli.customers_insights import register_insights
from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import OutputFormat, console, error_console, render_rows

if TYPE_CHECKING:
    from omnikpi.services.customers import CustomerTable
    from omnikpi.settings import Settings

app = typer.Typer(
    help="Customers: segments, transitions, RFM, cohorts, 360; forget one on request.",
    no_args_is_help=True,
)
app.add_typer(clv_app, name="clv")

FormatOption = typer.Option(OutputFormat.TABLE, "--format", help="table, csv or json.")
AsOfOption = typer.Option(
    None, "--as-of", help="Date described, YYYY-MM-DD (default: the latest day with data)."
)
SegmentsOption = typer.Option(
    None,
    "--segments",
    help="Folder of YAML files overriding the segment rules (adds to $OMNIKPI_SEGMENTS).",
    file_okay=False,
)


def _settings(warehouse: Path | None, segments: Path | None) -> Settings:
    from dataclasses import replace

    from omnikpi.settings import load_settings

    settings = load_settings(warehouse)
    if segments is None:
        return settings
    return replace(settings, segment_dirs=(*settings.segment_dirs, segments))


def _day(value: str | None, option: str) -> date | None:
    from omnikpi.services import parse_day

    return parse_day(value, option) if value else None


def _print(result: CustomerTable, fmt: OutputFormat, title: str) -> None:
    """The table as asked; JSON also says the date and what was withheld."""
    document = {
        "as_of": result.as_of.isoformat(),
        "min_cell_customers": result.minimum,
        "withheld": result.withheld,
        "rows": result.rows,
    }
    shown = result.rows if fmt is not OutputFormat.TABLE else [_shown(r) for r in result.rows]
    render_rows(
        shown, result.columns, fmt, title=f"{title} (as of {result.as_of})", json_document=document
    )
    if result.minimum is not None and result.withheld and fmt is OutputFormat.TABLE:
        error_console.print(
            f"{result.withheld} cells describing fewer than {result.minimum} customers "
            "(or giving one back) are withheld."
        )


def _shown(row: dict[str, object]) -> dict[str, object]:
    """Shares as percentages and floats rounded, for reading."""
    from decimal import Decimal

    shown: dict[str, object] = {}
    for name, value in row.items():
        if isinstance(value, float) and (name == "share" or name == "retention"):
            shown[name] = f"{value:.1%}"
        elif isinstance(value, float | Decimal):
            shown[name] = f"{value:,.2f}"
        else:
            shown[name] = value
    return shown


@app.command("segments")
def segments_command(
    ctx: typer.Context,
    as_of: str | None = AsOfOption,
    since: str | None = typer.Option(
        None, "--since", help="First month, YYYY-MM-DD (default: 12 months before --as-of)."
    ),
    by: str | None = typer.Option(
        None,
        "--by",
        help="Split by acquisition_channel, first_channel, region, home_store or member.",
    ),
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """Customers per lifecycle segment at each month end.

    \b
    omnikpi customers segments --since 2025-01-01 --by member --format csv
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import segment_sizes

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    result = segment_sizes(
        _settings(warehouse, segments),
        Actor.cli(),
        as_of=_day(as_of, "--as-of"),
        since=_day(since, "--since"),
        by=by,
    )
    _print(result, fmt, "Lifecycle segments")


@app.command("transitions")
def transitions_command(
    ctx: typer.Context,
    as_of: str | None = AsOfOption,
    start: str | None = typer.Option(
        None, "--from", help="Earlier date, YYYY-MM-DD (default: the month end before --as-of)."
    ),
    months: int = typer.Option(
        1, "--months", min=1, max=120, help="Month-to-month steps up to --as-of (without --from)."
    ),
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """How customers moved between segments: counts and shares of each from-segment.

    \b
    omnikpi customers transitions --from 2025-10-31 --as-of 2025-11-30
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import segment_transition_matrix

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    result = segment_transition_matrix(
        _settings(warehouse, segments),
        Actor.cli(),
        as_of=_day(as_of, "--as-of"),
        start=_day(start, "--from"),
        months=months,
    )
    _print(result, fmt, "Segment transitions")


@app.command("rfm")
def rfm_command(
    ctx: typer.Context,
    as_of: str | None = AsOfOption,
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """Customers per named RFM group, with their mean recency, orders and revenue."""
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import rfm_groups

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    result = rfm_groups(_settings(warehouse, segments), Actor.cli(), as_of=_day(as_of, "--as-of"))
    _print(result, fmt, "RFM groups")


@app.command("cohorts")
def cohorts_command(
    ctx: typer.Context,
    as_of: str | None = AsOfOption,
    since: str | None = typer.Option(None, "--since", help="First cohort month, YYYY-MM-DD."),
    by: str | None = typer.Option(
        None, "--by", help="Split by acquisition_channel, first_channel or first_store."
    ),
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Acquisition cohorts: retention and revenue per customer by months since.

    \b
    omnikpi customers cohorts --since 2025-01-01 --by first_channel
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import cohorts
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    result = cohorts(
        load_settings(warehouse),
        Actor.cli(),
        as_of=_day(as_of, "--as-of"),
        since=_day(since, "--since"),
        by=by,
    )
    _print(result, fmt, "Cohorts")


@app.command("show")
def show_command(
    ctx: typer.Context,
    customer_id: str = typer.Argument(..., help="The customer's id."),
    as_of: str | None = AsOfOption,
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """One customer's 360 (audited).

    \b
    omnikpi customers show C000123 --format json
    """
    from omnikpi.auth import AppStateStore, app_state_path
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import customer_profile

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    settings = _settings(warehouse, segments)
    store = AppStateStore.open(app_state_path(settings.warehouse))
    profile = customer_profile(
        settings, store, Actor.cli(), customer_id, as_of=_day(as_of, "--as-of")
    )
    if fmt is OutputFormat.TABLE:
        rows = [{"field": k, "value": v} for k, v in _shown(profile).items()]
        render_rows(rows, ("field", "value"), "table", title=f"Customer {customer_id}")
    else:
        render_rows([profile], tuple(profile), fmt, json_document=profile)


@app.command("list")
def list_command(
    ctx: typer.Context,
    segment: str | None = typer.Option(None, "--segment", help="Lifecycle segment."),
    rfm_group: str | None = typer.Option(None, "--rfm-group", help="Named RFM group."),
    limit: int = typer.Option(100, "--limit", min=1, max=1_000_000, help="Most customers."),
    as_of: str | None = AsOfOption,
    fmt: OutputFormat = FormatOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """Customers of a segment and/or RFM group, highest revenue first (audited)."""
    from omnikpi.auth import AppStateStore, app_state_path
    from omnikpi.auth.audit import Actor
    from omnikpi.services.customers import list_customers

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    settings = _settings(warehouse, segments)
    store = AppStateStore.open(app_state_path(settings.warehouse))
    result = list_customers(
        settings,
        store,
        Actor.cli(),
        segment=segment,
        rfm_group=rfm_group,
        as_of=_day(as_of, "--as-of"),
        limit=limit,
    )
    _print(result, fmt, "Customers")


@app.command("refresh")
def refresh_command(
    ctx: typer.Context,
    as_of: str | None = AsOfOption,
    warehouse: Path | None = WarehouseOption,
    segments: Path | None = SegmentsOption,
) -> None:
    """Build (or rebuild) the stored customer profiles; loads then keep them fresh."""
    from omnikpi.services.customers import refresh_customer_profiles
    from omnikpi.services.warehouse import write_warehouse

    hand_off(ctx, warehouse)  # a server owning the warehouse answers
    settings = _settings(warehouse, segments)
    with write_warehouse(settings) as opened:
        done = refresh_customer_profiles(opened, settings, _day(as_of, "--as-of"))
    console.print(
        f"customer_profiles: {done.rows:,} customers as of {done.as_of} in {done.seconds:.1f} s"
    )


@app.command("forget")
def forget(
    ctx: typer.Context,
    customer_id: str = typer.Argument(
        ..., help="The customer's id, as the customers table has it."
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why (say, the erasure request's number); kept in the audit log."
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Forget a customer: the id becomes a tombstone in every table, KPI totals stay.

    \b
    omnikpi customers forget C000123 --reason "erasure request #88"
    """
    from omnikpi.auth import AppStateStore, app_state_path
    from omnikpi.auth.audit import Actor
    from omnikpi.errors import RefreshFailed
    from omnikpi.services.forget import forget_customer
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse forgets it there
    settings = load_settings(warehouse)
    store = AppStateStore.open(app_state_path(settings.warehouse))
    result = forget_customer(settings, store, Actor.cli(), customer_id, reason=reason)
    if result.already_forgotten:
        console.print(
            f"Customer already forgotten on {result.forgotten_at:%Y-%m-%d} as "
            f"{result.tombstone}; nothing changed."
        )
        return
    console.print(f"Forgotten: {result.total:,} rows now refer to {result.tombstone} (audited).")
    for name, count in result.rows.items():
        console.print(f"  {name:<24} {count:>10,}")
    if result.refresh_error:
        error_console.print("[yellow]The KPI rollups were not refreshed.[/yellow]")
        raise RefreshFailed(result.refresh_error)


register_insights(app)  # `top` and `affinity` (omnikpi.cli.customers_insights)
