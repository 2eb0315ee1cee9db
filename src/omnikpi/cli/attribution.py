"""`omnikpi attribution`: credit channels with conversions and revenue by one model, on a
paths file or the warehouse's journeys; `journeys` explores those journeys and `offline`
matches store orders to prior touches. Thin calls of `services.attribution` and
`services.journeys`; everything printed is an aggregate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.i18n.formatting import format_number, format_percent
from omnikpi.services.attribution import (
    MODELS,
    Attribution,
    AttributionSettings,
    attribute_paths_file,
    attribute_warehouse,
    attribution_document,
    attribution_rows,
)

app = typer.Typer(
    help="Attribution: credit channels by one model; explore journeys; match store orders.",
    invoke_without_command=True,
)

_StartOption = typer.Option(
    None, "--start", help="First local day of orders, YYYY-MM-DD (default: 90 days to the end)."
)
_EndOption = typer.Option(
    None, "--end", help="Last local day of orders (default: the last day with orders)."
)
_LookbackOption = typer.Option(
    30.0, "--lookback-days", help="Touches this many days before an order belong to it."
)
_OfflineOption = typer.Option(
    True,
    "--include-offline/--online-only",
    help="Store (POS) orders convert too (offline conversions), or only online orders.",
)


def _request(
    start: str | None, end: str | None, lookback_days: float, include_offline: bool = True
) -> Any:
    from omnikpi.services import parse_day
    from omnikpi.services.journeys import JourneyRequest, JourneySettings

    return JourneyRequest(
        first=parse_day(start, "--start") if start else None,
        last=parse_day(end, "--end") if end else None,
        journey=JourneySettings(lookback_days=lookback_days, include_offline=include_offline),
    )


def _settings(warehouse: Path | None) -> Any:
    from omnikpi.settings import load_settings

    return load_settings(warehouse)


@app.callback()
def attribution(
    ctx: typer.Context,
    model: str | None = typer.Option(None, "--model", help=f"One of {', '.join(MODELS)}."),
    paths: Path | None = typer.Option(
        None,
        "--paths",
        metavar="FILE.csv",
        help='Columns path ("search > email"), conversions, non_conversions [, value] '
        '[, days ("9 > 2 > 0", for time_decay)]. Without it: the warehouse\'s journeys.',
        dir_okay=False,
    ),
    order: int = typer.Option(1, "--order", help="Markov order: states of up to k channels."),
    direct: str = typer.Option("direct", "--direct", help="The direct channel (last_non_direct)."),
    half_life: float = typer.Option(
        7.0, "--half-life", help="time_decay half-life in days (in touches with --positional)."
    ),
    positional: bool = typer.Option(
        False,
        "--positional",
        help="time_decay without a days column: the last touch is 0, the one before 1, ...",
    ),
    first_weight: float = typer.Option(0.4, "--first", help="position: the first touch's share."),
    last_weight: float = typer.Option(0.4, "--last", help="position: the last touch's share."),
    start: str | None = _StartOption,
    end: str | None = _EndOption,
    lookback_days: float = _LookbackOption,
    include_offline: bool = _OfflineOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Attribution: credit channels by one model; explore journeys; match store orders.

    Credit each channel with conversions and revenue by one attribution model:

    \b
    omnikpi attribution --model markov                      (the warehouse's journeys)
    omnikpi attribution --model markov --start 2025-10-01 --lookback-days 14 --online-only
    omnikpi attribution --model position --first 0.3 --last 0.3 --paths paths.csv --format json
    omnikpi attribution journeys --top 20
    omnikpi attribution offline
    """
    if ctx.invoked_subcommand is not None:
        return
    if model is None:
        raise typer.BadParameter(
            f"give --model (one of {', '.join(MODELS)}), or a command: journeys, offline",
            param_hint="--model",
        )
    settings = AttributionSettings(
        direct=direct,
        half_life=half_life,
        positional=positional,
        first_weight=first_weight,
        last_weight=last_weight,
        order=order,
    )
    if paths is None:
        request = _request(start, end, lookback_days, include_offline)
        result = attribute_warehouse(_settings(warehouse), model, settings, request)
    else:
        result = attribute_paths_file(paths, model, settings)
    _print_attribution(result, settings, fmt)


def _print_attribution(result: Attribution, settings: AttributionSettings, fmt: InfoFormat) -> None:
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=attribution_document(result, settings))
        return
    rows = attribution_rows(result)
    shown = [
        {
            key: (
                value
                if key == "channel"
                else format_percent(value, "en")
                if key == "share"
                else format_number(value, "en", digits=4 if key == "removal_effect" else 2)
            )
            for key, value in row.items()
        }
        for row in rows
    ]
    columns = list(rows[0]) if rows else ["channel", "conversions", "share"]
    render_rows(shown, columns, "table", title=f"Attribution: {result.model}")
    revenue = (
        ""
        if result.total_revenue is None
        else f", revenue {format_number(result.total_revenue, 'en', digits=2)}"
    )
    console.print(
        f"total: conversions {format_number(result.total_conversions, 'en', digits=2)}{revenue}"
    )


def _cell(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if key.endswith("rate") or key.endswith("share"):
        return format_percent(value, "en")
    whole = key in {"journeys", "conversions", "touches", "orders"}
    return format_number(value, "en", digits=0 if whole else 2)


@app.command("journeys")
def journeys_command(
    top: int = typer.Option(10, "--top", help="How many of the most taken paths to show."),
    start: str | None = _StartOption,
    end: str | None = _EndOption,
    lookback_days: float = _LookbackOption,
    include_offline: bool = _OfflineOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """The warehouse's journeys: top paths with their conversion rate, path lengths and
    time to convert (aggregates only)."""
    from omnikpi.services.journeys import LONGEST_PATH, explore_journeys

    report = explore_journeys(
        _settings(warehouse), _request(start, end, lookback_days, include_offline), top=top
    )
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=report.as_json())
        return
    title = f"Journeys {report.first} → {report.last}, lookback {report.lookback_days:g} days"
    columns = ("path", "journeys", "conversions", "conversion_rate", "revenue")
    render_rows(
        [{k: _cell(k, row[k]) for k in columns} for row in report.top_paths],
        columns,
        "table",
        title=title,
    )
    length_columns = ("touches", "journeys", "conversions", "conversion_rate")
    lengths = [{k: _cell(k, row[k]) for k in length_columns} for row in report.lengths]
    for shown, row in zip(lengths, report.lengths, strict=True):
        if row["touches"] >= LONGEST_PATH:
            shown["touches"] = f"{LONGEST_PATH}+"
    render_rows(
        lengths,
        length_columns,
        "table",
        title="Path length",
    )
    median, p90 = report.median_days_to_convert, report.p90_days_to_convert
    timing = (
        "no converting journey"
        if median is None or p90 is None
        else f"median {format_number(median, 'en', digits=1)} days, "
        f"p90 {format_number(p90, 'en', digits=1)} days"
    )
    console.print(
        f"journeys {report.journeys:,} ({report.converting:,} converting); "
        f"time to convert: {timing}; orders without a touch "
        f"{report.orders_without_touch:,} of {report.orders:,}",
        markup=False,
    )


@app.command("offline")
def offline_command(
    start: str | None = _StartOption,
    end: str | None = _EndOption,
    lookback_days: float = _LookbackOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Store (POS) orders matched to prior ad, message and site touches of the same
    customer: matched share and revenue influenced per channel."""
    from omnikpi.services.journeys import match_offline

    report = match_offline(_settings(warehouse), _request(start, end, lookback_days))
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=report.as_json())
        return
    columns = ("channel", "orders", "revenue_influenced")
    render_rows(
        [{k: _cell(k, row[k]) for k in columns} for row in report.channels],
        columns,
        "table",
        title=f"Store orders matched to touches {report.first} → {report.last}, "
        f"lookback {report.lookback_days:g} days",
    )
    share = report.matched_share
    revenue_share = report.matched_revenue_share
    console.print(
        f"store orders {report.store_orders:,} ({report.identified_orders:,} with a customer); "
        f"matched {report.matched_orders:,}"
        + (f" ({format_percent(share, 'en')})" if share is not None else "")
        + f", revenue {format_number(report.matched_revenue, 'en', digits=2)}"
        + (f" ({format_percent(revenue_share, 'en')})" if revenue_share is not None else ""),
        markup=False,
    )
