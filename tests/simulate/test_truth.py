"""The causal effects the simulator plants are recoverable from its tables, for each of
several seeds (`SEEDS` in conftest.py: the demo's and two more).

Each test estimates an effect the way an analyst would (from assignments, orders, tickets,
surveys, events) and checks that the recorded true value lies in its confidence interval.
There are 15 intervals per seed, 45 in all; at 95% each, a correct simulator would miss one
of them in nine runs out of ten (seed 37's exposed brand-lift rate lies 2.06 standard
errors off). Each interval is therefore 99.9% (z = 3.29), so that a correct simulator misses
any of the 45 with probability at most 45 × 0.001 = 4.5% (Bonferroni), and each seed's draw
is no accident of the seed chosen.

Wider intervals must not let a missing effect through, so each effect large enough to show
at that width is also checked to show (its interval excludes "no effect"): late deliveries'
complaints (15 standard errors on every seed), their NPS (15), slow pages' bounces (27),
members' sooner purchases (multiplier's interval above 1.15) and the lower retention after a
repeat order delivered late (7 standard errors). The win-back e-mail's effect is
about 3.4 standard errors: it must show one-sided at 95% (z = 1.645), which a correct
simulator does with probability Φ(3.4 − 1.645) ≈ 96% per seed. The checkout A/B test's 8%
lift is 2.3 standard errors and the brand-lift surveys (~60 exposed) are too few to show
their lift: for those only the planted values are checked.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from omnikpi.customers.clv.bgnbd import fit_bgnbd
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_END, query, scalar

#: Width of every interval: 99.9%, two-sided (see the module's docstring).
Z = stats.norm.ppf(1 - 0.001 / 2)
#: An effect "shows" one-sided at 95% (the win-back e-mail's, the weakest checked).
Z_SHOWS = stats.norm.ppf(0.95)


def truth(sim: Warehouse, key: str) -> float:
    value = scalar(sim, "SELECT value FROM simulation_truth WHERE key = ?", key)
    assert isinstance(value, float), key
    return value


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval of a proportion (at `Z`)."""
    p = successes / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


def test_ab_test_lift_is_in_the_confidence_interval(seeded_sim: Warehouse) -> None:
    rows = dict(
        (v, (n, k))
        for v, n, k in query(
            seeded_sim,
            """
        WITH exp AS (SELECT * FROM experiments WHERE experiment_id = 'EXP-CHECKOUT-1'),
        checkout AS (
            SELECT s.visitor_id, bool_or(e.event_type = 'purchase') AS bought
            FROM events e JOIN sessions s USING (session_id), exp
            WHERE CAST(s.started_at AS DATE) BETWEEN exp.start_date AND exp.end_date
            GROUP BY e.session_id, s.visitor_id
            HAVING bool_or(e.event_type = 'begin_checkout'))
        SELECT a.variant, count(*), sum(CAST(bought AS INT))
        FROM checkout c JOIN experiment_assignments a
          ON a.unit_id = c.visitor_id AND a.experiment_id = 'EXP-CHECKOUT-1'
        GROUP BY 1""",
        )
    )
    (n_c, k_c), (n_t, k_t) = rows["control"], rows["treatment"]
    p_c, p_t = k_c / n_c, k_t / n_t
    se = math.sqrt((1 - p_t) / k_t + (1 - p_c) / k_c)
    low, high = (math.exp(math.log(p_t / p_c) + s * Z * se) - 1 for s in (-1, 1))
    lift = truth(seeded_sim, "experiment.EXP-CHECKOUT-1.relative_lift")
    assert low <= lift <= high, (low, high)
    control = truth(seeded_sim, "experiment.EXP-CHECKOUT-1.control_rate")
    assert wilson(k_c, n_c)[0] <= control <= wilson(k_c, n_c)[1]
    assert min(n_c, n_t) > 500


def test_win_back_holdout_effect_is_in_the_confidence_interval(seeded_sim: Warehouse) -> None:
    campaign = scalar(
        seeded_sim,
        "SELECT campaign_id FROM experiments WHERE experiment_id = 'EXP-WINBACK-HOLDOUT'",
    )
    rows = dict(
        (v, (n, k))
        for v, n, k in query(
            seeded_sim,
            """
        SELECT a.variant, count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM orders o WHERE o.customer_id = a.unit_id
              AND o.placed_at >= a.assigned_at
              AND o.placed_at < a.assigned_at + INTERVAL 14 DAY))
        FROM experiment_assignments a WHERE a.experiment_id = 'EXP-WINBACK-HOLDOUT'
        GROUP BY 1""",
        )
    )
    (n_h, k_h), (n_t, k_t) = rows["holdout"], rows["treatment"]
    p_h, p_t = k_h / n_h, k_t / n_t
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_h * (1 - p_h) / n_h)
    effect = truth(seeded_sim, f"campaign.{campaign}.incremental_conversion")
    assert p_t - p_h - Z * se <= effect <= p_t - p_h + Z * se
    assert p_t - p_h - Z_SHOWS * se > 0, "the win-back e-mail should show a significant effect"
    assert truth(seeded_sim, f"campaign.{campaign}.audience") == n_h + n_t


def test_late_deliveries_raise_complaints(seeded_sim: Warehouse) -> None:
    rows = dict(
        (late, (n, k))
        for late, n, k in query(
            seeded_sim,
            """
        SELECT CAST(s.delivered_at AS DATE) > s.promised_date AS late, count(*),
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM tickets t WHERE t.order_id = s.order_id
                     AND t.kind = 'complaint' AND t.topic = 'delivery'))
        FROM shipments s
        WHERE s.delivered_at IS NOT NULL AND CAST(s.delivered_at AS DATE) <= ? - 5
        GROUP BY 1""",
            SIM_END,
        )
    )
    intervals = {}
    for late, key in ((True, "late"), (False, "on_time")):
        n, k = rows[late]
        low, high = intervals[key] = wilson(k, n)
        assert low <= truth(seeded_sim, f"delivery.complaint_probability.{key}") <= high, key
    assert intervals["late"][0] > intervals["on_time"][1], (
        "late deliveries should show more complaints"
    )


def test_late_deliveries_lower_nps(seeded_sim: Warehouse) -> None:
    scores = query(
        seeded_sim,
        """
        SELECT CAST(s.delivered_at AS DATE) > s.promised_date, v.score
        FROM surveys v JOIN shipments s USING (order_id) WHERE v.kind = 'nps'""",
    )
    late = np.array([score for is_late, score in scores if is_late], dtype=float)
    on_time = np.array([score for is_late, score in scores if not is_late], dtype=float)
    difference = late.mean() - on_time.mean()
    se = math.sqrt(late.var(ddof=1) / len(late) + on_time.var(ddof=1) / len(on_time))
    planted = truth(seeded_sim, "delivery.nps_mean_score.late") - truth(
        seeded_sim, "delivery.nps_mean_score.on_time"
    )
    assert difference - Z * se <= planted <= difference + Z * se
    assert planted < 0
    assert difference + Z * se < 0, "late deliveries should show a lower NPS"


def test_slow_landing_pages_raise_bounces(seeded_sim: Warehouse) -> None:
    rows = dict(
        (slow, (n, k))
        for slow, n, k in query(
            seeded_sim,
            """
        WITH s AS (
            SELECT e.session_id,
                   arg_min(e.load_ms, e.occurred_at) FILTER (WHERE e.event_type = 'page_view')
                     AS landing_ms,
                   count(*) FILTER (WHERE e.event_type = 'page_view') AS pages
            FROM events e JOIN sessions x USING (session_id)
            WHERE x.channel = 'web' AND x.device = 'mobile'
            GROUP BY e.session_id)
        SELECT landing_ms >= 3000, count(*), count(*) FILTER (WHERE pages = 1)
        FROM s GROUP BY 1""",
        )
    )
    (n_s, k_s), (n_n, k_n) = rows[True], rows[False]
    ratio = (k_s / n_s) / (k_n / n_n)
    se = math.sqrt(1 / k_s - 1 / n_s + 1 / k_n - 1 / n_n)
    planted = truth(seeded_sim, "site.bounce_probability.slow") / truth(
        seeded_sim, "site.bounce_probability.normal"
    )
    low, high = (ratio * math.exp(s * Z * se) for s in (-1, 1))
    assert low <= planted <= high, (low, high)
    assert low > 1, "slow landing pages should show more bounces"


def test_members_buy_again_sooner(seeded_sim: Warehouse) -> None:
    """First repeat purchase within 90 days: P = 1 - (alpha/(alpha + m g))^r under BG/NBD
    with Gamma(r, alpha) rates (no dropout before the first repeat purchase); solve for m
    per group."""
    r, alpha = truth(seeded_sim, "bgnbd.r"), truth(seeded_sim, "bgnbd.alpha")
    g = 90
    rows = dict(
        (member, (n, k))
        for member, n, k in query(
            seeded_sim,
            """
        WITH c AS (
            SELECT customer_id, created_at, member_since IS NOT NULL AS member
            FROM customers WHERE NOT is_business
              AND created_at < CAST(? AS TIMESTAMPTZ) - INTERVAL 100 DAY
              AND (member_since IS NULL OR member_since < created_at + INTERVAL 10 MINUTE)),
        first_order AS (
            SELECT c.*, EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id
                AND o.placed_at = c.created_at) AS bought_at_signup,
              EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id
                AND o.placed_at > c.created_at AND o.placed_at <= c.created_at + INTERVAL 90 DAY
                AND o.coupon_code IS NULL) AS repeat_90
            FROM c)
        SELECT member, count(*), count(*) FILTER (WHERE repeat_90)
        FROM first_order WHERE bought_at_signup GROUP BY 1""",
            SIM_END,
        )
    )

    def multiplier(share: float) -> float:
        return alpha / g * ((1 - share) ** (-1 / r) - 1)

    lowest = {}
    for member, expected in (
        (True, truth(seeded_sim, "members.purchase_rate_multiplier")),
        (False, 1.0),
    ):
        n, k = rows[member]
        low, high = wilson(k, n)
        lowest[member] = multiplier(low)
        assert multiplier(low) <= expected <= multiplier(high), (member, multiplier(k / n))
    assert lowest[True] > 1, "members should show sooner purchases"


def test_repeat_buying_follows_the_planted_bgnbd(seeded_sim: Warehouse) -> None:
    """BG/NBD fitted by omnikpi to non-members' own repeat purchases (days; members buy
    faster and campaign-induced orders carry a coupon) recovers the planted r, alpha, a, b.

    The planted bad experiences add to the dropout after 3% of repeat purchases (about 0.013
    to a mean dropout of 0.167), well inside the intervals at this size."""
    rows = query(
        seeded_sim,
        """
        WITH buyer AS (
            SELECT customer_id FROM customers WHERE NOT is_business AND member_since IS NULL),
        day AS (
            SELECT DISTINCT customer_id, CAST(placed_at AS DATE) AS day
            FROM orders JOIN buyer USING (customer_id) WHERE coupon_code IS NULL)
        SELECT count(*) - 1, date_diff('day', min(day), max(day)),
               date_diff('day', min(day), CAST(? AS DATE)) + 1
        FROM day GROUP BY customer_id""",
        SIM_END,
    )
    x, t_x, age = np.array(rows, dtype=float).T
    fit = fit_bgnbd(x, t_x, age)
    for name in ("r", "alpha", "a", "b"):
        planted, fitted = truth(seeded_sim, f"bgnbd.{name}"), getattr(fit.parameters, name)
        error = fit.standard_errors[name]
        assert abs(fitted - planted) <= Z * error, (name, fitted, planted, error)
        assert error < 0.5 * planted, name  # the interval says something (a, b: ~0.2-0.4)


def test_a_late_repeat_order_lowers_retention(seeded_sim: Warehouse) -> None:
    """The negative-experience segment's planted effect: after a repeat order that went badly
    (delivered late) a customer leaves more often, so fewer buy again within 120 days than
    after a repeat order delivered on time (first orders never go badly: left out)."""
    rows = {
        late: (n, k)
        for late, n, k in query(
            seeded_sim,
            """
        WITH numbered AS (
            SELECT order_id, customer_id, coupon_code,
                   row_number() OVER (PARTITION BY customer_id ORDER BY placed_at) AS nth
            FROM orders WHERE customer_id IS NOT NULL),
        delivered AS (
            SELECT o.customer_id, s.delivered_at,
                   CAST(s.delivered_at AS DATE) > s.promised_date AS late
            FROM numbered o JOIN shipments s USING (order_id)
            WHERE o.nth > 1 AND o.coupon_code IS NULL AND s.delivered_at IS NOT NULL
              AND s.delivered_at < CAST(? AS TIMESTAMPTZ) - INTERVAL 120 DAY)
        SELECT late, count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM orders n WHERE n.customer_id = d.customer_id
              AND n.coupon_code IS NULL AND n.placed_at > d.delivered_at
              AND n.placed_at <= d.delivered_at + INTERVAL 120 DAY))
        FROM delivered d GROUP BY 1""",
            SIM_END,
        )
    }
    (n_on_time, k_on_time), (n_late, k_late) = rows[False], rows[True]
    on_time, late = k_on_time / n_on_time, k_late / n_late
    se = math.sqrt(on_time * (1 - on_time) / n_on_time + late * (1 - late) / n_late)
    assert truth(seeded_sim, "retention.bad_experience.dropout") > 0
    assert on_time - late > Z * se, (on_time, late, se)


def test_brand_flight_lifts_awareness(seeded_sim: Warehouse) -> None:
    rows = dict(
        (group, (n, k))
        for group, n, k in query(
            seeded_sim,
            """
        SELECT exposure_group, count(*), sum(score) FROM surveys
        WHERE kind = 'brand_lift' GROUP BY 1""",
        )
    )
    for group, key in (("exposed", "exposed"), ("control", "control")):
        n, k = rows[group]
        low, high = wilson(int(k), n)
        assert low <= truth(seeded_sim, f"brand_lift.aware.{key}") <= high, group
