"""The demo: a simulated retailer in a new warehouse, its KPI rollups, a first plan of
targets and the demo users — what `omnikpi demo` builds before it serves the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omnikpi.auth import AppStateStore, DemoLogin, app_state_path, create_demo_users
from omnikpi.auth.audit import Actor
from omnikpi.kpi import Catalog, KpiQuery
from omnikpi.kpi.plans import demo_periods, plan_targets
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.kpi.targets import import_targets
from omnikpi.services.attributed_revenue import write_attributed_revenue
from omnikpi.services.audiences import build_audience, read_definition, save_audience
from omnikpi.services.customers import refresh_customer_profiles
from omnikpi.services.loyalty import write_loyalty_effects
from omnikpi.settings import Settings
from omnikpi.simulate import SimulationConfig, build_warehouse
from omnikpi.warehouse import Warehouse

#: The page filters the demo plans targets per value of (each store, region and channel).
DEMO_TARGET_DIMENSIONS = ("store", "region", "channel")

#: The audience the demo saves and builds, so the audience pages have one to show.
DEMO_AUDIENCE = """
name: Win-back e-mail
description: Repeat buyers without an order in the last 90 days who take e-mail
channel: email
rule:
  all:
    - {column: orders, op: ">=", value: 2}
    - {column: days_since_last_order, op: ">", value: 90}
holdout: {fraction: 0.1, seed: 42, stratify_by: segment}
"""

#: (step, done, total): "simulate" per chunk of customers, "rollups" per batch of atoms.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoWarehouse:
    """What the demo built: rows per table and the number of targets it planned."""

    rows: dict[str, int]
    targets: int


def build_demo(
    config: SimulationConfig,
    path: Path,
    catalog: Catalog,
    *,
    settings: Settings | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> DemoWarehouse:
    """Simulate `config` into a new warehouse at `path` (swapped in when complete), build
    its rollups with `catalog`, and import the demo plan of targets (for the total and
    each store, region and channel): last year's value
    improved by 5% within the KPI's bounds, from periods the data wholly covers (the rules
    are in `omnikpi.kpi.plans`). The customer 360 is stored as of the last day (with the
    segment rules of `settings`), so the customer pages read it instead of computing it.
    A demo audience (DEMO_AUDIENCE) is saved and built for the audience pages."""

    def report(step: str) -> Callable[[str, int, int], None]:
        return lambda _s, done, total: progress(step, done, total) if progress else None

    rows = build_warehouse(
        config,
        path,
        force=force,
        progress=report("simulate"),
        finish=lambda built: (
            write_loyalty_effects(built),
            write_attributed_revenue(built),
            refresh_rollups(built, catalog, progress=report("rollups")),
            refresh_customer_profiles(built, settings or Settings(warehouse=path)),
        ),
    )
    with Warehouse.open(path) as built:
        engine = KpiQuery(catalog, built)
        periods = demo_periods(catalog, engine.data_through())
        targets = plan_targets(engine, periods, dimensions=DEMO_TARGET_DIMENSIONS)
        import_targets(built, targets)
    demo_settings = settings or Settings(warehouse=path)
    audience = save_audience(
        demo_settings, Actor.cli(), read_definition(demo_settings, DEMO_AUDIENCE)
    )
    store = AppStateStore.open(app_state_path(path))
    build_audience(demo_settings, store, Actor.cli(), audience.audience_id)
    return DemoWarehouse(rows, len(targets))


def demo_users(warehouse: Path) -> tuple[DemoLogin, ...]:
    """The demo users (one per role), created in the warehouse's app state if missing."""
    return create_demo_users(AppStateStore.open(app_state_path(warehouse)))
