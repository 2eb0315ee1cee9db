"""Tables that do not depend on individual customers: site checks, social and search,
competitor prices, market size, factory runs and projects."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, money
from omnikpi.simulate.calendar import DAY, HOUR
from omnikpi.simulate.world import World

CHECK_EVERY_MINUTES = 10
LINES = ("Line A (skincare)", "Line B (makeup)", "Line C (body)")


def site_checks(rng: np.random.Generator, world: World) -> pa.Table:
    """Uptime probes of the home and checkout pages every ten minutes."""
    cal = world.calendar
    per_day = 24 * 60 // CHECK_EVERY_MINUTES
    times = np.arange(cal.days * per_day) * CHECK_EVERY_MINUTES * 60.0
    frames = []
    for target in ("home", "checkout"):
        hour = (times // HOUR).astype(np.int64)
        minute_in_hour = (times % HOUR) / 60
        down = minute_in_hour < world.outage_minutes[hour]
        base = 260.0 if target == "home" else 420.0
        response = base * rng.lognormal(0, 0.25, len(times)) * world.slowness[hour]
        frames.append(
            pa.table(
                {
                    "checked_at": cal.to_utc(times),
                    "target": np.full(len(times), target),
                    "is_up": ~down,
                    "response_ms": pa.array(np.round(response).astype(np.int64), mask=down),
                }
            )
        )
    return pa.concat_tables(frames)


def social_and_search(rng: np.random.Generator, world: World) -> dict[str, pa.Table]:
    """Daily followers and engagement per platform; organic search performance per query."""
    cal = world.calendar
    days = np.arange(cal.days)
    frames = []
    for platform, base, growth in (
        ("instagram", 182_000, 0.0009),
        ("youtube", 41_000, 0.0011),
        ("kakaotalk", 265_000, 0.0006),
        ("facebook", 96_000, 0.0001),
    ):
        followers = base * np.exp(growth * days + np.cumsum(rng.normal(0, 0.0015, cal.days)))
        posts = rng.poisson(np.where(cal.is_sale, 3.0, 1.2))
        engagements = rng.poisson(followers * 0.004 * (1 + posts * 0.6) * cal.sale_lift)
        frames.append(
            pa.table(
                {
                    "date": cal.to_date(days),
                    "platform": np.full(cal.days, platform),
                    "followers": np.round(followers).astype(np.int64),
                    "engagements": engagements,
                    "posts": posts,
                }
            )
        )
    search_frames = []
    for query, rank in ref.ORGANIC_QUERIES:
        volume = 400 * rng.lognormal(0, 0.6) * cal.online_weight
        impressions = rng.poisson(volume)
        position = np.clip(rank + rng.normal(0, 0.8, cal.days) - days / cal.days, 1.0, 40.0)
        ctr = 0.32 / position**0.9
        search_frames.append(
            pa.table(
                {
                    "date": cal.to_date(days),
                    "query": np.full(cal.days, query),
                    "impressions": impressions,
                    "clicks": rng.binomial(impressions, np.minimum(ctr, 1)),
                    "position": np.round(position, 2),
                }
            )
        )
    return {
        "social_daily": pa.concat_tables(frames),
        "search_console": pa.concat_tables(search_frames),
    }


def competitor_prices(rng: np.random.Generator, world: World) -> pa.Table:
    """Daily shelf prices of the 60 best sellers at three competitors."""
    cal, products = world.calendar, world.products
    top = np.argsort(-products.popularity)[:60]
    frames = []
    for k, competitor in enumerate(ref.COMPETITORS):
        level = rng.normal(1.0 + 0.03 * (k - 1), 0.05, len(top))
        for_day = level[:, None] * (1 - 0.5 * cal.sale_discount[None, :] * (k == 1))
        noise = rng.normal(0, 0.015, (len(top), cal.days))
        price = np.round(products.price[top][:, None] * (for_day + noise) / 100) * 100
        grid_p, grid_d = np.meshgrid(np.arange(len(top)), np.arange(cal.days), indexing="ij")
        launched = products.launch_day[top][grid_p] <= grid_d
        frames.append(
            pa.table(
                {
                    "date": cal.to_date(grid_d[launched]),
                    "product_id": products.ids.take(pa.array(top[grid_p[launched]])),
                    "competitor": np.full(launched.sum(), competitor),
                    "price": money(price[launched].astype(np.int64)),
                    "currency": np.full(launched.sum(), world.config.currency),
                }
            )
        )
    return pa.concat_tables(frames)


def market_size(
    rng: np.random.Generator, world: World, revenue_by_month_category: np.ndarray
) -> pa.Table:
    """Monthly market revenue per category: our revenue at a 2-5% share, plus noise."""
    months = world.calendar.month_first_day
    share = rng.uniform(0.02, 0.05, len(ref.CATEGORIES))
    rows = []
    for m_index, first_day in enumerate(months):
        for k, (category, *_rest) in enumerate(ref.CATEGORIES):
            ours = revenue_by_month_category[m_index, k]
            market = max(ours, 1.0) / share[k] * rng.normal(1.0, 0.04)
            rows.append((first_day, category, round(market / 1000) * 1000))
    return pa.table(
        {
            "month": world.calendar.to_date(np.array([r[0] for r in rows])),
            "category": [r[1] for r in rows],
            "market_revenue": money(np.array([r[2] for r in rows])),
            "currency": [world.config.currency] * len(rows),
        }
    )


def production_runs(rng: np.random.Generator, world: World) -> pa.Table:
    """Two shifts a day on three lines, with downtime, speed loss, scrap and rework."""
    cal, products = world.calendar, world.products
    days = np.repeat(np.arange(cal.days), 2 * len(LINES))
    shift = np.tile(np.repeat([0, 1], len(LINES)), cal.days)
    line = np.tile(np.arange(len(LINES)), 2 * cal.days)
    working = cal.weekday[days] < 6
    days, shift, line = days[working], shift[working], line[working]
    n = len(days)
    planned = np.full(n, 450.0)
    availability = np.clip(rng.beta(18, 2, n), 0.4, 1.0)
    run = planned * availability
    ideal = np.array([2.4, 3.1, 1.8])[line]
    performance = np.clip(rng.beta(16, 3, n), 0.5, 1.0)
    produced = np.floor(run * 60 / ideal * performance).astype(np.int64)
    started = produced + rng.poisson(produced * 0.01)
    first_pass = rng.binomial(produced, 0.955)
    good = first_pass + rng.binomial(produced - first_pass, 0.6)
    scheduled = np.full(n, 12 * 7.5)
    worked = scheduled * np.clip(rng.beta(20, 1.5, n), 0.6, 1.0)
    start = days * DAY + np.where(shift == 0, 6 * HOUR, 14.5 * HOUR)
    top = np.argsort(-world.products.popularity)[:30]
    return pa.table(
        {
            "run_id": make_ids("RUN", np.arange(1, n + 1), 7),
            "line": np.array(LINES)[line],
            "product_id": products.ids.take(pa.array(top[rng.integers(0, len(top), n)])),
            "started_at": cal.to_utc(start),
            "ended_at": cal.to_utc(start + planned * 60),
            "planned_minutes": planned,
            "run_minutes": np.round(run, 1),
            "ideal_cycle_seconds": ideal,
            "units_started": started,
            "units_produced": produced,
            "units_good": good,
            "units_good_first_pass": first_pass,
            "labor_hours_scheduled": scheduled,
            "labor_hours_worked": np.round(worked, 2),
            "standard_labor_seconds": ideal * 12 * 0.9,
            "incidents": rng.poisson(0.02, n),
        }
    )


def projects(rng: np.random.Generator, world: World) -> dict[str, pa.Table]:
    """A portfolio of internal projects with daily bookings and earned value."""
    cal = world.calendar
    kinds = ("store opening", "site relaunch", "app feature", "CRM platform", "packaging redesign")
    n = max(6, cal.days // 60)
    start = rng.integers(0, max(1, cal.days - 60), n)
    length = rng.integers(30, 150, n)
    budget = (rng.uniform(40, 400, n) * 1_000_000).round(-5)
    hours = rng.uniform(400, 4000, n).round()
    projects_table = pa.table(
        {
            "project_id": make_ids("PRJ", np.arange(1, n + 1), 3),
            "name": [f"{kinds[i % len(kinds)].title()} {i + 1}" for i in range(n)],
            "kind": [kinds[i % len(kinds)] for i in range(n)],
            "start_date": cal.to_date(start),
            "end_date": cal.to_date(start + length - 1),
            "budget": money(budget.astype(np.int64)),
            "estimated_hours": hours,
            "currency": np.full(n, world.config.currency),
        }
    )
    proj = np.repeat(np.arange(n), length)
    day = start[proj] + (np.arange(len(proj)) - np.repeat(np.cumsum(length) - length, length))
    keep = (day < cal.days) & (cal.weekday[np.minimum(day, cal.days - 1)] < 5)
    proj, day = proj[keep], day[keep]
    business_days = np.bincount(proj, minlength=n)
    per_day_hours = hours[proj] / np.maximum(business_days[proj], 1)
    overrun = rng.normal(1.05, 0.12, n)[proj]
    worked = per_day_hours * overrun * rng.lognormal(0, 0.2, len(proj))
    planned_cost = budget[proj] / np.maximum(business_days[proj], 1)
    actual = planned_cost * overrun * rng.lognormal(0, 0.15, len(proj))
    earned = planned_cost * rng.normal(0.97, 0.08, n)[proj]
    revenue = earned * rng.uniform(0.5, 3.0, n)[proj]
    return {
        "projects": projects_table,
        "project_logs": pa.table(
            {
                "date": cal.to_date(day),
                "project_id": projects_table["project_id"].take(pa.array(proj)),
                "hours": np.round(worked, 2),
                "estimated_hours": np.round(per_day_hours, 2),
                "actual_cost": money(np.round(actual).astype(np.int64)),
                "planned_cost": money(np.round(planned_cost).astype(np.int64)),
                "earned_value": money(np.round(earned).astype(np.int64)),
                "attributed_revenue": money(np.round(revenue).astype(np.int64)),
            }
        ),
    }
