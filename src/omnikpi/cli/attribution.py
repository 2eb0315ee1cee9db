"""`omnikpi attribution`: credit channels with conversions and revenue by one model."""

from __future__ import annotations

from pathlib import Path

import typer

from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.i18n.formatting import format_number, format_percent
from omnikpi.services.attribution import (
    MODELS,
    AttributionSettings,
    attribute_paths_file,
    attribution_document,
    attribution_rows,
    journeys_from_warehouse,
)


def attribution(
    model: str = typer.Option(..., "--model", help=f"One of {', '.join(MODELS)}."),
    paths: Path | None = typer.Option(
        None,
        "--paths",
        metavar="FILE.csv",
        help='Columns path ("search > email"), conversions, non_conversions [, value] '
        '[, days ("9 > 2 > 0", for time_decay)].',
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
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
) -> None:
    """Credit each channel with conversions and revenue by one attribution model.

    \b
    omnikpi attribution --model markov --paths paths.csv
    omnikpi attribution --model position --first 0.3 --last 0.3 --paths paths.csv --format json
    """
    settings = AttributionSettings(
        direct=direct,
        half_life=half_life,
        positional=positional,
        first_weight=first_weight,
        last_weight=last_weight,
        order=order,
    )
    if paths is None:
        journeys_from_warehouse()
        return
    result = attribute_paths_file(paths, model, settings)
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
