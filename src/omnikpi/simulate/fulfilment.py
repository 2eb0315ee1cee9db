"""From order to doorstep and back: shipments, order status, payments and returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, money
from omnikpi.simulate.calendar import DAY, HOUR
from omnikpi.simulate.orders import PAYMENT_METHODS, Orders
from omnikpi.simulate.purchases import STORE
from omnikpi.simulate.world import World

RETURN_REASONS = np.array(
    ["damaged", "wrong_item", "not_as_described", "changed_mind", "late_delivery", "other"]
)


@dataclass
class Fulfilment:
    """Per order: shipped and delivered times (NaN when not yet), lateness, status."""

    shipped: np.ndarray
    delivered: np.ndarray
    late: np.ndarray
    status: np.ndarray
    status_time: np.ndarray
    damaged: np.ndarray


def fulfil(
    rng: np.random.Generator, world: World, o: Orders, first_number: int
) -> tuple[Fulfilment, dict[str, pa.Table]]:
    """Ship online orders, settle statuses, and produce shipments and payments rows."""
    cal, p = world.calendar, o.purchases
    end = cal.end_seconds
    n = o.count
    ships = o.online & ~o.cancelled
    day = cal.day_of(p.time)
    peak = cal.peak[day]
    weekend = cal.weekday[day] >= 5
    handling = rng.lognormal(np.log(13 * HOUR), 0.6, n) * np.where(peak, 1.35, 1.0)
    handling += np.where(weekend, 20 * HOUR, 0)
    shipped = p.time + handling
    promise_days = np.where(o.fulfilment == "click_collect", 3, 2)
    promised_day = day + promise_days
    promised_end = (promised_day + 1) * DAY
    carrier = rng.choice(len(ref.CARRIERS), size=n, p=[0.45, 0.25, 0.18, 0.12])
    late_p = np.array([ref.CARRIER_LATE[c] for c in ref.CARRIERS])
    late = rng.random(n) < np.where(peak, late_p[carrier, 1], late_p[carrier, 0])
    late |= shipped + 4 * HOUR > promised_end
    late |= p.bad_experience  # planted: the purchase that goes badly arrives late
    slack = np.maximum(promised_end - 2 * HOUR - shipped - 4 * HOUR, 0)
    on_time_at = shipped + 4 * HOUR + rng.random(n) * slack
    late_at = (promised_day + rng.integers(1, 4, n)) * DAY + rng.uniform(10, 20, n) * HOUR
    delivered = np.where(late, np.maximum(late_at, shipped + 6 * HOUR), on_time_at)
    shipped = np.where(ships & (shipped < end), shipped, np.nan)
    delivered = np.where(~np.isnan(shipped) & (delivered < end), delivered, np.nan)
    pickup = delivered + rng.uniform(2 * HOUR, 48 * HOUR, n)
    completed_at = np.where(o.fulfilment == "click_collect", pickup, delivered)
    done_online = ~np.isnan(completed_at) & (completed_at < end)

    status = np.where(p.channel == STORE, "completed", "paid")
    status_time = p.time.copy()
    status = np.where(o.online & done_online, "completed", status)
    status_time = np.where(o.online & done_online, completed_at, status_time)
    pending = o.online & (PAYMENT_METHODS[o.payment] == "bank_transfer") & (p.time > end - 8 * HOUR)
    status = np.where(pending, "placed", status)
    status = np.where(o.cancelled, "cancelled", status)
    status_time = np.where(o.cancelled, o.cancel_time, status_time)
    damaged = ~np.isnan(delivered) & (rng.random(n) < 0.01)

    # Every order that ships has a shipment: pending, shipped or delivered by the end.
    sent = np.nonzero(ships)[0]
    has_shipped, has_delivered = ~np.isnan(shipped[sent]), ~np.isnan(delivered[sent])
    lines = np.bincount(o.line_order, minlength=n)[sent]
    shipments = pa.table(
        {
            "shipment_id": make_ids("SH", first_number + sent, 10),
            "order_id": o.ids.take(pa.array(sent)),
            "from_location_id": world.stores.ids.take(
                pa.array(np.full(len(sent), world.stores.dc))
            ),
            "carrier": np.array(ref.CARRIERS)[carrier[sent]],
            "status": np.select([has_delivered, has_shipped], ["delivered", "shipped"], "pending"),
            "promised_date": cal.to_date(promised_day[sent]),
            "shipped_at": cal.to_utc(np.nan_to_num(shipped[sent]), has_shipped),
            "delivered_at": cal.to_utc(np.nan_to_num(delivered[sent]), has_delivered),
            "parcels": np.where(has_shipped, 1 + (lines > 4), 1).astype(np.int64),
        }
    )
    result = Fulfilment(
        shipped, delivered, late & ~np.isnan(delivered), status, status_time, damaged
    )
    return result, {"shipments": shipments}


def returns_and_payments(
    rng: np.random.Generator, world: World, o: Orders, f: Fulfilment, first_number: int
) -> dict[str, pa.Table]:
    """Returned lines with refunds, and the payment transactions of each order."""
    cal, p = world.calendar, o.purchases
    end = cal.end_seconds
    lo = o.line_order
    m = len(lo)
    online_line = o.online[lo]
    base = np.where(online_line, 0.035 + 0.05 * f.late[lo], 0.012)
    base = base + np.where(f.damaged[lo], 0.6, 0.0)
    eligible = np.where(online_line, ~np.isnan(f.delivered[lo]), ~o.cancelled[lo])
    returned = eligible & (rng.random(m) < base)
    start = np.where(online_line, f.delivered[lo], p.time[lo])
    requested = start + rng.uniform(1, 14, m) * DAY
    returned &= requested < end
    idx = np.nonzero(returned)[0]
    reason = rng.choice(len(RETURN_REASONS), size=m, p=[0.05, 0.12, 0.23, 0.5, 0.0, 0.1])
    reason = np.where(f.late[lo], np.where(rng.random(m) < 0.6, 4, reason), reason)
    reason = np.where(f.damaged[lo], 0, reason)
    quantity = np.minimum(o.line_quantity, 1 + rng.poisson(0.2, m))
    received = requested + np.where(online_line, rng.uniform(1, 5, m) * DAY, 0)
    restocked = received + rng.lognormal(np.log(30 * HOUR), 0.55, m)
    refunded_at = received + rng.uniform(2 * HOUR, 48 * HOUR, m)
    refund = np.round(o.line_net * quantity / o.line_quantity).astype(np.int64)

    def ts(values: np.ndarray) -> pa.Array:
        v = values[idx]
        return cal.to_utc(np.where(v < end, v, 0), v < end)

    returns = pa.table(
        {
            "return_id": make_ids("R", first_number + idx, 10),
            "order_id": o.ids.take(pa.array(lo[idx])),
            "line_number": o.line_number[idx],
            "product_id": world.products.ids.take(pa.array(o.line_product[idx])),
            "quantity": quantity[idx],
            "reason": RETURN_REASONS[reason[idx]],
            "requested_at": cal.to_utc(requested[idx]),
            "received_at": ts(received),
            "restocked_at": ts(restocked),
            "refund_amount": money(refund[idx]),
            "refunded_at": ts(refunded_at),
        }
    )

    n = o.count
    paid = o.purchases.time + rng.uniform(5, 120, n)
    captured = np.nonzero(f.status != "placed")[0]
    failed = np.nonzero(o.online & (rng.random(n) < 0.03))[0]
    refunded_cancel = np.nonzero(o.cancelled & (o.cancel_time > paid))[0]
    refunds = idx[refunded_at[idx] < end]
    rows = [
        (captured, paid[captured], o.total[captured], "captured"),
        (failed, o.purchases.time[failed], o.total[failed], "failed"),
        (refunded_cancel, o.cancel_time[refunded_cancel], o.total[refunded_cancel], "refunded"),
        (lo[refunds], refunded_at[refunds], refund[refunds], "refunded"),
    ]
    order_idx = np.concatenate([r[0] for r in rows])
    payments = pa.table(
        {
            "payment_id": make_ids("PAY", first_number * 2 + np.arange(len(order_idx)), 11),
            "order_id": o.ids.take(pa.array(order_idx)),
            "method": PAYMENT_METHODS[o.payment[order_idx]],
            "status": np.concatenate([np.full(len(r[0]), r[3]) for r in rows]),
            "amount": money(np.concatenate([r[2] for r in rows])),
            "currency": np.full(len(order_idx), world.config.currency),
            "created_at": cal.to_utc(np.minimum(np.concatenate([r[1] for r in rows]), end - 1)),
        }
    )
    return {"returns": returns, "payments": payments}
