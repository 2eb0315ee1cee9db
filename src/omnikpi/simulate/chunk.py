"""One chunk of customers, simulated end to end: from acquisition to the last review."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omnikpi.simulate.arrays import make_ids, money
from omnikpi.simulate.calendar import DAY
from omnikpi.simulate.crm import run_crm
from omnikpi.simulate.customers import Customers, customers_table, simulate_customers
from omnikpi.simulate.fulfilment import fulfil, returns_and_payments
from omnikpi.simulate.loyalty import loyalty_ledger, member_tiers
from omnikpi.simulate.orders import Orders, build_orders, order_tables
from omnikpi.simulate.purchases import WEB, Purchases, guest_purchases, organic_purchases
from omnikpi.simulate.service import tickets_and_surveys
from omnikpi.simulate.touchpoints import touchpoints
from omnikpi.simulate.web import anonymous_visitors, guest_buyers, simulate_web
from omnikpi.simulate.world import World

#: Row numbers of a chunk start at chunk x ROWS_PER_CHUNK, so ids never collide.
ROWS_PER_CHUNK = 100_000_000
PSEUDONYM_KEY = b"omnikpi-simulator-pseudonym-key"


def simulate_chunk(world: World, chunk: int) -> dict[str, pa.Table]:
    """Every customer-level table for customers chunk*chunk_size ... (deterministic)."""
    config = world.config
    rng = np.random.default_rng([config.seed, 1, chunk])
    first = chunk * config.chunk_size
    n = min(config.chunk_size, config.customers - first)
    base = chunk * ROWS_PER_CHUNK
    c = simulate_customers(rng, world, first, n)
    organic = organic_purchases(rng, world, c)
    crm = run_crm(rng, world, c, organic, base)
    anon = anonymous_visitors(rng, world, n, base)
    guest_visitor, guest_time = guest_buyers(rng, anon)
    guest_time = np.minimum(guest_time, world.end_seconds - 1)
    k = len(guest_visitor)
    web_guests = Purchases(
        customer=np.full(k, -1),
        visitor=guest_visitor,
        time=guest_time,
        channel=np.full(k, WEB),
        store=np.full(k, -1),
        campaign=np.full(k, -1),
        induced=np.zeros(k, dtype=bool),
        bad_experience=np.zeros(k, dtype=bool),
    )
    purchases = Purchases.concat([organic, crm.induced, web_guests, guest_purchases(rng, world, n)])
    purchases = purchases.take(np.argsort(purchases.time, kind="stable"))
    o = build_orders(rng, world, c, purchases, base)
    f, tables = fulfil(rng, world, o, base)
    tables.update(returns_and_payments(rng, world, o, f, base))
    web_tables, order_session, order_campaign, sessions = simulate_web(
        rng, world, c, o, anon, crm.clicks, (base, base)
    )
    o.purchases.campaign = order_campaign
    tables.update(order_tables(world, c, o, f.status, f.status_time, order_session))
    assignments = [web_tables.pop("experiment_assignments")]
    if "experiment_assignments" in crm.tables:
        assignments.append(crm.tables["experiment_assignments"])
    tables["experiment_assignments"] = pa.concat_tables(assignments)
    tables["messages"] = crm.tables["messages"]
    tables.update(web_tables)
    tables.update(tickets_and_surveys(rng, world, c, o, f, base))
    tables["loyalty_ledger"] = loyalty_ledger(rng, world, c, o, f, base)
    tables["touchpoints"] = touchpoints(rng, world, c, sessions, crm, base)
    tables["invoices"] = invoices(rng, world, c, o, base)
    tables["customers"] = customers_table(world, c, member_tiers(c, o), PSEUDONYM_KEY)
    _add_revenue(world, o)
    return tables


def invoices(
    rng: np.random.Generator, world: World, c: Customers, o: Orders, first_number: int
) -> pa.Table:
    """Business accounts pay on 30-day terms: most on time, some late, a few not yet."""
    cal, p = world.calendar, o.purchases
    end = world.end_seconds
    idx = np.nonzero((o.payment == 5) & ~o.cancelled)[0]
    issued = p.time[idx] + DAY
    idx, issued = idx[issued < end], issued[issued < end]
    due_day = cal.day_of(issued) + 30
    outcome = rng.random(len(idx))
    paid = np.where(
        outcome < 0.84,
        issued + rng.uniform(2, 29, len(idx)) * DAY,
        np.where(outcome < 0.97, (due_day + rng.uniform(1, 30, len(idx))) * DAY, np.inf),
    )
    settled = paid < end
    return pa.table(
        {
            "invoice_id": make_ids("INV", first_number + idx, 10),
            "customer_id": c.ids.take(pa.array(p.customer[idx])),
            "order_id": o.ids.take(pa.array(idx)),
            "issued_at": cal.to_utc(issued),
            "due_date": cal.to_date(due_day),
            "amount": money(o.total[idx]),
            "currency": np.full(len(idx), world.config.currency),
            "paid_at": cal.to_utc(np.where(settled, paid, 0), settled),
        }
    )


def _add_revenue(world: World, o: Orders) -> None:
    """Keep this chunk's revenue per month and category for the market-size table."""
    lo = o.line_order
    sold = ~o.cancelled[lo]
    month = world.calendar.month_index[world.calendar.day_of(o.purchases.time[lo[sold]])]
    category = world.products.category[o.line_product[sold]]
    np.add.at(world.acc.revenue_month_category, (month, category), o.line_net[sold])
