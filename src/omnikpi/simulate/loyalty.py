"""The loyalty program's ledger: points earned on members' orders, redeemed, expired."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import make_ids, take_ids
from omnikpi.simulate.calendar import DAY
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.fulfilment import Fulfilment
from omnikpi.simulate.orders import Orders
from omnikpi.simulate.world import World

POINTS_PER_WON = 0.01


def loyalty_ledger(
    rng: np.random.Generator,
    world: World,
    c: Customers,
    o: Orders,
    f: Fulfilment,
    first_number: int,
) -> pa.Table:
    """Earn 1 point per 100 won on completed member orders; burn up to half of the previous
    order's points; a share of points expires after a year. Balances never go negative."""
    cal, p = world.calendar, o.purchases
    end = cal.end_seconds
    earning = np.nonzero(o.member & ~o.cancelled)[0]
    earning = earning[np.lexsort((p.time[earning], p.customer[earning]))]
    earn_time = np.where(f.status[earning] == "completed", f.status_time[earning], p.time[earning])
    points = np.floor(o.net[earning] * POINTS_PER_WON).astype(np.int64)
    customer = p.customer[earning]
    keep = (points > 0) & (earn_time < end)
    earning, earn_time, points, customer = (
        earning[keep],
        earn_time[keep],
        points[keep],
        customer[keep],
    )
    same_as_previous = np.r_[False, customer[1:] == customer[:-1]]
    previous_points = np.r_[0, points[:-1]]
    burns = same_as_previous & (rng.random(len(earning)) < 0.3)
    burn_points = previous_points // 2
    # Redeem at the next order, once the previous order's points have been credited.
    burn_time = np.maximum(p.time[earning], np.r_[0.0, earn_time[:-1]]) + 60
    burns &= (burn_points > 0) & (burn_time < end)
    expires = rng.random(len(earning)) < 0.25
    expire_time = earn_time + 365 * DAY
    expires &= expire_time < end
    parts = [
        (earning, earn_time, points, "earn"),
        (earning[burns], burn_time[burns], burn_points[burns], "burn"),
        (earning[expires], expire_time[expires], points[expires] // 5, "expire"),
    ]
    # Goodwill points for a fifth of members whose parcel came late.
    adjust = np.nonzero(o.member & f.late & (rng.random(o.count) < 0.2))[0]
    adjust = adjust[f.delivered[adjust] + DAY < end]
    parts.append((adjust, f.delivered[adjust] + DAY, np.full(len(adjust), 500), "adjust"))
    order = np.concatenate([x[0] for x in parts])
    time = np.concatenate([x[1] for x in parts])
    burned = parts[1]
    np.add.at(world.acc.points_burned, cal.day_of(burned[1]), burned[2])
    return pa.table(
        {
            "entry_id": make_ids("L", first_number + np.arange(len(order)), 10),
            "customer_id": c.ids.take(pa.array(p.customer[order])),
            "occurred_at": cal.to_utc(time),
            "kind": np.concatenate([np.full(len(x[0]), x[3]) for x in parts]),
            "points": np.concatenate([x[2] for x in parts]).astype(np.int64),
            "order_id": take_ids(
                o.ids,
                order,
                np.concatenate([np.full(len(x[0]), x[3] in ("earn", "burn")) for x in parts]),
            ),
        }
    )


def member_tiers(c: Customers, o: Orders) -> np.ndarray:
    """Tier by lifetime spend of completed orders."""
    p = o.purchases
    known = (p.customer >= 0) & ~o.cancelled
    spend = np.bincount(p.customer[known], weights=o.net[known], minlength=c.count)
    return np.select(
        [spend >= 1_000_000, spend >= 400_000, spend >= 120_000],
        ["vip", "gold", "silver"],
        "welcome",
    )
