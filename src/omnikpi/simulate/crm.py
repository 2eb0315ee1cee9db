"""CRM messaging: newsletters, event pushes and a win-back campaign with a random holdout.

Treated win-back recipients who would not have bought within the window do so with
probability REACTIVATION_EFFECT; the sample average treatment effect on the audience's
14-day conversion is recorded as truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import make_ids
from omnikpi.simulate.calendar import DAY, HOUR
from omnikpi.simulate.campaigns import REACTIVATION_EFFECT, REACTIVATION_WINDOW_DAYS
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.purchases import APP, WEB, Purchases
from omnikpi.simulate.traffic import S
from omnikpi.simulate.web import MessageClicks
from omnikpi.simulate.world import HOLDOUT_EXPERIMENT_ID, World

MESSAGE_CHANNEL = {"email": "email", "sms": "sms", "app_push": "push"}
DELIVERY = {"email": 0.97, "sms": 0.99, "app_push": 0.93}
OPEN = {"email": 0.22, "sms": 0.0, "app_push": 0.07}
CLICK_GIVEN_OPEN = {"email": 0.16, "sms": 0.0, "app_push": 0.35}
CLICK_SMS = 0.035
UNSUBSCRIBE = {"email": 0.003, "sms": 0.002, "app_push": 0.0}
LAPSED_DAYS = 120


@dataclass
class CrmResult:
    tables: dict[str, pa.Table]
    induced: Purchases
    clicks: MessageClicks
    message_customer: np.ndarray
    message_open: np.ndarray
    message_click: np.ndarray
    message_campaign: np.ndarray
    message_channel: np.ndarray


def run_crm(
    rng: np.random.Generator, world: World, c: Customers, organic: Purchases, first_number: int
) -> CrmResult:
    """Send every planned message in time order; consent changes feed later audiences."""
    cal, plan = world.calendar, world.plan
    end = cal.end_seconds
    rows: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "customer",
            "campaign",
            "channel",
            "sent",
            "delivered",
            "bounced",
            "opened",
            "clicked",
            "unsubscribed",
        )
    }
    induced: list[Purchases] = []
    assignments: list[pa.Table] = []
    consent = {
        "email": (c.email_in, c.email_out),
        "sms": (c.sms_in, c.sms_out),
        "app_push": (c.push_in, c.push_out),
    }
    for send in plan.sends:
        t0 = send.day * DAY + 10 * HOUR
        opt_in, opt_out = consent[send.channel]
        audience = (opt_in <= t0) & ~(opt_out <= t0) & (c.created <= t0)
        last = _last_purchase_before(organic, c.count, t0)
        recent = np.maximum(last, c.created) > t0 - 365 * DAY
        if send.audience == "reactivation":
            audience &= (last > 0) & (last < t0 - LAPSED_DAYS * DAY)
            who = np.nonzero(audience)[0]
            holdout = rng.random(len(who)) < (plan.holdout[send.campaign] or 0.0)
            induced.append(_win_back(rng, world, c, organic, who, ~holdout, t0, send.campaign))
            assignments.append(
                pa.table(
                    {
                        "experiment_id": np.full(len(who), HOLDOUT_EXPERIMENT_ID),
                        "unit_id": c.ids.take(pa.array(who)),
                        "variant": np.where(holdout, "holdout", "treatment"),
                        "assigned_at": cal.to_utc(np.full(len(who), t0)),
                    }
                )
            )
            who = who[~holdout]
        else:
            who = np.nonzero(audience & recent)[0]
        k = len(who)
        sent = t0 + rng.uniform(0, 2 * HOUR, k)
        delivered = rng.random(k) < DELIVERY[send.channel]
        opened = delivered & (
            rng.random(k) < OPEN[send.channel] * np.where(~np.isnan(c.member_since[who]), 1.25, 1.0)
        )
        open_at = sent + rng.lognormal(np.log(2 * HOUR), 1.0, k)
        p_click = CLICK_SMS if send.channel == "sms" else CLICK_GIVEN_OPEN[send.channel]
        clicked = (opened if send.channel != "sms" else delivered) & (rng.random(k) < p_click)
        click_at = np.where(send.channel == "sms", sent, open_at) + rng.uniform(20, 900, k)
        unsub = delivered & (rng.random(k) < UNSUBSCRIBE[send.channel])
        unsub_at = np.where(send.channel == "sms", sent, open_at) + rng.uniform(30, 600, k)
        for arr, cond in ((open_at, opened), (click_at, clicked), (unsub_at, unsub)):
            cond &= arr < end
        if send.channel != "app_push":
            opt_out[who[unsub]] = np.fmin(opt_out[who[unsub]], unsub_at[unsub])
        rows["customer"].append(who)
        rows["campaign"].append(np.full(k, send.campaign))
        rows["channel"].append(np.full(k, send.channel))
        rows["sent"].append(sent)
        rows["delivered"].append(delivered)
        rows["bounced"].append(~delivered & (send.channel == "email"))
        rows["opened"].append(np.where(opened, open_at, np.nan))
        rows["clicked"].append(np.where(clicked, click_at, np.nan))
        rows["unsubscribed"].append(np.where(unsub, unsub_at, np.nan))
        day = min(send.day, cal.days - 1)
        world.acc.sent[day, send.campaign] += k
        world.acc.delivered[day, send.campaign] += int(delivered.sum())
        world.acc.clicked[day, send.campaign] += int(clicked.sum())

    col = {name: np.concatenate(v) if v else np.zeros(0) for name, v in rows.items()}
    m = len(col["customer"])
    customer = col["customer"].astype(np.int64)
    campaign = col["campaign"].astype(np.int64)
    channel = col["channel"].astype(str)

    def ts(values: np.ndarray) -> pa.Array:
        return cal.to_utc(np.nan_to_num(values), ~np.isnan(values))

    messages = pa.table(
        {
            "message_id": make_ids("M", first_number + np.arange(m), 11),
            "customer_id": c.ids.take(pa.array(customer)),
            "campaign_id": plan.ids.take(pa.array(campaign)),
            "channel": np.array([MESSAGE_CHANNEL[x] for x in channel]) if m else np.zeros(0, str),
            "sent_at": cal.to_utc(col["sent"]),
            "delivered": col["delivered"].astype(bool),
            "bounced": col["bounced"].astype(bool),
            "opened_at": ts(col["opened"]),
            "clicked_at": ts(col["clicked"]),
            "unsubscribed_at": ts(col["unsubscribed"]),
        }
    )
    clicked = ~np.isnan(col["clicked"])
    source_of = {"email": S["email"], "sms": S["sms"], "app_push": S["app_push"]}
    clicks = MessageClicks(
        customer=customer[clicked],
        time=col["clicked"][clicked],
        source=np.array([source_of[x] for x in channel[clicked]], dtype=np.int64),
        campaign=campaign[clicked],
    )
    tables = {"messages": messages}
    if assignments:
        tables["experiment_assignments"] = pa.concat_tables(assignments)
    return CrmResult(
        tables=tables,
        induced=Purchases.concat(induced) if induced else _no_purchases(),
        clicks=clicks,
        message_customer=customer,
        message_open=col["opened"],
        message_click=col["clicked"],
        message_campaign=campaign,
        message_channel=channel,
    )


def _last_purchase_before(p: Purchases, n: int, t: float) -> np.ndarray:
    last = np.zeros(n)
    before = p.time <= t
    np.maximum.at(last, p.customer[before], p.time[before])
    return last


def _win_back(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    organic: Purchases,
    who: np.ndarray,
    treated: np.ndarray,
    t0: float,
    campaign: int,
) -> Purchases:
    """Extra purchases caused by the win-back e-mail, and the truth they amount to."""
    end = world.calendar.end_seconds
    window = min(REACTIVATION_WINDOW_DAYS * DAY, end - 1 - t0)
    in_window = (organic.time >= t0) & (organic.time < t0 + window)
    bought = np.zeros(c.count, dtype=bool)
    bought[organic.customer[in_window]] = True
    would_convert = ~bought[who] & (rng.random(len(who)) < REACTIVATION_EFFECT)
    world.acc.winback_effect += int(would_convert.sum())
    world.acc.winback_audience += len(who)
    buyers = who[would_convert & treated]
    k = len(buyers)
    time = t0 + 3600 + rng.random(k) * (window - 3600)
    app = c.app_user[buyers] & (rng.random(k) < 0.6)
    return Purchases(
        customer=buyers,
        visitor=np.full(k, -1),
        time=time,
        channel=np.where(app, APP, WEB),
        store=np.full(k, -1),
        campaign=np.full(k, campaign),
        induced=np.ones(k, dtype=bool),
        bad_experience=np.zeros(k, dtype=bool),
    )


def _no_purchases() -> Purchases:
    empty = np.zeros(0, dtype=np.int64)
    none = np.zeros(0, bool)
    return Purchases(empty, empty, np.zeros(0), empty, empty, empty, none, none)
