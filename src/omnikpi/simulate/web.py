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

from omnikpi.model.enums import TrafficSource
from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, optional, take_ids
from omnikpi.simulate.calendar import DAY, HOUR, ONLINE_HOUR_WEIGHT
from omnikpi.simulate.clicks import (
    BLOG,
    BROWSE,
    CART_ONLY,
    CATEGORY,
    CHECKOUT_ABANDON,
    HOME,
    PAGE_TYPES,
    PRODUCT,
    PURCHASE,
    SessionFacts,
    build_events,
    build_paths,
)
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.orders import Orders
from omnikpi.simulate.purchases import APP, WEB
from omnikpi.simulate.world import EXPERIMENT_ID, World

#: Traffic sources in the model's order (the mixes below follow it).
SOURCES = np.array([source.value for source in TrafficSource])
S = {name: i for i, name in enumerate(SOURCES)}
#: Traffic-source mix of sessions not started from a message (email, SMS, push excluded).
SOURCE_MIX = np.array([0.27, 0.22, 0.17, 0.05, 0.09, 0.07, 0, 0, 0, 0.06, 0.07])
APP_SOURCE_MIX = np.array([0.7, 0.02, 0.06, 0.04, 0.1, 0.04, 0, 0, 0, 0.02, 0.02])
#: utm source and medium per traffic source.
UTM = {
    "direct": ("", ""),
    "organic_search": ("naver", "organic"),
    "paid_search": ("naver", "cpc"),
    "display": ("gdn", "display"),
    "paid_social": ("instagram", "paid_social"),
    "organic_social": ("instagram", "social"),
    "email": ("newsletter", "email"),
    "sms": ("sms", "sms"),
    "app_push": ("app", "push"),
    "affiliate": ("affiliate-network", "affiliate"),
    "referral": ("blog.naver.com", "referral"),
}
#: Landing page mix (home, category, product, blog) by traffic source.
LANDING_MIX = {
    "direct": [0.7, 0.15, 0.15, 0.0],
    "organic_search": [0.15, 0.15, 0.45, 0.25],
    "paid_search": [0.2, 0.3, 0.5, 0.0],
    "display": [0.3, 0.3, 0.4, 0.0],
    "paid_social": [0.3, 0.3, 0.4, 0.0],
    "organic_social": [0.3, 0.0, 0.4, 0.3],
    "email": [0.3, 0.4, 0.3, 0.0],
    "sms": [0.3, 0.4, 0.3, 0.0],
    "app_push": [0.4, 0.3, 0.3, 0.0],
    "affiliate": [0.2, 0.3, 0.5, 0.0],
    "referral": [0.4, 0.0, 0.3, 0.3],
}
LANDING_TYPES = np.array([HOME, CATEGORY, PRODUCT, BLOG])
DEVICES = np.array(["desktop", "mobile", "tablet"])
DEVICE_LOAD_MS = np.array([1100.0, 1700.0, 1500.0])
APP_LOAD_MS = 800.0
PAID = {
    "paid_search": "search",
    "display": "display",
    "paid_social": "social",
    "affiliate": "affiliate",
}


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
    return _finish(
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


def _finish(
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
        "experiment_assignments": _assignments(world, visitor, start, sessions.cat("variant")),
    }
    return tables, take_ids(ids, order_session, order_session >= 0), order_campaign, sessions


def _assignments(
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
