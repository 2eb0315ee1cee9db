"""Session rows and their events: bounces, page paths, purchase sessions moved to order time,
and the A/B test's assignments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, optional, take_ids
from omnikpi.simulate.clicks import (
    BROWSE,
    PAGE_TYPES,
    PURCHASE,
    SessionFacts,
    build_events,
    build_paths,
)
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.orders import Orders
from omnikpi.simulate.traffic import (
    APP_LOAD_MS,
    DEVICE_LOAD_MS,
    DEVICES,
    LANDING_MIX,
    LANDING_TYPES,
    PAID,
    SOURCES,
    UTM,
)
from omnikpi.simulate.world import EXPERIMENT_ID, World

#: Traffic sources in the model's order (the mixes below follow it).


@dataclass
class Sessions:
    """Session rows being assembled from several sources."""

    visitor: list[pa.Array]
    customer: list[np.ndarray]
    logged_in: list[np.ndarray]
    app: list[np.ndarray]
    device: list[np.ndarray]
    start: list[np.ndarray]
    source: list[np.ndarray]
    campaign: list[np.ndarray]
    intent: list[np.ndarray]
    order: list[np.ndarray]
    variant: list[np.ndarray]
    region: list[np.ndarray]

    def add(self, **columns: object) -> None:
        for name, value in columns.items():
            getattr(self, name).append(value)

    def cat(self, name: str) -> np.ndarray:
        return np.concatenate(getattr(self, name))


def finish_sessions(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    o: Orders,
    sessions: Sessions,
    cart_session: np.ndarray,
    cart_product: np.ndarray,
    numbers: tuple[int, int],
) -> tuple[dict[str, pa.Table], pa.Array, np.ndarray, Sessions]:
    """Decide bounces, lay out pages and events, and produce the session rows."""
    cal, planted = world.calendar, world.planted
    intent, source, start = sessions.cat("intent"), sessions.cat("source"), sessions.cat("start")
    app, device, order = sessions.cat("app"), sessions.cat("device"), sessions.cat("order")
    customer, logged = sessions.cat("customer"), sessions.cat("logged_in")
    n = len(intent)
    mixes = np.array([LANDING_MIX[name] for name in SOURCES])
    landing_choice = np.argmax(np.cumsum(mixes[source], axis=1) >= rng.random(n)[:, None], axis=1)
    landing = LANDING_TYPES[landing_choice]
    device_base = np.where(app, APP_LOAD_MS, DEVICE_LOAD_MS[device])
    purchase = intent == PURCHASE
    # Purchase sessions are laid out first, then moved so the purchase lands at order time.
    landing_load = device_base * rng.lognormal(0, 0.45, n) * world.slowness_at(start)
    slow = landing_load >= 3000
    bounce = (intent == BROWSE) & (
        rng.random(n) < np.where(slow, planted.bounce_slow, planted.bounce_normal)
    )
    browse_pages = np.where(
        bounce, 0, np.where(intent == BROWSE, 1 + rng.poisson(3.2, n), rng.poisson(1.5, n))
    )
    order_key = np.argsort(cart_session, kind="stable")
    paths = build_paths(
        rng, world, intent, landing, browse_pages, cart_session[order_key], cart_product[order_key]
    )
    last_page = np.r_[np.nonzero(np.diff(paths.session))[0], len(paths.session) - 1]
    start = np.where(purchase, start - paths.offset[last_page] - 2, start)

    ids = make_ids("S", numbers[0] + np.arange(n), 10)
    known = customer >= 0
    shown = known & logged
    customer_ids = take_ids(c.ids, customer, shown)
    order_ids = take_ids(o.ids, order, order >= 0)
    first_purchase = (
        purchase
        & known
        & (o.purchases.time[np.maximum(order, 0)] == c.created[np.maximum(customer, 0)])
    )
    signup = first_purchase & np.isin(
        c.acquisition_channel[np.maximum(customer, 0)], ["web", "app"]
    )
    visitor = pa.concat_arrays(
        [v if isinstance(v, pa.Array) else v.combine_chunks() for v in sessions.visitor]
    )
    facts = SessionFacts(
        ids=ids,
        visitor=visitor,
        customer=customer_ids,
        start=start,
        load_base=device_base,
        landing_load=landing_load,
        order=order_ids,
        signup=signup,
        login=shown & ~app,
    )
    events = build_events(rng, world, paths, facts, numbers[1])
    events = events.filter(
        pc.less(events["occurred_at"], cal.to_utc(np.array([cal.end_seconds]))[0])
    )
    utm_source = np.array([UTM[s][0] for s in SOURCES])[source]
    utm_medium = np.array([UTM[s][1] for s in SOURCES])[source]
    campaign = sessions.cat("campaign")
    regions = np.array([r[0] for r in ref.REGIONS])
    table = pa.table(
        {
            "session_id": ids,
            "visitor_id": visitor,
            "customer_id": customer_ids,
            "channel": np.where(app, "app", "web"),
            "device": DEVICES[device],
            "started_at": cal.to_utc(start),
            "traffic_source": SOURCES[source],
            "source": optional(utm_source, utm_source != ""),
            "medium": optional(utm_medium, utm_medium != ""),
            "campaign_id": take_ids(world.plan.ids, campaign, campaign >= 0),
            "landing_page_type": PAGE_TYPES[landing],
            "region": regions[sessions.cat("region")],
        }
    )
    in_paid = np.isin(SOURCES[source], list(PAID)) & (campaign >= 0)
    np.add.at(world.acc.paid_sessions, (cal.day_of(start[in_paid]), campaign[in_paid]), 1)

    order_session = np.full(o.count, -1)
    order_session[order[purchase]] = np.nonzero(purchase)[0]
    order_campaign = o.purchases.campaign.copy()
    credited = purchase & (campaign >= 0)
    order_campaign[order[credited]] = campaign[credited]
    tables = {
        "sessions": table,
        "events": events,
        "experiment_assignments": assignments(world, visitor, start, sessions.cat("variant")),
    }
    return tables, take_ids(ids, order_session, order_session >= 0), order_campaign, sessions


def assignments(
    world: World, visitor: pa.Array, start: np.ndarray, variant: np.ndarray
) -> pa.Table:
    """Visitors seen during the A/B test, with their variant and first exposure."""
    cal = world.calendar
    inside = world.experiment_variant_active(start)
    idx = np.nonzero(inside)[0]
    keys = np.array(visitor.take(pa.array(idx)).to_pylist(), dtype=object)
    order = np.lexsort((start[idx], keys))
    keys_sorted = keys[order]
    first = np.r_[True, keys_sorted[1:] != keys_sorted[:-1]] if len(keys) else np.zeros(0, bool)
    chosen = idx[order][first]
    return pa.table(
        {
            "experiment_id": np.full(len(chosen), EXPERIMENT_ID),
            "unit_id": visitor.take(pa.array(chosen)),
            "variant": np.where(variant[chosen], "treatment", "control"),
            "assigned_at": cal.to_utc(start[chosen]),
        }
    )
