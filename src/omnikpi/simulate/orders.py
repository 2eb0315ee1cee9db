"""Orders, order lines and payments from purchases: baskets, prices, discounts, payment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, money, rank_within, take_ids
from omnikpi.simulate.customers import SALES_CHANNELS, Customers
from omnikpi.simulate.purchases import APP, MARKETPLACE, STORE, WEB, Purchases
from omnikpi.simulate.world import World

PAYMENT_METHODS = np.array(["card", "mobile_pay", "bank_transfer", "cash", "gift_card", "invoice"])
#: Payment mix (card, mobile pay, transfer, cash, gift card, invoice) per sales channel.
PAYMENT_MIX = np.array(
    [
        [0.55, 0.33, 0.08, 0.0, 0.04, 0.0],
        [0.45, 0.47, 0.04, 0.0, 0.04, 0.0],
        [0.8, 0.1, 0.0, 0.08, 0.02, 0.0],
        [0.6, 0.4, 0.0, 0.0, 0.0, 0.0],
        [0.5, 0.0, 0.5, 0.0, 0.0, 0.0],
    ]
)
FREE_SHIPPING_FROM = 30_000
SHIPPING_FEE = 3_000
COUPON_RATE = 0.1


@dataclass
class Orders:
    """Order-level arrays kept for the later steps (fulfilment, web, service, loyalty)."""

    ids: pa.Array
    purchases: Purchases
    fulfilment: np.ndarray
    cancelled: np.ndarray
    cancel_time: np.ndarray
    gross: np.ndarray
    discount: np.ndarray
    net: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    payment: np.ndarray
    member: np.ndarray
    line_order: np.ndarray
    line_number: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_price: np.ndarray
    line_discount: np.ndarray
    line_net: np.ndarray
    line_cost: np.ndarray

    @property
    def count(self) -> int:
        return len(self.net)

    @property
    def online(self) -> np.ndarray:
        return np.asarray(self.purchases.channel != STORE, dtype=bool)


def build_orders(
    rng: np.random.Generator, world: World, c: Customers, p: Purchases, first_number: int
) -> Orders:
    """Baskets for every purchase; order numbers start at `first_number`."""
    cal, products = world.calendar, world.products
    n = p.count
    known = p.customer >= 0
    cust = np.maximum(p.customer, 0)
    business = known & c.is_business[cust]
    member = known & c.is_member_at(p.time, cust)
    day = cal.day_of(p.time)

    lines = np.where(p.channel == STORE, 1 + rng.poisson(0.8, n), 1 + rng.poisson(1.25, n))
    lines = np.where(business, 3 + rng.poisson(4, n), lines)
    line_order = np.repeat(np.arange(n), lines)
    m = len(line_order)
    favourite = np.where(known, c.favourite_category[cust], -1)[line_order]
    product = _pick_products(rng, world, favourite, day[line_order])
    online_line = p.channel[line_order] != STORE
    product = _substitute_out_of_stock(rng, world, product, p.time[line_order], online_line)
    # One line per product and order.
    key = line_order.astype(np.int64) * (products.count + 1) + product
    _, first_idx = np.unique(key, return_index=True)
    keep = np.sort(first_idx)
    line_order, product = line_order[keep], product[keep]
    m = len(line_order)
    extra_units = np.where(member[line_order], 0.3216, 0.18)
    quantity = 1 + rng.poisson(extra_units, m)
    quantity = np.where(business[line_order], rng.integers(5, 21, m), quantity)
    price = products.price[product]
    sale = cal.sale_discount[day[line_order]]
    markdown = np.where(rng.random(m) < 0.6, sale, 0.0)
    markdown = np.where(products.clearance[product], np.maximum(markdown, 0.3), markdown)
    coupon = np.where(p.induced[line_order], COUPON_RATE, 0.0)
    rate = 1 - (1 - markdown) * (1 - coupon)
    discount = (np.round(price * quantity * rate / 10) * 10).astype(np.int64)
    line_net = price * quantity - discount
    line_number = rank_within(line_order) + 1

    gross = np.bincount(line_order, weights=price * quantity, minlength=n).astype(np.int64)
    discount_sum = np.bincount(line_order, weights=discount, minlength=n).astype(np.int64)
    net = gross - discount_sum
    fulfilment = np.where(p.channel == STORE, "in_store", "delivery")
    near_store = known & (c.home_store[cust] >= 0)
    click_collect = np.isin(p.channel, [WEB, APP]) & near_store & (rng.random(n) < 0.14)
    fulfilment = np.where(click_collect, "click_collect", fulfilment)
    store = np.where(click_collect, c.home_store[cust], p.store)
    shipping = np.where(
        (fulfilment == "delivery") & (net < FREE_SHIPPING_FROM) & (p.channel != MARKETPLACE),
        SHIPPING_FEE,
        0,
    )
    total = net + shipping
    tax = np.round(total / 11).astype(np.int64)
    mix = PAYMENT_MIX[p.channel]
    payment = np.argmax(np.cumsum(mix, axis=1) >= rng.random(n)[:, None], axis=1)
    payment = np.where(business, 5, payment)
    cancel_p = np.where(p.channel == STORE, 0.004, 0.03)
    cancelled = (rng.random(n) < cancel_p) & ~p.induced
    cancel_time = np.minimum(p.time + rng.uniform(300, 2 * 86_400, n), cal.end_seconds - 1)
    return Orders(
        ids=make_ids("O", first_number + np.arange(n), 10),
        purchases=Purchases(
            p.customer, p.visitor, p.time, p.channel, store, p.campaign, p.induced, p.bad_experience
        ),
        fulfilment=fulfilment,
        cancelled=cancelled,
        cancel_time=cancel_time,
        gross=gross,
        discount=discount_sum,
        net=net,
        shipping=shipping,
        tax=tax,
        total=total,
        payment=payment,
        member=member,
        line_order=line_order,
        line_number=line_number,
        line_product=product,
        line_quantity=quantity,
        line_price=price,
        line_discount=discount,
        line_net=line_net,
        line_cost=products.cost[product],
    )


def _pick_products(
    rng: np.random.Generator, world: World, favourite: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Half from the customer's favourite category, the rest by overall popularity."""
    products = world.products
    m = len(day)
    cumulative = np.cumsum(products.popularity)
    pick = np.searchsorted(cumulative, rng.random(m) * cumulative[-1])
    for cat in range(len(ref.CATEGORIES)):
        rows = np.nonzero((favourite == cat) & (rng.random(m) < 0.5))[0]
        members = np.nonzero(products.category == cat)[0]
        if len(rows) and len(members):
            w = np.cumsum(products.popularity[members])
            pick[rows] = members[np.searchsorted(w, rng.random(len(rows)) * w[-1])]
    not_launched = products.launch_day[pick] > day
    fallback = np.searchsorted(cumulative, rng.random(m) * cumulative[-1])
    ok = products.launch_day[fallback] <= day
    return np.where(
        not_launched & ok,
        fallback,
        np.where(not_launched, np.argmax(products.popularity * (products.launch_day < 0)), pick),
    )


def _substitute_out_of_stock(
    rng: np.random.Generator,
    world: World,
    product: np.ndarray,
    time: np.ndarray,
    online: np.ndarray,
) -> np.ndarray:
    """Online shoppers cannot buy what the distribution centre lacks: they pick another."""
    result = product.copy()
    cumulative = np.cumsum(world.products.popularity)
    for _ in range(4):
        out = online & ~world.in_stock(result, time)
        if not out.any():
            break
        idx = np.nonzero(out)[0]
        result[idx] = np.searchsorted(cumulative, rng.random(len(idx)) * cumulative[-1])
    return result


def order_tables(
    world: World,
    c: Customers,
    o: Orders,
    status: np.ndarray,
    status_time: np.ndarray,
    session: pa.Array,
) -> dict[str, pa.Table]:
    """The orders and order_lines rows of a chunk."""
    cal, p = world.calendar, o.purchases
    n = o.count
    known = p.customer >= 0
    has_store = p.store >= 0
    marketplace = np.where(
        p.channel == MARKETPLACE,
        np.array(ref.MARKETPLACES)[np.arange(n) % len(ref.MARKETPLACES)],
        "",
    )
    has_campaign = p.campaign >= 0
    orders = pa.table(
        {
            "order_id": o.ids,
            "customer_id": take_ids(c.ids, p.customer, known),
            "channel": SALES_CHANNELS[p.channel],
            "store_id": take_ids(world.stores.ids, p.store, has_store),
            "marketplace": pa.array(marketplace, mask=p.channel != MARKETPLACE),
            "session_id": session,
            "placed_at": cal.to_utc(p.time),
            "status": status,
            "status_changed_at": cal.to_utc(status_time),
            "payment_method": PAYMENT_METHODS[o.payment],
            "fulfilment": o.fulfilment,
            "currency": [world.config.currency] * n,
            "gross_amount": money(o.gross),
            "discount_amount": money(o.discount),
            "net_amount": money(o.net),
            "shipping_amount": money(o.shipping),
            "tax_amount": money(o.tax),
            "total_amount": money(o.total),
            "campaign_id": take_ids(world.plan.ids, p.campaign, has_campaign),
            "coupon_code": pa.array(np.where(p.induced, "WINBACK10", ""), mask=~p.induced),
        }
    )
    lines = pa.table(
        {
            "order_id": o.ids.take(pa.array(o.line_order)),
            "line_number": o.line_number,
            "product_id": world.products.ids.take(pa.array(o.line_product)),
            "quantity": o.line_quantity,
            "unit_price": money(o.line_price),
            "discount_amount": money(o.line_discount),
            "net_amount": money(o.line_net),
            "unit_cost": money(o.line_cost),
        }
    )
    return {"orders": orders, "order_lines": lines}
