"""Identified marketing contacts: ad impressions and clicks, message opens and clicks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omnikpi.simulate.arrays import make_ids, take_ids
from omnikpi.simulate.calendar import DAY
from omnikpi.simulate.crm import CrmResult
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.service import world_brand_exposed
from omnikpi.simulate.traffic import PAID, SOURCES
from omnikpi.simulate.visits import Sessions
from omnikpi.simulate.world import World


def touchpoints(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    s: Sessions,
    crm: CrmResult,
    first_number: int,
) -> pa.Table:
    """Clicks behind paid sessions, the impressions before them, retargeting and brand
    impressions to known customers, and message opens and clicks."""
    cal, plan = world.calendar, world.plan
    end = cal.end_seconds
    source, campaign = s.cat("source"), s.cat("campaign")
    start, customer = s.cat("start"), s.cat("customer")
    visitor = pa.concat_arrays(
        [v if isinstance(v, pa.Array) else v.combine_chunks() for v in s.visitor]
    )
    paid = np.isin(SOURCES[source], list(PAID)) & (campaign >= 0)
    click_idx = np.nonzero(paid)[0]
    click_channel = np.array([PAID[x] for x in SOURCES[source[click_idx]]], dtype=object)
    views = rng.integers(1, 5, len(click_idx))
    view_idx = np.repeat(click_idx, views)
    view_time = start[view_idx] - rng.uniform(60, 3 * DAY, len(view_idx))

    # Retargeting impressions to known customers while they are active.
    display = world.paid_by_day["display"]
    monthly = rng.poisson(0.5 * cal.days / 30, c.count)
    who = np.repeat(np.arange(c.count), monthly)
    retarget_time = c.created[who] + rng.uniform(0, 1, len(who)) * (end - c.created[who])
    camp = display[cal.day_of(retarget_time)]
    ok = camp >= 0
    who, retarget_time, camp = who[ok], retarget_time[ok], camp[ok]
    # Brand flight exposures.
    brand = plan.brand_campaign
    b_start, b_end = plan.start_day[brand] * DAY, (plan.end_day[brand] + 1) * DAY
    exposed = np.nonzero(world_brand_exposed(world, c) & (c.created < b_start))[0]
    hits = rng.integers(1, 6, len(exposed))
    brand_who = np.repeat(exposed, hits)
    brand_time = rng.uniform(b_start, b_end, len(brand_who))

    opened = ~np.isnan(crm.message_open)
    clicked = ~np.isnan(crm.message_click)
    message_channel = np.array(
        [{"email": "email", "sms": "sms", "app_push": "app_push"}[x] for x in crm.message_channel],
        dtype=object,
    )
    parts = [
        # (customer, visitor index into sessions or -1, time, channel, campaign, kind)
        (
            customer[click_idx],
            click_idx,
            start[click_idx] - 5,
            click_channel,
            campaign[click_idx],
            "click",
        ),
        (
            customer[view_idx],
            view_idx,
            view_time,
            np.array([PAID[x] for x in SOURCES[source[view_idx]]], dtype=object),
            campaign[view_idx],
            "impression",
        ),
        (
            who,
            np.full(len(who), -1),
            retarget_time,
            np.full(len(who), "display", dtype=object),
            camp,
            "impression",
        ),
        (
            brand_who,
            np.full(len(brand_who), -1),
            brand_time,
            np.full(len(brand_who), "display", dtype=object),
            np.full(len(brand_who), brand),
            "impression",
        ),
        (
            crm.message_customer[opened],
            np.full(opened.sum(), -1),
            crm.message_open[opened],
            message_channel[opened],
            crm.message_campaign[opened],
            "message_open",
        ),
        (
            crm.message_customer[clicked],
            np.full(clicked.sum(), -1),
            crm.message_click[clicked],
            message_channel[clicked],
            crm.message_campaign[clicked],
            "message_click",
        ),
    ]
    cust = np.concatenate([x[0] for x in parts]).astype(np.int64)
    vis = np.concatenate([x[1] for x in parts]).astype(np.int64)
    time = np.concatenate([x[2] for x in parts])
    keep = (time >= 0) & (time < end) & ((cust >= 0) | (vis >= 0))
    channel = np.concatenate([x[3] for x in parts])[keep].astype(str)
    kind = np.concatenate([np.full(len(x[0]), x[5]) for x in parts])[keep]
    camp_all = np.concatenate([x[4] for x in parts]).astype(np.int64)[keep]
    cust, vis, time = cust[keep], vis[keep], time[keep]
    visitor_ids = pc.if_else(
        pa.array(vis >= 0),
        visitor.take(pa.array(np.maximum(vis, 0))),
        pa.nulls(len(vis), pa.string()),
    )
    order = np.argsort(time, kind="stable")
    return pa.table(
        {
            "touchpoint_id": make_ids("TP", first_number + np.arange(len(time)), 11),
            "customer_id": take_ids(c.ids, cust, cust >= 0).take(pa.array(order)),
            "visitor_id": visitor_ids.take(pa.array(order)),
            "occurred_at": cal.to_utc(time[order] - (time[order] % 1)),
            "channel": channel[order],
            "campaign_id": plan.ids.take(pa.array(camp_all[order])),
            "kind": kind[order],
        }
    )
