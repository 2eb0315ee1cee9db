"""After the sale: service tickets, NPS and CSAT surveys, brand-lift answers, reviews."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import make_ids, optional, take_ids
from omnikpi.simulate.calendar import DAY, HOUR
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.fulfilment import Fulfilment
from omnikpi.simulate.orders import Orders
from omnikpi.simulate.truth import NPS_LATE, NPS_ON_TIME
from omnikpi.simulate.world import World

SERVICE_CHANNELS = np.array(["phone", "chat", "email", "social"])
SERVICE_MIX = np.array([0.35, 0.3, 0.2, 0.15])
SLA_HOURS = np.array([0.25, 0.1, 24.0, 4.0])
PLATFORMS = np.array(["instagram", "facebook", "x", "kakaotalk"])
TOPICS = np.array(["delivery", "product", "payment", "return", "account", "other"])


def tickets_and_surveys(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    o: Orders,
    f: Fulfilment,
    first_number: int,
) -> dict[str, pa.Table]:
    """Tickets (complaints rise after late deliveries) and the surveys that follow."""
    cal, planted, p = world.calendar, world.planted, o.purchases
    end = cal.end_seconds
    n = o.count
    delivered = ~np.isnan(f.delivered)
    known = p.customer >= 0
    complaint_p = np.where(f.late, planted.complaint_late, planted.complaint_on_time)
    delivery_complaint = delivered & (rng.random(n) < complaint_p)
    damage_complaint = f.damaged & (rng.random(n) < 0.7)
    inquiry = o.online & (rng.random(n) < 0.05)
    # Product questions from customers, unrelated to an order.
    asks = rng.poisson(0.08, c.count)
    asker = np.repeat(np.arange(c.count), asks)
    cumulative = np.cumsum(world.products.popularity)
    asked_product = np.searchsorted(cumulative, rng.random(len(asker)) * cumulative[-1])
    ask_time = c.created[asker] + rng.uniform(0, 400, len(asker)) * DAY

    groups = [
        (np.nonzero(delivery_complaint)[0], "complaint", 0, f.delivered, 3),
        (np.nonzero(damage_complaint)[0], "complaint", 1, f.delivered, 2),
        (np.nonzero(inquiry)[0], "inquiry", -1, p.time, 5),
    ]
    order_idx = np.concatenate([g[0] for g in groups] + [np.full(len(asker), -1)])
    kind = np.concatenate(
        [np.full(len(g[0]), g[1]) for g in groups] + [np.full(len(asker), "inquiry")]
    )
    topic = np.concatenate(
        [
            np.full(len(groups[0][0]), 0),
            np.full(len(groups[1][0]), 1),
            rng.choice([0, 2, 3, 4, 5], size=len(groups[2][0]), p=[0.45, 0.15, 0.2, 0.1, 0.1]),
            np.full(len(asker), 1),
        ]
    )
    opened = np.concatenate(
        [g[3][g[0]] + rng.uniform(0.5 * HOUR, g[4] * DAY, len(g[0])) for g in groups] + [ask_time]
    )
    customer = np.concatenate([p.customer[g[0]] for g in groups] + [asker])
    line_first = np.searchsorted(o.line_order, np.maximum(order_idx, 0))
    product = np.where(
        topic == 1,
        np.where(
            order_idx >= 0, o.line_product[np.minimum(line_first, len(o.line_product) - 1)], -1
        ),
        -1,
    )
    product[len(order_idx) - len(asker) :] = asked_product
    keep = opened < end
    order_idx, kind, topic, opened, customer, product = (
        order_idx[keep],
        kind[keep],
        topic[keep],
        opened[keep],
        customer[keep],
        product[keep],
    )
    k = len(opened)
    channel = rng.choice(4, size=k, p=SERVICE_MIX)
    sla = SLA_HOURS[channel]
    night = ((opened % DAY) < 9 * HOUR) | ((opened % DAY) > 20 * HOUR)
    response = (
        sla * rng.lognormal(np.log(0.55), 0.75, k) * np.where(night & (channel >= 2), 2.5, 1.0)
    )
    first_response = opened + response * HOUR
    resolve = rng.lognormal(np.log(np.where(kind == "complaint", 30.0, 6.0)), 0.8, k) * HOUR
    resolved = first_response + resolve
    responded = first_response < end
    is_resolved = resolved < end
    escalated = rng.random(k) < np.where(kind == "complaint", 0.15, 0.03)
    ticket_ids = make_ids("T", first_number + np.arange(k), 10)
    tickets = pa.table(
        {
            "ticket_id": ticket_ids,
            "customer_id": take_ids(c.ids, customer, customer >= 0),
            "order_id": take_ids(o.ids, order_idx, order_idx >= 0),
            "product_id": take_ids(world.products.ids, product, product >= 0),
            "channel": SERVICE_CHANNELS[channel],
            "social_platform": optional(PLATFORMS[rng.integers(0, 4, k)], channel == 3),
            "kind": kind,
            "topic": TOPICS[topic],
            "opened_at": cal.to_utc(opened),
            "first_response_at": cal.to_utc(np.where(responded, first_response, 0), responded),
            "resolved_at": cal.to_utc(np.where(is_resolved, resolved, 0), is_resolved),
            "escalated": escalated,
            "sla_hours": sla,
        }
    )

    # NPS after deliveries (answers depend on lateness), CSAT after resolved tickets.
    surveyed = np.nonzero(delivered & known & (rng.random(n) < 0.15))[0]
    nps_time = f.delivered[surveyed] + rng.uniform(1, 7, len(surveyed)) * DAY
    surveyed, nps_time = surveyed[nps_time < end], nps_time[nps_time < end]
    late = f.late[surveyed]
    score = np.where(
        late,
        rng.choice(11, size=len(surveyed), p=NPS_LATE / NPS_LATE.sum()),
        rng.choice(11, size=len(surveyed), p=NPS_ON_TIME / NPS_ON_TIME.sum()),
    )
    csat_rows = np.nonzero(is_resolved & (customer >= 0) & (rng.random(k) < 0.35))[0]
    within = (first_response[csat_rows] - opened[csat_rows]) <= sla[csat_rows] * HOUR
    good = rng.random(len(csat_rows)) < np.where(within, 0.82, 0.55)
    csat = np.where(
        good,
        rng.choice([4, 5], size=len(csat_rows), p=[0.45, 0.55]),
        rng.choice([1, 2, 3], size=len(csat_rows), p=[0.25, 0.3, 0.45]),
    )
    csat_time = np.minimum(resolved[csat_rows] + rng.uniform(1, 48, len(csat_rows)) * HOUR, end - 1)
    brand, brand_time, brand_exposed, brand_score = _brand_lift(rng, world, c)
    aware_who, aware_time, aware_score = _program_awareness(rng, world, c)
    kinds = np.concatenate(
        [
            np.full(len(surveyed), "nps"),
            np.full(len(csat_rows), "csat"),
            np.full(len(brand), "brand_lift"),
            np.full(len(aware_who), "program_awareness"),
        ]
    )
    m = len(kinds)
    respondent = np.concatenate([p.customer[surveyed], customer[csat_rows], brand, aware_who])
    survey_order = np.concatenate([surveyed, np.full(m - len(surveyed), -1)])
    survey_ticket = np.concatenate(
        [np.full(len(surveyed), -1), csat_rows, np.full(len(brand) + len(aware_who), -1)]
    )
    is_brand = kinds == "brand_lift"
    exposure = np.concatenate(
        [
            np.full(len(surveyed) + len(csat_rows), ""),
            np.where(brand_exposed, "exposed", "control"),
            np.full(len(aware_who), ""),
        ]
    )
    surveys = pa.table(
        {
            "response_id": make_ids("SV", first_number + np.arange(m), 10),
            "kind": kinds,
            "customer_id": take_ids(c.ids, respondent, respondent >= 0),
            "order_id": take_ids(o.ids, survey_order, survey_order >= 0),
            "ticket_id": take_ids(ticket_ids, survey_ticket, survey_ticket >= 0),
            "campaign_id": take_ids(
                world.plan.ids, np.full(m, world.plan.brand_campaign), is_brand
            ),
            "exposure_group": optional(exposure, is_brand),
            "responded_at": cal.to_utc(
                np.concatenate([nps_time, csat_time, brand_time, aware_time])
            ),
            "score": np.concatenate([score, csat, brand_score, aware_score]).astype(np.int64),
            "scale_max": np.concatenate(
                [
                    np.full(len(surveyed), 10),
                    np.full(len(csat_rows), 5),
                    np.ones(len(brand) + len(aware_who), int),
                ]
            ),
        }
    )
    return {
        "tickets": tickets,
        "surveys": surveys,
        "reviews": _reviews(rng, world, c, o, f, first_number),
    }


def _brand_lift(
    rng: np.random.Generator, world: World, c: Customers
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Brand-lift answers after the brand flight: exposed customers are more aware."""
    plan, planted, cal = world.plan, world.planted, world.calendar
    start, stop = plan.start_day[plan.brand_campaign], plan.end_day[plan.brand_campaign]
    eligible = np.nonzero(c.created < start * DAY)[0]
    who = eligible[rng.random(len(eligible)) < 0.03]
    exposed = world_brand_exposed(world, c)[who]
    aware = rng.random(len(who)) < np.where(
        exposed, planted.brand_aware_exposed, planted.brand_aware_control
    )
    time = (stop + 1) * DAY + rng.uniform(0, 7, len(who)) * DAY
    keep = time < cal.end_seconds
    return who[keep], time[keep], exposed[keep], aware[keep].astype(np.int64)


def world_brand_exposed(world: World, c: Customers) -> np.ndarray:
    """Which customers the brand flight reached (a deterministic 35% of the chunk)."""
    return (c.index * 2654435761 % 1000) < 350


def _program_awareness(
    rng: np.random.Generator, world: World, c: Customers
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quarterly program-awareness pulse: members know the program far better."""
    cal = world.calendar
    whos, times, scores = [], [], []
    for day in range(45, cal.days, 91):
        t = day * DAY + 11 * HOUR
        eligible = np.nonzero(c.created < t)[0]
        who = eligible[rng.random(len(eligible)) < 0.01]
        member = c.is_member_at(np.full(len(who), t), who)
        whos.append(who)
        times.append(t + rng.uniform(0, 3 * DAY, len(who)))
        scores.append((rng.random(len(who)) < np.where(member, 0.92, 0.33)).astype(np.int64))
    if not whos:
        return np.zeros(0, int), np.zeros(0), np.zeros(0, int)
    return (
        np.concatenate(whos),
        np.minimum(np.concatenate(times), cal.end_seconds - 1),
        np.concatenate(scores),
    )


def _reviews(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    o: Orders,
    f: Fulfilment,
    first_number: int,
) -> pa.Table:
    """Reviews of bought products: quality drives the stars, a late parcel costs some."""
    cal, p = world.calendar, o.purchases
    lo = o.line_order
    base = np.where(o.online[lo], f.delivered[lo], p.time[lo])
    eligible = ~np.isnan(base) & (p.customer[lo] >= 0) & ~o.cancelled[lo]
    written = eligible & (rng.random(len(lo)) < 0.06)
    created = base + rng.uniform(2, 20, len(lo)) * DAY
    written &= created < cal.end_seconds
    idx = np.nonzero(written)[0]
    quality = world.products.quality[o.line_product[idx]]
    stars = np.clip(
        np.round(1.2 + 4.0 * quality + rng.normal(0, 0.7, len(idx)) - 0.8 * f.late[lo[idx]]), 1, 5
    ).astype(np.int64)
    return pa.table(
        {
            "review_id": make_ids("RV", first_number + idx, 10),
            "product_id": world.products.ids.take(pa.array(o.line_product[idx])),
            "order_id": o.ids.take(pa.array(lo[idx])),
            "customer_id": c.ids.take(pa.array(p.customer[lo[idx]])),
            "created_at": cal.to_utc(created[idx]),
            "rating": stars,
        }
    )
