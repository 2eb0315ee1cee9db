"""Campaign readout: what an audience's treated customers did in the campaign window
against its holdout. The statistics are those of `omnikpi.marketing.experiments` and
`omnikpi.marketing.lift` (no second copy):

- conversion rate (bought at least once in the window): `two_proportion_test`, absolute
  lift with its Wald interval, relative lift with the log-ratio (Katz) interval;
- revenue and orders per customer: `welch_test` (Welch interval for the difference,
  delta-method interval for the relative lift);
- incremental revenue = n_treated × (revenue per treated customer − per held-out one),
  its interval n_treated × Welch's (`conversion_lift`); incremental conversions likewise;
- ROI = (incremental revenue − cost) / cost = iROAS − 1, when the cost is given (revenue,
  not margin: say so when reading it).

The window is the local days `start` through `end` (both included) in the warehouse's time
zone; purchases are the orders not cancelled, worth their net amount.

    >>> readout = read_out(outcomes_frame, cost=500_000.0)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from omnikpi.audiences.holdout import HOLDOUT, TREATED
from omnikpi.customers.profile import day_end
from omnikpi.errors import DataError, InvalidChoice
from omnikpi.marketing.experiments import MeanTestResult, ProportionTestResult, welch_test
from omnikpi.marketing.lift import ConversionLift, Estimate, GroupTotals, conversion_lift

__all__ = ["CampaignReadout", "campaign_outcomes", "read_out"]


@dataclass(frozen=True)
class CampaignReadout:
    """Treated against holdout over a window (sizes, the three tests, the lift figures)."""

    treated: int
    holdout: int
    conversion: ProportionTestResult
    revenue_per_customer: MeanTestResult
    orders_per_customer: MeanTestResult
    lift: ConversionLift
    roi: Estimate | None
    cost: float | None

    @property
    def incremental_revenue(self) -> Estimate:
        return self.lift.incremental_revenue

    def rows(self) -> list[dict[str, Any]]:
        """One row per measure: holdout, treated, absolute lift (with CI), relative lift
        (with CI), p-value."""
        rows = []
        for name, test in (
            ("conversion_rate", self.conversion),
            ("revenue_per_customer", self.revenue_per_customer),
            ("orders_per_customer", self.orders_per_customer),
        ):
            holdout, treated = _means(test)
            rows.append(
                {
                    "measure": name,
                    "holdout": holdout,
                    "treated": treated,
                    "difference": test.difference,
                    "difference_ci_low": test.difference_ci_low,
                    "difference_ci_high": test.difference_ci_high,
                    "lift": test.lift,
                    "lift_ci_low": test.ci_low,
                    "lift_ci_high": test.ci_high,
                    "p_value": test.p_value,
                }
            )
        return rows

    def as_json(self) -> dict[str, Any]:
        return {
            "treated": self.treated,
            "holdout": self.holdout,
            "measures": self.rows(),
            "incremental_conversions": asdict(self.lift.incremental_conversions),
            "incremental_revenue": asdict(self.incremental_revenue),
            "cost": self.cost,
            "roi": asdict(self.roi) if self.roi else None,
            "alpha": self.conversion.alpha,
        }


def _means(test: ProportionTestResult | MeanTestResult) -> tuple[float, float]:
    if isinstance(test, ProportionTestResult):
        return test.control_rate, test.treatment_rate
    return test.control_mean, test.treatment_mean


def campaign_outcomes(
    members: ir.Table, orders: ir.Table, start: date, end: date, zone: str
) -> ir.Table:
    """Per member (`customer_id`, `group`): `orders` and `revenue` (net, float) of the
    orders not cancelled placed in the local days `start`..`end` of `zone` (0 when none)."""
    if end < start:
        raise InvalidChoice("end", end.isoformat(), f"on or after the start {start.isoformat()}")
    window_start = ibis.literal(day_end(start - timedelta(days=1), zone))
    window_end = ibis.literal(day_end(end, zone))
    bought = orders.filter(
        orders.customer_id.notnull(),
        orders.status != "cancelled",
        orders.placed_at >= window_start,
        orders.placed_at < window_end,
    )
    per_customer = bought.group_by("customer_id").aggregate(
        orders=bought.count(), revenue=bought.net_amount.sum().cast("float64")
    )
    joined = members.select("customer_id", "group").left_join(per_customer, "customer_id")
    return joined.select(
        "customer_id",
        "group",
        orders=joined.orders.fill_null(0),
        revenue=joined.revenue.fill_null(0.0),
    )


def read_out(
    outcomes: pd.DataFrame, *, cost: float | None = None, alpha: float = 0.05
) -> CampaignReadout:
    """The readout from per-member outcomes (`group`, `orders`, `revenue`; see
    `campaign_outcomes`); `cost` is what the campaign cost (None: no ROI)."""
    groups = {name: outcomes[outcomes["group"] == name] for name in (TREATED, HOLDOUT)}
    for name, frame in groups.items():
        if len(frame) < 2:
            raise DataError(
                f"the {name} group has {len(frame)} customers: a readout needs at least 2 in "
                "each group (build the audience with a holdout fraction, e.g. 0.1)"
            )
    treated, holdout = groups[TREATED], groups[HOLDOUT]
    if not (outcomes["orders"] > 0).any():
        raise DataError(
            "no member of either group bought in the campaign window: there is nothing to "
            "compare yet (read out after the window, or check its dates)"
        )

    def totals(frame: pd.DataFrame) -> GroupTotals:
        revenue = frame["revenue"].astype(float)
        return GroupTotals(
            units=len(frame),
            conversions=int((frame["orders"] > 0).sum()),
            revenue=float(revenue.sum()),
            revenue_sd=float(revenue.std(ddof=1)),
        )

    lift = conversion_lift(totals(holdout), totals(treated), spend=cost, alpha=alpha)
    revenue = welch_test(
        holdout["revenue"].astype(float).to_numpy(),
        treated["revenue"].astype(float).to_numpy(),
        alpha,
    )
    orders = welch_test(
        holdout["orders"].astype(float).to_numpy(),
        treated["orders"].astype(float).to_numpy(),
        alpha,
    )
    roi = None
    if lift.iroas is not None:  # ROI = (Δr - cost) / cost = iROAS - 1, ends too
        ends = (lift.iroas.value, lift.iroas.ci_low, lift.iroas.ci_high)
        roi = Estimate(*(None if end is None else end - 1 for end in ends))
    return CampaignReadout(
        treated=len(treated),
        holdout=len(holdout),
        conversion=lift.test,
        revenue_per_customer=revenue,
        orders_per_customer=orders,
        lift=lift,
        roi=roi,
        cost=cost,
    )
