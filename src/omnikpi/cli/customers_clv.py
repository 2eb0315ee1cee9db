"""`omnikpi customers clv`: fit a CLV model and print its parameters (`fit`), check it on
a holdout period (`holdout`), or score every customer and write `customer_scores`
(`predict`). Thin calls of `services.clv`, run
as the warehouse owner (`Actor.cli()`); both read customer-level purchases and are audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from omnikpi.cli.handoff import hand_off
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, error_console, render_rows

if TYPE_CHECKING:
    from omnikpi.auth import AppStateStore

app = typer.Typer(
    help="Customer lifetime value: fit BG/NBD, Pareto/NBD or Gamma-Gamma; score customers.",
    no_args_is_help=True,
)

TimeUnitOption = typer.Option("week", "--time-unit", help="day or week.")


def _day(value: str | None, option: str) -> date | None:
    from omnikpi.services import parse_day

    return parse_day(value, option) if value else None


def _store(warehouse: Path) -> AppStateStore:
    from omnikpi.auth import AppStateStore, app_state_path

    return AppStateStore.open(app_state_path(warehouse))


@app.command("fit")
def fit_command(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", help="bgnbd, pareto or gamma-gamma."),
    calibration_end: str | None = typer.Option(
        None,
        "--calibration-end",
        help="Last day of the purchases fitted, YYYY-MM-DD (default: the latest purchase).",
    ),
    time_unit: str = TimeUnitOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Fit a model to the purchases through the calibration end and print its parameters.

    \b
    omnikpi customers clv fit --model bgnbd --calibration-end 1997-09-30 --time-unit week
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.clv import fit_clv
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    result = fit_clv(
        settings,
        _store(settings.warehouse),
        Actor.cli(),
        model=model,
        calibration_end=_day(calibration_end, "--calibration-end"),
        time_unit=time_unit,
    )
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=result.as_json())
        return
    rows = [
        {"parameter": name, "value": f"{value:.4f}", "standard_error": f"{error:.4f}"}
        for name, value in result.parameters.items()
        for error in [result.standard_errors.get(name, float("nan"))]
    ]
    render_rows(
        rows,
        ("parameter", "value", "standard_error"),
        "table",
        title=f"{result.model}: {result.customers:,} customers through "
        f"{result.calibration_end} ({result.time_unit}s)",
    )
    console.print(f"log-likelihood {result.log_likelihood:,.3f}")


@app.command("predict")
def predict_command(
    ctx: typer.Context,
    horizon: str = typer.Option("3y", "--horizon", help="e.g. 3y, 18m, 52w, 90d."),
    model: str = typer.Option("bgnbd", "--model", help="Purchase model: bgnbd or pareto."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Last day of the purchases read, YYYY-MM-DD (default: the latest purchase).",
    ),
    time_unit: str = TimeUnitOption,
    discount_rate: float = typer.Option(
        0.10, "--discount-rate", help="Annual discount rate of future margin (0.10: 10 %)."
    ),
    margin_rate: float | None = typer.Option(
        None,
        "--margin-rate",
        help="Gross margin share of spend (default: from the order lines' unit costs).",
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Fit the purchase model and Gamma-Gamma, score every customer and write
    customer_scores; later loads re-score with the stored fits.

    \b
    omnikpi customers clv predict --horizon 3y --margin-rate 0.3
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.errors import RefreshFailed
    from omnikpi.services.clv import ScoreSettings, parse_horizon, predict_clv
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    score = ScoreSettings(
        model=model,
        time_unit=time_unit,
        horizon_days=parse_horizon(horizon),
        annual_discount_rate=discount_rate,
        margin_rate=margin_rate,
    )
    result = predict_clv(
        settings,
        _store(settings.warehouse),
        Actor.cli(),
        score,
        as_of=_day(as_of, "--as-of"),
    )
    fits = ", ".join(
        f"{fit.model} ({', '.join(f'{k}={v:.3f}' for k, v in fit.parameters.items())})"
        for fit in (result.purchase_fit, result.spend_fit)
    )
    console.print(
        f"customer_scores: {result.customers:,} customers as of {result.as_of} "
        f"(audited); mean 3-year CLV {result.mean_clv:,.2f} at a {result.margin_rate:.1%} "
        f"margin; {fits}"
    )
    if result.refresh_error:
        error_console.print("[yellow]The KPI rollups were not refreshed.[/yellow]")
        raise RefreshFailed(result.refresh_error)


@app.command("holdout")
def holdout_command(
    ctx: typer.Context,
    calibration_end: str = typer.Option(
        ..., "--calibration-end", help="Last day fitted, YYYY-MM-DD; the holdout follows it."
    ),
    holdout_end: str | None = typer.Option(
        None, "--holdout-end", help="Last day compared (default: the latest purchase)."
    ),
    model: str = typer.Option("bgnbd", "--model", help="bgnbd or pareto."),
    time_unit: str = TimeUnitOption,
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Predicted against actual repeat purchases in the holdout, per calibration frequency.

    \b
    omnikpi customers clv holdout --calibration-end 1997-09-30 --model pareto
    """
    from omnikpi.auth.audit import Actor
    from omnikpi.services.clv_holdout import check_clv_holdout
    from omnikpi.settings import load_settings

    hand_off(ctx, warehouse)  # a server owning the warehouse runs it
    settings = load_settings(warehouse)
    end = _day(calibration_end, "--calibration-end")
    assert end is not None  # a required option
    result = check_clv_holdout(
        settings,
        _store(settings.warehouse),
        Actor.cli(),
        model=model,
        calibration_end=end,
        holdout_end=_day(holdout_end, "--holdout-end"),
        time_unit=time_unit,
    )
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=result.as_json())
        return
    rows = [
        {
            "frequency": row.frequency,
            "customers": row.customers,
            "actual": f"{row.actual:.3f}",
            "predicted": f"{row.predicted:.3f}",
        }
        for row in result.report.buckets.itertuples()
    ]
    render_rows(
        rows,
        ("frequency", "customers", "actual", "predicted"),
        "table",
        title=f"{result.model}: repeat purchases {result.calibration_end} → {result.holdout_end}",
    )
    console.print(
        f"total: actual {result.report.actual_total:,.0f}, predicted "
        f"{result.report.predicted_total:,.1f} ({result.report.error_share:+.1%})"
    )
