"""`omnikpi analyze`: ad-hoc analyses. `catchment` describes the customers living within a
radius (or a drive-time proxy) of a location or a store against all customers. A thin
call of `omnikpi.services.catchment`, run as the warehouse owner (`Actor.cli()`); what it
prints is aggregate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, error_console, render_rows

app = typer.Typer(help="Ad-hoc analyses: a new store's catchment.", no_args_is_help=True)

#: What each facet's table is called (a table shows customers and shares; the JSON has
#: the orders and revenue too).
FACET_TITLES = {
    "channels": "Channel mix (window)",
    "categories": "Categories (window, line revenue)",
    "segments": "Lifecycle segments",
    "distance_bands": "Distance to the nearest current store (km)",
}


def _show(value: Any, name: str) -> str:
    """A figure for the terminal: shares as percentages, money with separators."""
    if value is None:
        return ""
    if isinstance(value, float):
        if name.endswith("share"):
            return f"{value:.1%}"
        if name.startswith(("orders_per", "average_distance")):
            return f"{value:,.2f}"
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _document(answer: Any) -> dict[str, Any]:
    """The answer as JSON: the circle, the window, the summary and the mixes."""
    return {
        "latitude": answer.catchment.latitude,
        "longitude": answer.catchment.longitude,
        "radius_km": answer.catchment.radius_km,
        "store_id": answer.store_id,
        "store_name": answer.store_name,
        "drive_minutes": answer.drive_minutes,
        "speed_kmh": answer.speed_kmh,
        "window_start": answer.window.start.isoformat(),
        "window_end": answer.window.end.isoformat(),
        "clv_basis": answer.clv_basis,
        "located_customers": answer.located_customers,
        "customers_without_location": answer.unlocated_customers,
        "min_cell_customers": answer.minimum,
        "withheld": answer.withheld,
        "summary": answer.summary,
        **answer.facets,
    }


def _print_tables(answer: Any) -> None:
    centre = f"{answer.catchment.latitude:.4f}, {answer.catchment.longitude:.4f}"
    if answer.store_id:
        centre = f"store {answer.store_id} ({answer.store_name}) at {centre}"
    radius = f"{answer.catchment.radius_km:g} km"
    if answer.drive_minutes is not None:
        radius += f" ({answer.drive_minutes:g} minutes at {answer.speed_kmh:g} km/h)"
    console.print(f"centre: {centre}", highlight=False)
    console.print(f"radius: {radius}", highlight=False)
    console.print(f"window: {answer.window.start}..{answer.window.end}", highlight=False)
    console.print(f"clv: {answer.clv_basis.replace('_', ' ')}", highlight=False)
    if answer.unlocated_customers:
        console.print(
            f"customers without a home location (in no catchment): {answer.unlocated_customers:,}",
            highlight=False,
        )
    groups = answer.summary
    rows = [
        {"figure": name, **{g: _show(groups[g].get(name), name) for g in ("catchment", "all")}}
        for name in groups["all"]
        if name != "suppressed"
    ]
    render_rows(rows, ("figure", "catchment", "all"), "table", title="Catchment against all")
    for facet, title in FACET_TITLES.items():
        facet_rows = answer.facets[facet]
        columns = tuple(
            c
            for c in (facet_rows[0] if facet_rows else {"value": None})
            if c == "value" or c.endswith(("_customers", "_share", "_suppressed"))
        )
        shown = [{c: _show(row.get(c), c) for c in columns} for row in facet_rows]
        render_rows(shown, columns, "table", title=title)
    if answer.minimum is not None and answer.withheld:
        error_console.print(
            f"{answer.withheld} cells describing fewer than {answer.minimum} customers "
            "(or giving one back) are withheld."
        )


@app.command("catchment")
def catchment_command(
    ctx: typer.Context,
    lat: float | None = typer.Option(None, "--lat", help="Latitude of the centre (degrees)."),
    lon: float | None = typer.Option(None, "--lon", help="Longitude of the centre (degrees)."),
    radius_km: float | None = typer.Option(
        None, "--radius-km", help="Radius in km (great-circle distance; at most 500)."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Centre on this store (its id) instead of --lat/--lon."
    ),
    drive_minutes: float | None = typer.Option(
        None, "--drive-minutes", help="Radius as a drive of this many minutes (not --radius-km)."
    ),
    speed_kmh: float = typer.Option(
        30.0, "--speed-kmh", help="Average speed of --drive-minutes (default: 30 km/h, urban)."
    ),
    window: str | None = typer.Option(
        None,
        "--window",
        help="Purchase window: 365d, 12m, 2y (ending on the latest day with data) or "
        "YYYY-MM-DD..YYYY-MM-DD (default: 365d).",
    ),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """The customers living within a radius of a location or a store against all customers:
    channel mix, categories, frequency, AOV, CLV, segments, distance to current stores.

    \b
    omnikpi analyze catchment --lat 37.5663 --lon 126.9779 --radius-km 5
    omnikpi analyze catchment --store S002 --drive-minutes 15 --format json
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.catchment import CatchmentRequest, catchment_analysis
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    request = CatchmentRequest(
        latitude=lat,
        longitude=lon,
        radius_km=radius_km,
        store_id=store,
        drive_minutes=drive_minutes,
        speed_kmh=speed_kmh,
        window=window,
    )
    answer = catchment_analysis(settings, Actor.cli(), request)
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=_document(answer))
    else:
        _print_tables(answer)
