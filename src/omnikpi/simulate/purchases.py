"""When customers buy and through which channel: BG/NBD repeat buying plus guest purchases.

Repeat purchasing follows the BG/NBD story (Fader, Hardie & Lee 2005): while alive a customer
buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase she drops out with probability
p ~ Beta(a, b) (never right after the first purchase, as in the model). Repeat purchases are
nudged by up to three days towards busy days (weekends, sale events), which keeps
inter-purchase times intact at the scale of weeks.

A repeat purchase goes badly with probability `bad_experience_probability` (planted): it is
delivered late (so it is an online order) and the customer then drops out with probability
1 - (1 - p)(1 - `bad_experience_dropout`) instead of p: the negative-experience segment's
lower retention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnikpi.simulate.calendar import DAY, ONLINE_HOUR_WEIGHT, STORE_HOUR_WEIGHT
from omnikpi.simulate.customers import Customers
from omnikpi.simulate.world import World

WEB, APP, STORE, MARKETPLACE, CALL = range(5)
MAX_PURCHASES = 400


@dataclass
class Purchases:
    """One row per purchase; `customer` is the chunk position or -1 for a guest, `visitor` the
    anonymous visitor of a web guest (else -1)."""

    customer: np.ndarray
    visitor: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    store: np.ndarray
    campaign: np.ndarray
    induced: np.ndarray
    bad_experience: np.ndarray

    @property
    def count(self) -> int:
        return len(self.time)

    def take(self, order: np.ndarray) -> Purchases:
        return Purchases(*(getattr(self, f)[order] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Purchases]) -> Purchases:
        fields = Purchases.__dataclass_fields__
        return Purchases(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def organic_purchases(rng: np.random.Generator, world: World, c: Customers) -> Purchases:
    """Every purchase of the chunk's customers, sorted by customer and time."""
    cal = world.calendar
    end = cal.end_seconds
    who = np.nonzero(c.purchaser)[0]
    planted = world.planted
    t = c.created[who].copy()
    customers = [who]
    times = [t.copy()]
    bad_flags = [np.zeros(len(who), dtype=bool)]
    alive = np.ones(len(who), dtype=bool)
    kept = 1 - planted.bad_experience_dropout
    for _ in range(MAX_PURCHASES):
        t = t + rng.exponential(1.0, len(who)) / c.rate[who] * DAY
        alive &= t < end
        if not alive.any():
            break
        bad = rng.random(len(who)) < planted.bad_experience_probability
        customers.append(who[alive])
        times.append(t[alive])
        bad_flags.append(bad[alive])
        stays = np.where(bad, (1 - c.dropout[who]) * kept, 1 - c.dropout[who])
        alive &= rng.random(len(who)) < stays
    customer = np.concatenate(customers)
    time = np.concatenate(times)
    bad_experience = np.concatenate(bad_flags)
    first = np.zeros(len(time), dtype=bool)
    first[: len(who)] = True
    # Nudge repeat purchases towards busy days within +-3 days.
    day = cal.day_of(time)
    offsets = np.arange(-3, 4)
    candidates = np.clip(day[:, None] + offsets[None, :], 0, cal.days - 1)
    weight = cal.online_weight[candidates] ** 2
    cumulative = np.cumsum(weight, axis=1)
    u = rng.random(len(day))[:, None] * cumulative[:, -1:]
    new_day = candidates[np.arange(len(day)), np.argmax(cumulative >= u, axis=1)]
    day = np.where(first, day, new_day)

    channel = _choose_channel(rng, world, c, customer, day)
    channel = np.where(first, _acquisition_channel_index(c)[customer], channel)
    channel = np.where(bad_experience & (channel == STORE), WEB, channel)  # late means shipped
    store = np.where(channel == STORE, c.home_store[customer], -1)
    closed = (channel == STORE) & (
        (store < 0) | (world.stores.open_day[np.maximum(store, 0)] > day)
    )
    channel = np.where(closed, WEB, channel)
    store = np.where(channel == STORE, store, -1)
    hour_weight = np.where((channel == STORE)[:, None], STORE_HOUR_WEIGHT, ONLINE_HOUR_WEIGHT)
    seconds = _time_of_day(rng, day, hour_weight)
    time = np.where(first, time, seconds)
    # Keep each customer's purchases after the first one and within the period.
    time = np.clip(time, c.created[customer], end - 1)
    order = np.lexsort((time, customer))
    n = len(time)
    return Purchases(
        customer=customer[order],
        visitor=np.full(n, -1),
        time=time[order],
        channel=channel[order],
        store=store[order],
        campaign=np.full(n, -1),
        induced=np.zeros(n, dtype=bool),
        bad_experience=bad_experience[order],
    )


def _acquisition_channel_index(c: Customers) -> np.ndarray:
    names = {"web": WEB, "app": APP, "store": STORE, "marketplace": MARKETPLACE, "call": CALL}
    return np.array([names[x] for x in c.acquisition_channel]) if c.count else np.zeros(0, int)


def _choose_channel(
    rng: np.random.Generator, world: World, c: Customers, customer: np.ndarray, day: np.ndarray
) -> np.ndarray:
    cal = world.calendar
    p = c.channel_propensity[customer].copy()
    p[:, STORE] *= cal.store_weight[day] / cal.store_weight.mean()
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(len(customer))[:, None]
    return np.asarray(np.argmax(np.cumsum(p, axis=1) >= u, axis=1), dtype=np.int64)


def _time_of_day(rng: np.random.Generator, day: np.ndarray, hour_weight: np.ndarray) -> np.ndarray:
    p = hour_weight / hour_weight.sum(axis=1, keepdims=True)
    u = rng.random(len(day))[:, None]
    hour = np.argmax(np.cumsum(p, axis=1) >= u, axis=1)
    seconds = day * DAY + hour * 3600 + rng.integers(0, 3600, len(day))
    return np.asarray(seconds, dtype=np.float64)


def guest_purchases(rng: np.random.Generator, world: World, n_customers: int) -> Purchases:
    """Store walk-ins who stay anonymous (web guests come with their sessions)."""
    cal, stores = world.calendar, world.stores
    n = rng.poisson(n_customers * 0.9)
    day = cal.sample_days(rng, cal.store_weight, np.zeros(n, int), np.full(n, cal.days - 1))
    weight = stores.size[: stores.count][None, :] * (
        stores.open_day[None, : stores.count] <= day[:, None]
    )
    cumulative = np.cumsum(weight, axis=1)
    u = rng.random(n)[:, None] * cumulative[:, -1:]
    store = np.argmax(cumulative >= u, axis=1)
    hour_weight = np.broadcast_to(STORE_HOUR_WEIGHT, (n, 24))
    return Purchases(
        customer=np.full(n, -1),
        visitor=np.full(n, -1),
        time=_time_of_day(rng, day, hour_weight),
        channel=np.full(n, STORE),
        store=store,
        campaign=np.full(n, -1),
        induced=np.zeros(n, dtype=bool),
        bad_experience=np.zeros(n, dtype=bool),
    )
