"""Tables summed over all customer chunks once they are done: media delivery, program costs,
experiments and the recorded truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import money
from omnikpi.simulate.campaigns import (
    PAID_CHANNELS,
    PAID_CPC,
    PAID_CTR,
    REACTIVATION_EFFECT,
    REACTIVATION_WINDOW_DAYS,
    SEND_COST,
)
from omnikpi.simulate.world import EXPERIMENT_ID, HOLDOUT_EXPERIMENT_ID, World

BRAND_CPM = 3_000
LOYALTY_PLATFORM_COST = 6_000_000


def marketing_daily(rng: np.random.Generator, world: World) -> pa.Table:
    """Impressions, clicks and spend per day and campaign, consistent with the sessions and
    messages the campaigns produced."""
    plan, acc, cal = world.plan, world.acc, world.calendar
    days_out, campaigns_out, impressions_out, clicks_out, spend_out = [], [], [], [], []
    for k, channel in enumerate(plan.channel):
        days = np.arange(plan.start_day[k], plan.end_day[k] + 1)
        if channel in PAID_CHANNELS and k != plan.brand_campaign:
            sessions = acc.paid_sessions[days, k]
            clicks = sessions + rng.binomial(sessions, 0.12)
            ctr = PAID_CTR[channel] * rng.uniform(0.8, 1.2, len(days))
            impressions = np.round(np.maximum(clicks, 1) / ctr).astype(np.int64)
            spend = np.round(clicks * PAID_CPC[channel] * rng.lognormal(0, 0.1, len(days)))
        elif k == plan.brand_campaign:
            budget = plan.daily_budget[k] or 0
            spend = np.round(budget * rng.uniform(0.9, 1.1, len(days)))
            impressions = np.round(spend / BRAND_CPM * 1000).astype(np.int64)
            clicks = rng.binomial(impressions, 0.0008)
        else:
            sent = acc.sent[days, k]
            keep = sent > 0
            days, sent = days[keep], sent[keep]
            impressions = acc.delivered[days, k]
            clicks = acc.clicked[days, k]
            spend = sent * SEND_COST[channel]
        days_out.append(days)
        campaigns_out.append(np.full(len(days), k))
        impressions_out.append(impressions)
        clicks_out.append(clicks)
        spend_out.append(spend)
    day = np.concatenate(days_out)
    campaign = np.concatenate(campaigns_out)
    return pa.table(
        {
            "date": cal.to_date(day),
            "channel": np.array(plan.channel)[campaign],
            "campaign_id": plan.ids.take(pa.array(campaign)),
            "impressions": np.concatenate(impressions_out).astype(np.int64),
            "clicks": np.concatenate(clicks_out).astype(np.int64),
            "spend": money(np.concatenate(spend_out).astype(np.int64)),
            "currency": np.full(len(day), world.config.currency),
        }
    )


def program_costs(world: World) -> pa.Table:
    """Monthly loyalty cost (1 won per redeemed point plus the platform) and CRM send cost."""
    cal, acc, plan = world.calendar, world.acc, world.plan
    months = cal.month_first_day
    burned = np.bincount(cal.month_index, weights=acc.points_burned, minlength=len(months))
    send_cost = np.zeros(len(months))
    for k, channel in enumerate(plan.channel):
        if channel in SEND_COST:
            send_cost += np.bincount(
                cal.month_index, weights=acc.sent[:, k] * SEND_COST[channel], minlength=len(months)
            )
    n = len(months)
    return pa.table(
        {
            "month": cal.to_date(np.concatenate([months, months])),
            "program": np.concatenate([np.full(n, "loyalty"), np.full(n, "crm")]),
            "cost": money(
                np.round(np.concatenate([burned + LOYALTY_PLATFORM_COST, send_cost])).astype(
                    np.int64
                )
            ),
            "currency": np.full(2 * n, world.config.currency),
        }
    )


def experiments(world: World) -> pa.Table:
    cal, plan = world.calendar, world.plan
    start, end = world.experiment_window
    react = plan.reactivation
    return pa.table(
        {
            "experiment_id": [EXPERIMENT_ID, HOLDOUT_EXPERIMENT_ID],
            "name": ["One-page checkout", "Win-back e-mail holdout"],
            "kind": ["ab_test", "campaign_holdout"],
            "unit": ["visitor", "customer"],
            "variants": ["control,treatment", "holdout,treatment"],
            "campaign_id": pa.array([None, plan.ids[react].as_py()], pa.string()),
            "start_date": cal.to_date(np.array([start, plan.start_day[react]])),
            "end_date": cal.to_date(np.array([end, plan.end_day[react]])),
            "primary_metric": ["checkout_completion_rate", "conversion_14d"],
            "description": [
                "A one-page checkout against the three-step checkout, 50/50 by visitor.",
                "Win-back e-mail to customers lapsed 120+ days; 20% held out at random.",
            ],
        }
    )


def record_campaign_truth(world: World) -> None:
    acc = world.acc
    campaign = world.plan.ids[world.plan.reactivation].as_py()
    effect = acc.winback_effect / acc.winback_audience if acc.winback_audience else 0.0
    world.truth.add(
        f"campaign.{campaign}.incremental_conversion",
        effect,
        "probability",
        f"Sample average effect of the win-back e-mail on buying within "
        f"{REACTIVATION_WINDOW_DAYS} days of the send, over its whole audience (treated and "
        f"holdout): recipients who would not have bought convert with probability "
        f"{REACTIVATION_EFFECT}. Estimate: conversion(treatment) - conversion(holdout).",
    )
    world.truth.add(
        f"campaign.{campaign}.audience",
        acc.winback_audience,
        "customers",
        "Customers in the win-back audience.",
    )
