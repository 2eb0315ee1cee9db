"""The readout on the simulated retailer's win-back e-mail: its planted holdout
(experiment_assignments of EXP-WINBACK-HOLDOUT) read out over the campaign's days
recovers the planted effect on conversion (simulation_truth) within its 95 % interval."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from omnikpi.audiences import campaign_outcomes, read_out
from omnikpi.warehouse import Warehouse

EXPERIMENT = "EXP-WINBACK-HOLDOUT"


def test_the_planted_win_back_effect_lies_in_the_interval(sim_path: Path) -> None:
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        campaign, start, end = warehouse.fetch_row(
            "SELECT campaign_id, start_date, end_date FROM experiments WHERE experiment_id = ?",
            [EXPERIMENT],
        ) or pytest.fail("the simulated retailer has no win-back holdout")
        truth = dict(
            warehouse.fetch_rows(
                "SELECT key, value FROM simulation_truth WHERE key LIKE ?",
                [f"campaign.{campaign}.%"],
            )
        )
        assignments = warehouse.table("experiment_assignments")
        assignments = assignments.filter(assignments.experiment_id == EXPERIMENT)
        members = assignments.select(
            customer_id=assignments.unit_id,
            group=ibis.cases((assignments.variant == "treatment", "treated"), else_="holdout"),
        )
        outcomes = warehouse.execute(
            campaign_outcomes(members, warehouse.table("orders"), start, end, warehouse.time_zone)
        )
    readout = read_out(outcomes)
    assert readout.treated + readout.holdout == truth[f"campaign.{campaign}.audience"]
    effect = truth[f"campaign.{campaign}.incremental_conversion"]  # about 0.07
    conversion = readout.conversion
    assert conversion.difference_ci_low < effect < conversion.difference_ci_high
    assert conversion.difference_ci_low > 0  # the e-mail worked, and the readout sees it
