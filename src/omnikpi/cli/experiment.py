"""`omnikpi experiment`: analyze an A/B test from counts or a stored experiment, size one,
and read conversion and brand lift (`omnikpi.cli.experiment_lift`). Thin calls of
`services.experiments` and `services.lift`; readouts are aggregates per variant, run as the
warehouse owner."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from omnikpi.cli.experiment_counts import parse_counts, parse_split
from omnikpi.cli.experiment_lift import brand_lift_command, lift_command
from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.errors import InvalidChoice

if TYPE_CHECKING:
    from omnikpi.services.experiments import TreatmentReadout

app = typer.Typer(
    help="Experiments: analyze A/B tests (counts or stored), conversion and brand lift; "
    "size new tests.",
    no_args_is_help=True,
)
app.command("lift")(lift_command)
app.command("brand-lift")(brand_lift_command)

_COLUMNS = ("variant", "treatment_rate", "lift", "ci_low", "ci_high", "z", "p_value")
_COLUMNS_AFTER = ("adjusted_p_value", "prob_b_beats_a")


def _number(value: object, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _percent(value: object) -> str:
    return "–" if value is None or not isinstance(value, float) else f"{value:+.2%}"


def _table(treatments: tuple[TreatmentReadout, ...], title: str) -> None:
    rows = []
    for treatment in treatments:
        row = treatment.row()
        rows.append(
            {
                "variant": row["variant"],
                "treatment_rate": f"{row['treatment_rate']:.4%}",
                "lift": _percent(row["lift"]),
                "ci_low": _percent(row["ci_low"]),
                "ci_high": _percent(row["ci_high"]),
                "z": _number(row["z"]),
                "p_value": _number(row["p_value"]),
                "adjusted_p_value": _number(row["adjusted_p_value"]),
                "prob_b_beats_a": _number(row["prob_b_beats_a"]),
            }
        )
    render_rows(rows, (*_COLUMNS, *_COLUMNS_AFTER), "table", title=title)


def _srm_line(p_value: float | None, chi_square: float | None) -> str:
    if p_value is None or chi_square is None:
        return "sample ratio: not checked (planned split unknown; give --split)"
    verdict = (
        "MISMATCH: check the assignment before trusting the result" if p_value < 0.001 else "ok"
    )
    return f"sample ratio: chi-square {chi_square:.3f}, srm_p_value {p_value:.4f} ({verdict})"


@app.command("analyze")
def analyze_command(
    control: str | None = typer.Option(
        None, "--control", help="Control conversions/units, e.g. 100/1000."
    ),
    treatment: list[str] = typer.Option(
        [],
        "--treatment",
        help="Treatment conversions/units, [NAME=]CONV/N (repeatable: creatives, variants).",
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="A stored experiment's id (instead of counts)."
    ),
    split: str | None = typer.Option(
        None, "--split", help="Planned shares per variant, control first (default equal)."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level; intervals at 1-alpha."),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Test treatments against the control: z, p-value, lift with its interval, Holm-adjusted
    p-values, P(treatment beats control) and the sample-ratio check.

    \b
    omnikpi experiment analyze --control 100/1000 --treatment 120/1000
    omnikpi experiment analyze --experiment EXP-CHECKOUT-1 --format json
    """
    if experiment is not None:
        if control is not None or treatment:
            raise InvalidChoice(
                "--experiment", experiment, "either --experiment or --control/--treatment"
            )
        _analyze_stored(experiment, parse_split(split), alpha, fmt, warehouse)
        return
    if control is None or not treatment:
        raise InvalidChoice(
            "--control", control or "", "--control CONV/N with one or more --treatment CONV/N"
        )
    from omnikpi.services.experiments import analyze_counts

    _, control_counts = parse_counts(control, "--control")
    parsed = [parse_counts(value, "--treatment") for value in treatment]
    names = [name for name, _ in parsed]
    readout = analyze_counts(
        control_counts, [c for _, c in parsed], names, split=parse_split(split), alpha=alpha
    )
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=readout.as_json())
        return
    c = readout.control
    _table(readout.treatments, f"control {c.conversions:,}/{c.units:,} = {c.rate:.4%}")
    console.print(_srm_line(readout.srm.p_value, readout.srm.chi_square), markup=False)


def _analyze_stored(
    experiment: str,
    split: list[float] | None,
    alpha: float,
    fmt: InfoFormat,
    warehouse: Path | None,
) -> None:
    from omnikpi.services.experiments import analyze_experiment
    from omnikpi.settings import load_settings

    readout = analyze_experiment(load_settings(warehouse), experiment, split=split, alpha=alpha)
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=readout.as_json())
        return
    variants: list[dict[str, Any]] = [
        {
            "variant": v.variant,
            "units": f"{v.units:,}",
            "trials": f"{v.trials:,}",
            "conversions": f"{v.conversions:,}",
            "rate": f"{v.rate:.4%}",
            "revenue_per_unit": f"{v.revenue_per_unit:,.2f}",
        }
        for v in readout.variants
    ]
    render_rows(
        variants,
        ("variant", "units", "trials", "conversions", "rate", "revenue_per_unit"),
        "table",
        title=f"{readout.experiment_id} {readout.name}: {readout.primary_metric}, "
        f"{readout.start_date} → {readout.end_date}",
    )
    _table(readout.treatments, f"against {readout.variants[0].variant}")
    for treatment in readout.treatments:
        if treatment.revenue is not None:
            r = treatment.revenue.adjusted
            console.print(
                f"{treatment.variant}: revenue per unit {r.difference:+,.2f} "
                f"[{r.difference_ci_low:,.2f}, {r.difference_ci_high:,.2f}], "
                f"p {r.p_value:.4f} after CUPED (variance "
                f"-{treatment.revenue.variance_reduction:.1%})",
                markup=False,
            )
    srm = readout.srm
    console.print(
        _srm_line(srm.p_value if srm else None, srm.chi_square if srm else None), markup=False
    )


@app.command("size")
def size_command(
    mde: float = typer.Option(
        ..., "--mde", help="Smallest absolute change to detect (rate: 0.02 = 2 points)."
    ),
    baseline: float | None = typer.Option(
        None, "--baseline", help="Control conversion rate, e.g. 0.1 (a rate's test)."
    ),
    sd: float | None = typer.Option(
        None, "--sd", help="Standard deviation of a continuous outcome (a mean's test)."
    ),
    power: float = typer.Option(0.8, "--power", help="Chance to detect the change."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided significance level."),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
) -> None:
    """Units per variant a two-variant test needs to detect --mde with --power.

    \b
    omnikpi experiment size --baseline 0.1 --mde 0.02
    omnikpi experiment size --sd 40 --mde 2.5 --power 0.9
    """
    from dataclasses import asdict

    from omnikpi.services.experiments import size_experiment

    size = size_experiment(mde, baseline=baseline, sd=sd, power=power, alpha=alpha)
    document = asdict(size) | {"metric": "proportion" if sd is None else "mean"}
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=document)
        return
    console.print(
        f"{size.units_per_variant:,} units per variant ({size.total_units:,} in all) to detect "
        f"{mde:+g} with {power:.0%} power at alpha {alpha:g} (achieved {size.achieved_power:.4f})",
        markup=False,
    )
