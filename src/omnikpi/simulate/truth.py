"""The causal effects planted in the simulated data, and the table that records them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

#: NPS answer distributions (scores 0..10) after on-time and after late deliveries.
NPS_ON_TIME = np.array([0.01, 0.005, 0.01, 0.015, 0.02, 0.04, 0.05, 0.1, 0.2, 0.25, 0.3])
NPS_LATE = np.array([0.06, 0.04, 0.05, 0.06, 0.08, 0.1, 0.11, 0.14, 0.14, 0.1, 0.08])


def _nps(p: np.ndarray) -> float:
    return float(100 * (p[9:].sum() - p[:7].sum()) / p.sum())


def _mean_score(p: np.ndarray) -> float:
    return float((np.arange(11) * p).sum() / p.sum())


@dataclass(frozen=True)
class Planted:
    """Parameters of the generating process (rates per day)."""

    # BG/NBD repeat purchasing (Fader, Hardie & Lee 2005), time unit = one day.
    r: float = 0.85
    alpha: float = 75.0
    a: float = 0.9
    b: float = 4.5
    member_rate_multiplier: float = 1.4
    member_spend_multiplier: float = 1.12
    checkout_completion: float = 0.62
    checkout_relative_lift: float = 0.08
    complaint_on_time: float = 0.02
    complaint_late: float = 0.12
    bounce_normal: float = 0.32
    bounce_slow: float = 0.55
    brand_aware_control: float = 0.31
    brand_aware_exposed: float = 0.38
    bad_experience_probability: float = 0.03
    bad_experience_dropout: float = 0.5


PLANTED = Planted()


@dataclass
class TruthRecorder:
    """Collects (key, value, unit, description) rows while the simulation runs."""

    rows: list[tuple[str, float, str, str]] = field(default_factory=list)

    def add(self, key: str, value: float, unit: str, description: str) -> None:
        self.rows.append((key, float(value), unit, description))

    def record_planted(self, planted: Planted, experiment_id: str) -> None:
        p = planted
        self.add("bgnbd.r", p.r, "shape", "BG/NBD purchase-rate heterogeneity shape r (days).")
        self.add("bgnbd.alpha", p.alpha, "days", "BG/NBD purchase-rate scale alpha (days).")
        self.add("bgnbd.a", p.a, "shape", "BG/NBD dropout Beta(a, b) parameter a.")
        self.add("bgnbd.b", p.b, "shape", "BG/NBD dropout Beta(a, b) parameter b.")
        self.add(
            "retention.bad_experience.probability",
            p.bad_experience_probability,
            "probability",
            "Each repeat purchase goes badly (delivered late) with this probability.",
        )
        self.add(
            "retention.bad_experience.dropout",
            p.bad_experience_dropout,
            "probability",
            "After a purchase that went badly the customer leaves with this probability on top "
            "of her BG/NBD dropout: P(stay) = (1 - p)(1 - this).",
        )
        self.add(
            "members.purchase_rate_multiplier",
            p.member_rate_multiplier,
            "ratio",
            "Members' repeat-purchase rate is the non-member rate times this value; "
            "membership is independent of the latent rate and dropout.",
        )
        self.add(
            "members.spend_multiplier",
            p.member_spend_multiplier,
            "ratio",
            "Members put this many times more units in a basket (expected).",
        )
        c, lift = p.checkout_completion, p.checkout_relative_lift
        self.add(
            f"experiment.{experiment_id}.control_rate",
            c,
            "probability",
            "Share of checkout sessions that purchase in the control variant.",
        )
        self.add(
            f"experiment.{experiment_id}.relative_lift",
            lift,
            "ratio",
            "Treatment checkout-completion rate / control rate - 1, per session with "
            "begin_checkout during the test window.",
        )
        self.add(
            "delivery.complaint_probability.on_time",
            p.complaint_on_time,
            "probability",
            "Chance that a delivered order gets a delivery complaint when on time.",
        )
        self.add(
            "delivery.complaint_probability.late",
            p.complaint_late,
            "probability",
            "Chance that a delivered order gets a delivery complaint when late.",
        )
        self.add(
            "delivery.nps_mean_score.on_time",
            _mean_score(NPS_ON_TIME),
            "score",
            "Expected 0-10 NPS answer after an on-time delivery.",
        )
        self.add(
            "delivery.nps_mean_score.late",
            _mean_score(NPS_LATE),
            "score",
            "Expected 0-10 NPS answer after a late delivery.",
        )
        self.add(
            "delivery.nps.on_time",
            _nps(NPS_ON_TIME),
            "score",
            "NPS of answers after on-time deliveries (promoters - detractors, %).",
        )
        self.add(
            "delivery.nps.late", _nps(NPS_LATE), "score", "NPS of answers after late deliveries."
        )
        self.add(
            "site.bounce_probability.normal",
            p.bounce_normal,
            "probability",
            "Chance that a browsing session bounces when the landing page loads in <3 s.",
        )
        self.add(
            "site.bounce_probability.slow",
            p.bounce_slow,
            "probability",
            "Chance that a browsing session bounces when the landing page takes >=3 s.",
        )
        self.add(
            "brand_lift.aware.control",
            p.brand_aware_control,
            "probability",
            "Brand awareness among brand-lift respondents not exposed to the flight.",
        )
        self.add(
            "brand_lift.aware.exposed",
            p.brand_aware_exposed,
            "probability",
            "Brand awareness among respondents exposed to the flight.",
        )

    def table(self) -> pa.Table:
        return pa.table(
            {
                "key": [row[0] for row in self.rows],
                "value": pa.array([row[1] for row in self.rows], pa.float64()),
                "unit": [row[2] for row in self.rows],
                "description": [row[3] for row in self.rows],
            }
        )
