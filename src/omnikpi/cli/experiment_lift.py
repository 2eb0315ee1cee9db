"""`omnikpi experiment lift` and `omnikpi experiment brand-lift`: conversion lift (incremental
conversions, revenue, iROAS) and brand lift (awareness, consideration) with their intervals.
Thin calls of `omnikpi.services.lift`; readouts are aggregates per group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from omnikpi.cli.options import WarehouseOption
from omnikpi.cli.output import InfoFormat, console, render_rows
from omnikpi.errors import InvalidChoice

if TYPE_CHECKING:
    from omnikpi.marketing.lift import ConversionLift, Estimate

_LIFT_COLUMNS = ("measure", "value", "ci_low", "ci_high")


def _amount(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _estimate_row(measure: str, estimate: Estimate | None, digits: int = 2) -> dict[str, Any]:
    if estimate is None:
        return {"measure": measure, "value": "–", "ci_low": "–", "ci_high": "–"}
    return {
        "measure": measure,
        "value": _amount(estimate.value, digits),
        "ci_low": _amount(estimate.ci_low, digits),
        "ci_high": _amount(estimate.ci_high, digits),
    }


def _lift_table(lift: ConversionLift, title: str) -> None:
    t = lift.test
    rows = [
        {
            "measure": "conversion rate difference (points)",
            "value": f"{100 * t.difference:+.2f}",
            "ci_low": f"{100 * t.difference_ci_low:+.2f}",
            "ci_high": f"{100 * t.difference_ci_high:+.2f}",
        },
        {
            "measure": "relative lift",
            "value": "–" if t.lift is None else f"{t.lift:+.2%}",
            "ci_low": "–" if t.ci_low is None else f"{t.ci_low:+.2%}",
            "ci_high": "–" if t.ci_high is None else f"{t.ci_high:+.2%}",
        },
        _estimate_row("incremental conversions", lift.incremental_conversions, 1),
        _estimate_row("incremental share of conversions", lift.incremental_share, 3),
        _estimate_row("incremental revenue", lift.incremental_revenue),
        _estimate_row("iROAS", lift.iroas, 3),
        _estimate_row("cost per incremental conversion", lift.cost_per_incremental_conversion),
    ]
    render_rows(rows, _LIFT_COLUMNS, "table", title=title)
    h, e = lift.holdout, lift.exposed
    how = (
        f"bootstrap, {lift.resamples:,} resamples, seed {lift.seed}"
        if lift.method == "bootstrap"
        else "delta method"
    )
    console.print(
        f"holdout {h.conversions:,}/{h.units:,} = {h.rate:.4%}, exposed {e.conversions:,}/"
        f"{e.units:,} = {e.rate:.4%}; z {t.z:.4f}, p_value {t.p_value:.4f}; spend "
        f"{_amount(lift.spend, 2)}; {1 - lift.alpha:.0%} intervals ({how})",
        markup=False,
    )


def lift_command(
    experiment: str | None = typer.Option(
        None, "--experiment", help="A stored experiment (campaign holdout, A/B test)."
    ),
    file: Path | None = typer.Option(
        None,
        "--file",
        help="CSV of group totals: group (exposed, holdout), units, conversions "
        "[, revenue] [, revenue_sd].",
    ),
    holdout: str | None = typer.Option(None, "--holdout", help="Holdout conversions/units."),
    exposed: str | None = typer.Option(None, "--exposed", help="Exposed conversions/units."),
    spend: float | None = typer.Option(
        None, "--spend", help="Campaign spend for iROAS (stored experiments: its campaign's)."
    ),
    bootstrap: int = typer.Option(
        0, "--bootstrap", help="Resamples for bootstrap intervals (stored experiments); 0: delta."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed of the bootstrap."),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level; intervals at 1-alpha."),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Conversion lift of the exposed group over a random holdout: incremental conversions,
    revenue and iROAS with their intervals.

    \b
    omnikpi experiment lift --experiment EXP-WINBACK-HOLDOUT
    omnikpi experiment lift --file lift.csv --spend 2500000 --format json
    omnikpi experiment lift --holdout 50/1000 --exposed 280/4000
    """
    from omnikpi.cli.experiment_counts import parse_counts
    from omnikpi.services.lift import GroupTotals, counts_lift, experiment_lift, file_lift

    given = [name for name, v in (("--experiment", experiment), ("--file", file)) if v]
    if holdout is not None or exposed is not None:
        given.append("--holdout/--exposed")
    if len(given) != 1:
        raise InvalidChoice(
            "input", ", ".join(given) or "none", "one of --experiment, --file, --holdout/--exposed"
        )
    if bootstrap and experiment is None:
        raise InvalidChoice("--bootstrap", str(bootstrap), "resampling needs --experiment units")
    if experiment is not None:
        from omnikpi.settings import load_settings

        stored = experiment_lift(
            load_settings(warehouse),
            experiment,
            spend=spend,
            alpha=alpha,
            resamples=bootstrap,
            seed=seed,
        )
        if fmt is InfoFormat.JSON:
            render_rows([], (), "json", json_document=stored.as_json())
            return
        for variant, lift in stored.lifts:
            _lift_table(
                lift, f"{stored.experiment_id} {stored.name}: {variant} over {stored.control}"
            )
        return
    if file is not None:
        lift = file_lift(file, spend, alpha)
    else:
        if holdout is None or exposed is None:
            raise InvalidChoice("--holdout", holdout or "", "both --holdout and --exposed CONV/N")
        _, h = parse_counts(holdout, "--holdout")
        _, e = parse_counts(exposed, "--exposed")
        lift = counts_lift(
            GroupTotals(h.units, h.conversions), GroupTotals(e.units, e.conversions), spend, alpha
        )
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=lift.as_json())
        return
    _lift_table(lift, "conversion lift: exposed over holdout")


def brand_lift_command(
    campaign: str | None = typer.Option(
        None, "--campaign", help="A campaign with brand-lift survey answers in the warehouse."
    ),
    answers: Path | None = typer.Option(
        None, "--answers", help="CSV of answers: group (exposed, control), question, answer."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided level; intervals at 1-alpha."),
    fmt: InfoFormat = typer.Option(InfoFormat.TABLE, "--format", help="table or json."),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Brand lift: each question's share of positive answers, exposed against control, in
    points with its interval, relative lift, Holm-adjusted p-value and P(exposed higher).

    \b
    omnikpi experiment brand-lift
    omnikpi experiment brand-lift --answers survey.csv --format json
    """
    from omnikpi.services.lift import answers_lift, survey_brand_lift

    if answers is not None:
        if campaign is not None:
            raise InvalidChoice("--answers", str(answers), "either --answers or --campaign")
        study = answers_lift(answers, alpha)
    else:
        from omnikpi.settings import load_settings

        study = survey_brand_lift(load_settings(warehouse), campaign, alpha)
    if fmt is InfoFormat.JSON:
        render_rows([], (), "json", json_document=study.as_json())
        return
    rows = []
    for question in study.lift.questions:
        r = question.row()
        rows.append(
            {
                "question": r["question"],
                "control": f"{r['control_positive']:,}/{r['control_respondents']:,} = "
                f"{r['control_rate']:.1%}",
                "exposed": f"{r['exposed_positive']:,}/{r['exposed_respondents']:,} = "
                f"{r['exposed_rate']:.1%}",
                "lift_points": f"{100 * r['lift_points']:+.2f}",
                "ci_low": f"{100 * r['lift_points_ci_low']:+.2f}",
                "ci_high": f"{100 * r['lift_points_ci_high']:+.2f}",
                "adjusted_p_value": f"{r['adjusted_p_value']:.4f}",
                "prob_exposed_higher": f"{r['prob_exposed_higher']:.3f}",
            }
        )
    title = "brand lift" + (
        f": {study.campaign_id} {study.campaign_name or ''}" if study.campaign_id else ""
    )
    render_rows(
        rows,
        ("question", "control", "exposed", "lift_points", "ci_low", "ci_high",
         "adjusted_p_value", "prob_exposed_higher"),
        "table",
        title=title.strip(),
    )  # fmt: skip
