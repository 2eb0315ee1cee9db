"""Visits to the web shop and app: who comes, from where, and what they do.

Every online purchase has its session; before it, failed checkout attempts follow a
geometric law with the checkout completion rate (raised by the A/B test's treatment), so
the planted lift is exactly what a per-session analysis estimates. Browsing sessions bounce
more often when the landing page is slow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids
from omnikpi.simulate.calendar import DAY, HOUR, ONLINE_HOUR_WEIGHT
from omnikpi.simulate.clicks import (
    BROWSE,
    CART_ONLY,
    CHECKOUT_ABANDON,
    PURCHASE,
)
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.orders import Orders
from omnikpi.simulate.purchases import APP, WEB
from omnikpi.simulate.traffic import APP_SOURCE_MIX, PAID, SOURCE_MIX, SOURCES, S
from omnikpi.simulate.visits import Sessions, finish_sessions
from omnikpi.simulate.world import World


#: Traffic sources in the model's order (the mixes below follow it).
@dataclass
class Anonymous:
    """Visitors who never identify themselves; some buy once as guests."""

    first: int
    app: np.ndarray
    device: np.ndarray
    region: np.ndarray
    variant: np.ndarray
    session_visitor: np.ndarray
    session_time: np.ndarray

    @property
    def ids(self) -> pa.Array:
        return make_ids("V", self.first + np.arange(len(self.app)), 9)


@dataclass
class MessageClicks:
    customer: np.ndarray
    time: np.ndarray
    source: np.ndarray
    campaign: np.ndarray


def anonymous_visitors(
    rng: np.random.Generator, world: World, n_customers: int, first: int
) -> Anonymous:
    """Anonymous visitors with their session times; each visits 1 + Geometric times."""
    cal = world.calendar
    n = round(n_customers * world.config.anonymous_visitors_per_customer)
    first_day = cal.sample_days(rng, cal.online_weight, np.zeros(n, int), np.full(n, cal.days - 1))
    visits = rng.geometric(0.5, n)
    visitor = np.repeat(np.arange(n), visits)
    last = np.minimum(first_day + 60, cal.days - 1)[visitor]
    day = cal.sample_days(rng, cal.online_weight, first_day[visitor], last)
    time = cal.sample_seconds_in_day(rng, day, ONLINE_HOUR_WEIGHT).astype(np.float64)
    shares = np.array([r[1] for r in ref.REGIONS])
    return Anonymous(
        first=first,
        app=rng.random(n) < 0.1,
        device=rng.choice(3, size=n, p=[0.3, 0.64, 0.06]),
        region=rng.choice(len(ref.REGIONS), size=n, p=shares / shares.sum()),
        variant=rng.random(n) < 0.5,
        session_visitor=visitor,
        session_time=time,
    )


def guest_buyers(rng: np.random.Generator, anon: Anonymous) -> tuple[np.ndarray, np.ndarray]:
    """(visitor, time) of the guest web purchases: 3% of anonymous sessions end in one."""
    buys = rng.random(len(anon.session_time)) < 0.03
    buyer, time = anon.session_visitor[buys], anon.session_time[buys]
    _, first = np.unique(buyer, return_index=True)
    return buyer[first], time[first] + 600


def simulate_web(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    o: Orders,
    anon: Anonymous,
    clicks: MessageClicks,
    numbers: tuple[int, int],
) -> tuple[dict[str, pa.Table], pa.Array, np.ndarray, Sessions]:
    """Sessions and events of the chunk; returns tables, each order's session id and campaign."""
    cal, planted = world.calendar, world.planted
    p = o.purchases
    web_visitor = make_ids("W", c.index + 1, 8)
    app_visitor = make_ids("A", c.index + 1, 8)
    variant_web = rng.random(c.count) < 0.5
    variant_app = rng.random(c.count) < 0.5
    anon_ids = anon.ids
    sessions = Sessions(*([] for _ in range(12)))
    cart_session: list[np.ndarray] = []
    cart_product: list[np.ndarray] = []
    offset = 0

    def customer_visitor(who: np.ndarray, app: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        visitor = pa.chunked_array(
            [web_visitor.take(pa.array(who)), app_visitor.take(pa.array(who))]
        )
        index = np.where(app, len(who) + np.arange(len(who)), np.arange(len(who)))
        variant = np.where(app, variant_app[who], variant_web[who])
        return visitor.combine_chunks().take(pa.array(index)), variant

    # 1. Purchase sessions and the failed checkout attempts before them.
    online = np.nonzero(np.isin(p.channel, [WEB, APP]))[0]
    known = p.customer[online] >= 0
    who = np.maximum(p.customer[online], 0)
    app = p.channel[online] == APP
    visitor_known, variant_known = customer_visitor(who, app)
    guest_visitor = np.maximum(p.visitor[online], 0)
    visitor = pc.if_else(pa.array(known), visitor_known, anon_ids.take(pa.array(guest_visitor)))
    variant = np.where(known, variant_known, anon.variant[guest_visitor])
    device = np.where(known, np.where(app, 1, c.web_device[who]), anon.device[guest_visitor])
    source = _traffic_sources(rng, app)
    source = np.where(p.induced[online], S["email"], source)
    placed = p.time[online]
    source, campaign = _resolve_campaigns(
        world, source, placed, np.where(p.induced[online], p.campaign[online], -1)
    )
    in_test = world.experiment_variant_active(placed)
    completion = planted.checkout_completion * np.where(
        in_test & variant, 1 + planted.checkout_relative_lift, 1.0
    )
    failures = rng.geometric(completion) - 1
    sessions.add(
        visitor=visitor,
        customer=np.where(known, who, -1),
        logged_in=np.ones(len(online), bool),
        app=app,
        device=device,
        start=placed,
        source=source,
        campaign=campaign,
        intent=np.full(len(online), PURCHASE),
        order=online,
        variant=variant,
        region=np.where(known, c.region[who], anon.region[guest_visitor]),
    )
    position = np.full(o.count, -1)
    position[online] = np.arange(len(online))
    line_idx = np.nonzero(np.isin(o.line_order, online))[0]
    cart_session.append(position[o.line_order[line_idx]])
    cart_product.append(o.line_product[line_idx])
    offset += len(online)

    rep = np.repeat(np.arange(len(online)), failures)
    gap = rng.uniform(0.3, 72, len(rep)) * HOUR
    start_w, end_w = world.experiment_window
    boundary = np.where(
        in_test[rep],
        start_w * DAY,
        np.where(placed[rep] >= (end_w + 1) * DAY, (end_w + 1) * DAY, 0),
    )
    fail_time = placed[rep] - gap
    clipped = fail_time < boundary
    fail_time = np.where(
        clipped, boundary + rng.random(len(rep)) * (placed[rep] - boundary), fail_time
    )
    sessions.add(
        visitor=visitor.take(pa.array(rep)),
        customer=np.where(known, who, -1)[rep],
        logged_in=np.ones(len(rep), bool),
        app=app[rep],
        device=device[rep],
        start=fail_time,
        source=source[rep],
        campaign=campaign[rep],
        intent=np.full(len(rep), CHECKOUT_ABANDON),
        order=np.full(len(rep), -1),
        variant=variant[rep],
        region=sessions.region[0][rep],
    )
    # The abandoned basket holds the products of the order finally placed.
    line_first = np.searchsorted(o.line_order, online)
    line_count = np.bincount(o.line_order, minlength=o.count)[online]
    per_fail = np.repeat(np.arange(len(rep)), line_count[rep])
    within = np.arange(len(per_fail)) - np.repeat(
        np.cumsum(line_count[rep]) - line_count[rep], line_count[rep]
    )
    cart_session.append(offset + per_fail)
    cart_product.append(o.line_product[line_first[rep][per_fail] + within])
    offset += len(rep)

    # 2. Browsing and cart sessions of known customers over their active months.
    online_orders = np.bincount(p.customer[online][known], minlength=c.count)
    last_purchase = np.full(c.count, -1.0)
    np.maximum.at(
        last_purchase, np.maximum(p.customer, 0)[p.customer >= 0], p.time[p.customer >= 0]
    )
    active_until = np.where(last_purchase > 0, last_purchase + 120 * DAY, c.created + 60 * DAY)
    active_until = np.minimum(active_until, cal.end_seconds - 1)
    for intent, ratio in (
        (BROWSE, world.config.browse_sessions_per_purchase),
        (CART_ONLY, world.config.cart_sessions_per_purchase),
    ):
        k = rng.poisson(ratio * online_orders + (0.6 if intent == BROWSE else 0.1))
        who = np.repeat(np.arange(c.count), k)
        first_day = cal.day_of(c.created[who])
        day = cal.sample_days(rng, cal.online_weight, first_day, cal.day_of(active_until[who]))
        start = np.maximum(cal.sample_seconds_in_day(rng, day, ONLINE_HOUR_WEIGHT), c.created[who])
        app = c.app_user[who] & (rng.random(len(who)) < 0.7)
        visitor, variant = customer_visitor(who, app)
        source = _traffic_sources(rng, app)
        offset = _add_simple(
            rng,
            world,
            sessions,
            cart_session,
            cart_product,
            offset,
            intent,
            visitor,
            who,
            app,
            np.where(app, 1, c.web_device[who]),
            start,
            source,
            np.full(len(who), -1),
            variant,
            c.region[who],
            logged=app | (rng.random(len(who)) < 0.75),
        )

    # 3. Sessions started by clicks in e-mails, SMS and push messages.
    who = clicks.customer
    app = clicks.source == S["app_push"]
    visitor, variant = customer_visitor(who, app)
    click_intent = np.where(rng.random(len(who)) < 0.3, CART_ONLY, BROWSE)
    for kind in (BROWSE, CART_ONLY):
        m = click_intent == kind
        offset = _add_simple(
            rng,
            world,
            sessions,
            cart_session,
            cart_product,
            offset,
            kind,
            visitor.filter(pa.array(m)),
            who[m],
            app[m],
            np.where(app, 1, c.web_device[who])[m],
            clicks.time[m] + 5,
            clicks.source[m],
            clicks.campaign[m],
            variant[m],
            c.region[who][m],
            logged=np.ones(int(m.sum()), bool),
        )

    # 4. Anonymous visitors.
    v = anon.session_visitor
    anon_intent = np.where(rng.random(len(v)) < 0.08, CART_ONLY, BROWSE)
    for kind in (BROWSE, CART_ONLY):
        m = anon_intent == kind
        vm = v[m]
        source = _traffic_sources(rng, anon.app[vm])
        offset = _add_simple(
            rng,
            world,
            sessions,
            cart_session,
            cart_product,
            offset,
            kind,
            anon_ids.take(pa.array(vm)),
            np.full(len(vm), -1),
            anon.app[vm],
            np.where(anon.app[vm], 1, anon.device[vm]),
            anon.session_time[m],
            source,
            np.full(len(vm), -1),
            anon.variant[vm],
            anon.region[vm],
            logged=np.zeros(len(vm), bool),
        )
    return finish_sessions(
        rng,
        world,
        c,
        o,
        sessions,
        np.concatenate(cart_session),
        np.concatenate(cart_product),
        numbers,
    )


def _add_simple(
    rng: np.random.Generator,
    world: World,
    sessions: Sessions,
    cart_session: list[np.ndarray],
    cart_product: list[np.ndarray],
    offset: int,
    intent: int,
    visitor: pa.Array,
    customer: np.ndarray,
    app: np.ndarray,
    device: np.ndarray,
    start: np.ndarray,
    source: np.ndarray,
    campaign: np.ndarray,
    variant: np.ndarray,
    region: np.ndarray,
    logged: np.ndarray,
) -> int:
    """Add browsing or cart-only sessions; returns the next session offset."""
    n = len(start)
    source, campaign = _resolve_campaigns(world, source, start, campaign)
    sessions.add(
        visitor=visitor,
        customer=customer,
        logged_in=logged,
        app=app,
        device=device,
        start=start,
        source=source,
        campaign=campaign,
        intent=np.full(n, intent),
        order=np.full(n, -1),
        variant=variant,
        region=region,
    )
    if intent == CART_ONLY:
        items = 1 + rng.poisson(0.5, n)
        owner = np.repeat(np.arange(n), items)
        cumulative = np.cumsum(world.products.popularity)
        product = np.searchsorted(cumulative, rng.random(len(owner)) * cumulative[-1])
        product = _in_stock_or_popular(world, product, start[owner])
        cart_session.append(offset + owner)
        cart_product.append(product)
    return offset + n


def _traffic_sources(rng: np.random.Generator, app: np.ndarray) -> np.ndarray:
    """Traffic source of new sessions (not from messages): app visits are mostly direct."""
    web = rng.choice(len(SOURCES), size=len(app), p=SOURCE_MIX)
    in_app = rng.choice(len(SOURCES), size=len(app), p=APP_SOURCE_MIX)
    return np.asarray(np.where(app, in_app, web), dtype=np.int64)


def _resolve_campaigns(
    world: World, source: np.ndarray, start: np.ndarray, campaign: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Credit paid sessions to the channel's campaign running that day (else: direct)."""
    day = world.calendar.day_of(start)
    for name, channel in PAID.items():
        paid = (source == S[name]) & (campaign < 0)
        active = world.paid_by_day[channel][day]
        campaign = np.where(paid & (active >= 0), active, campaign)
        source = np.where(paid & (active < 0), S["direct"], source)
    return source, campaign


def _in_stock_or_popular(world: World, product: np.ndarray, time: np.ndarray) -> np.ndarray:
    top = int(np.argmax(world.products.popularity))
    return np.where(world.in_stock(product, time), product, top)
