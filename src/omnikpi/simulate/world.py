"""Everything shared by all customer chunks: calendar, stores, range, plan, stock, incidents."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from omnikpi.simulate.calendar import DAY, HOUR, Calendar
from omnikpi.simulate.campaigns import PAID_CHANNELS, CampaignPlan, plan_campaigns
from omnikpi.simulate.catalog import (
    Products,
    Stores,
    build_products,
    build_stores,
    simulate_dc_stock,
)
from omnikpi.simulate.config import SimulationConfig
from omnikpi.simulate.reference import CATEGORIES
from omnikpi.simulate.truth import PLANTED, Planted, TruthRecorder

EXPERIMENT_ID = "EXP-CHECKOUT-1"
HOLDOUT_EXPERIMENT_ID = "EXP-WINBACK-HOLDOUT"
#: Expected units sold online per customer per day, used to size stock before sales happen.
ONLINE_UNITS_PER_CUSTOMER_DAY = 0.011


@dataclass
class Accumulators:
    """Counts gathered across chunks that feed the aggregate tables at the end."""

    paid_sessions: np.ndarray
    sent: np.ndarray
    delivered: np.ndarray
    clicked: np.ndarray
    winback_effect: int = 0
    winback_audience: int = 0
    points_burned: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    revenue_month_category: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


@dataclass
class World:
    config: SimulationConfig
    calendar: Calendar
    stores: Stores
    products: Products
    plan: CampaignPlan
    dc_on_hand: np.ndarray
    slowness: np.ndarray
    outage_minutes: np.ndarray
    planted: Planted
    truth: TruthRecorder
    static_tables: dict[str, pa.Table]
    acc: Accumulators
    experiment_window: tuple[int, int] = (0, 0)
    paid_by_day: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def end_seconds(self) -> int:
        return self.calendar.end_seconds

    def in_stock(self, product: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Whether each product is on hand at the distribution centre that local day."""
        return np.asarray(self.dc_on_hand[product, self.calendar.day_of(seconds)] > 0, dtype=bool)

    def slowness_at(self, seconds: np.ndarray) -> np.ndarray:
        hour = np.clip((np.asarray(seconds) // HOUR).astype(np.int64), 0, len(self.slowness) - 1)
        return self.slowness[hour]

    def experiment_variant_active(self, seconds: np.ndarray) -> np.ndarray:
        start, end = self.experiment_window
        return (seconds >= start * DAY) & (seconds < (end + 1) * DAY)


def build_world(config: SimulationConfig) -> World:
    """The static retailer for `config`: deterministic in config.seed."""
    rng = np.random.default_rng([config.seed, 0])
    calendar = Calendar(config.start, config.days, config.time_zone)
    stores, stores_table = build_stores(rng, calendar, config.stores)
    products, products_table = build_products(rng, calendar, config.products, config.currency)
    plan = plan_campaigns(calendar)
    daily_units = config.customers * ONLINE_UNITS_PER_CUSTOMER_DAY
    dc_on_hand, _ = simulate_dc_stock(rng, calendar, products, daily_units)
    hours = calendar.days * 24
    slowness = np.ones(hours)
    outage_minutes = np.zeros(hours)
    # Slow-site incidents (every ~3 weeks, 1-6 hours) and short outages (every ~2 months).
    for start in np.nonzero(rng.random(hours) < 1 / (21 * 24))[0]:
        slowness[start : start + rng.integers(1, 7)] = rng.uniform(2.5, 4.5)
    for start in np.nonzero(rng.random(hours) < 1 / (60 * 24))[0]:
        outage_minutes[start] = rng.integers(10, 61)
    truth = TruthRecorder()
    truth.record_planted(PLANTED, EXPERIMENT_ID)
    n_campaigns = len(plan.names)
    acc = Accumulators(
        paid_sessions=np.zeros((calendar.days, n_campaigns), dtype=np.int64),
        sent=np.zeros((calendar.days, n_campaigns), dtype=np.int64),
        delivered=np.zeros((calendar.days, n_campaigns), dtype=np.int64),
        clicked=np.zeros((calendar.days, n_campaigns), dtype=np.int64),
        points_burned=np.zeros(calendar.days, dtype=np.int64),
        revenue_month_category=np.zeros((len(calendar.month_first_day), len(CATEGORIES))),
    )
    window_start = int(calendar.days * 0.3)
    world = World(
        config=config,
        calendar=calendar,
        stores=stores,
        products=products,
        plan=plan,
        dc_on_hand=dc_on_hand,
        slowness=slowness,
        outage_minutes=outage_minutes,
        planted=PLANTED,
        truth=truth,
        static_tables={
            "stores": stores_table,
            "products": products_table,
            "campaigns": plan.table(calendar, config.currency),
        },
        acc=acc,
        experiment_window=(window_start, min(calendar.days - 1, window_start + 41)),
    )
    world.paid_by_day = {ch: plan.active_paid(ch, calendar.days) for ch in PAID_CHANNELS}
    return world
