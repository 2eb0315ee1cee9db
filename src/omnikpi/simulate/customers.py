"""Customers of one chunk: who they are, how they were acquired, and their latent behaviour."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, take_ids
from omnikpi.simulate.calendar import DAY, ONLINE_HOUR_WEIGHT, STORE_HOUR_WEIGHT
from omnikpi.simulate.world import World

SALES_CHANNELS = np.array(["web", "app", "store", "marketplace", "call"])
ACQUISITION_MIX = np.array([0.36, 0.22, 0.32, 0.08, 0.02])
#: Base channel propensity (web, app, store, marketplace, call) by acquisition channel.
CHANNEL_PROPENSITY = np.array(
    [
        [0.55, 0.12, 0.25, 0.07, 0.01],
        [0.12, 0.62, 0.18, 0.07, 0.01],
        [0.18, 0.1, 0.66, 0.05, 0.01],
        [0.12, 0.05, 0.08, 0.74, 0.01],
        [0.2, 0.05, 0.2, 0.05, 0.5],
    ]
)
ONLINE_SOURCES = np.array(
    [
        "direct",
        "organic_search",
        "paid_search",
        "display",
        "paid_social",
        "organic_social",
        "email",
        "affiliate",
        "referral",
    ]
)
ONLINE_SOURCE_MIX = np.array([0.2, 0.22, 0.2, 0.06, 0.12, 0.08, 0.02, 0.06, 0.04])
GENDERS = np.array(["female", "male", "other", "unknown"])


@dataclass
class Customers:
    """Arrays describing the customers of a chunk; times are simulator seconds, NaN = null."""

    index: np.ndarray
    ids: pa.Array
    created: np.ndarray
    acquisition_channel: np.ndarray
    acquisition_source: np.ndarray
    region: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    home_store: np.ndarray
    birth_year: np.ndarray
    gender: np.ndarray
    member_since: np.ndarray
    member_until: np.ndarray
    email_in: np.ndarray
    email_out: np.ndarray
    sms_in: np.ndarray
    sms_out: np.ndarray
    push_in: np.ndarray
    push_out: np.ndarray
    is_business: np.ndarray
    purchaser: np.ndarray
    rate: np.ndarray
    dropout: np.ndarray
    channel_propensity: np.ndarray
    app_user: np.ndarray
    web_device: np.ndarray
    favourite_category: np.ndarray

    @property
    def count(self) -> int:
        return len(self.index)

    def is_member_at(self, seconds: np.ndarray, who: np.ndarray) -> np.ndarray:
        since, until = self.member_since[who], self.member_until[who]
        return np.asarray((since <= seconds) & ~(until <= seconds), dtype=bool)


def simulate_customers(rng: np.random.Generator, world: World, first: int, n: int) -> Customers:
    """`n` customers numbered from `first`, acquired over the period with its seasonality."""
    cal, planted = world.calendar, world.planted
    index = np.arange(first, first + n)
    day = cal.sample_days(rng, cal.acquisition_weight, np.zeros(n, int), np.full(n, cal.days - 1))
    channel = rng.choice(5, size=n, p=ACQUISITION_MIX)
    online = channel <= 1
    created = np.where(
        channel == 2,
        cal.sample_seconds_in_day(rng, day, STORE_HOUR_WEIGHT),
        cal.sample_seconds_in_day(rng, day, ONLINE_HOUR_WEIGHT),
    ).astype(np.float64)
    source = np.where(online, rng.choice(ONLINE_SOURCES, size=n, p=ONLINE_SOURCE_MIX), "")
    shares = np.array([r[1] for r in ref.REGIONS])
    region = rng.choice(len(ref.REGIONS), size=n, p=shares / shares.sum())
    centre = np.array([[r[2], r[3]] for r in ref.REGIONS])
    lat = centre[region, 0] + rng.normal(0, 0.07, n)
    lon = centre[region, 1] + rng.normal(0, 0.09, n)
    home_store = _nearest_open_store(world, lat, lon, day)
    birth_year = np.clip(np.round(rng.normal(1990, 9.5, n)), 1950, 2008).astype(np.int64)
    gender = rng.choice(GENDERS, size=n, p=[0.77, 0.19, 0.01, 0.03])
    is_business = rng.random(n) < 0.004
    channel = np.where(is_business, 4, channel)

    member = (rng.random(n) < 0.45) & ~is_business
    member_since = np.where(member, created + rng.integers(0, 600, n), np.nan)
    leaves = member & (rng.random(n) < 0.04)
    member_until = np.where(leaves, member_since + rng.uniform(60, 500, n) * DAY, np.nan)
    member_until = np.where(member_until < cal.end_seconds, member_until, np.nan)

    email_in = _consent(rng, created, np.where(member, 0.7, 0.45), cal.end_seconds)
    sms_in = _consent(rng, created, np.where(member, 0.5, 0.3), cal.end_seconds)
    app_user = (channel == 1) | (rng.random(n) < 0.25)
    push_in = np.where(app_user, _consent(rng, created, np.full(n, 0.6), cal.end_seconds), np.nan)
    purchaser = rng.random(n) < 0.9
    rate = rng.gamma(planted.r, 1.0 / planted.alpha, n)
    rate = np.where(member, rate * planted.member_rate_multiplier, rate)
    dropout = rng.beta(planted.a, planted.b, n)
    propensity = rng.dirichlet(np.ones(5), n) * 0.25 + CHANNEL_PROPENSITY[channel] * 0.75
    # Stores only for customers with a store nearby, calls only for business accounts.
    propensity[:, 2] *= home_store >= 0
    propensity[:, 4] = propensity[:, 4] * 0.3
    propensity /= propensity.sum(axis=1, keepdims=True)
    # Business accounts order by phone, on invoice.
    propensity[is_business] = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    return Customers(
        index=index,
        ids=make_ids("C", index + 1, 8),
        created=created,
        acquisition_channel=SALES_CHANNELS[channel],
        acquisition_source=source,
        region=region,
        latitude=lat,
        longitude=lon,
        home_store=home_store,
        birth_year=birth_year,
        gender=gender,
        member_since=member_since,
        member_until=member_until,
        email_in=email_in,
        email_out=_withdrawal(rng, email_in, 0.06, cal.end_seconds),
        sms_in=sms_in,
        sms_out=_withdrawal(rng, sms_in, 0.08, cal.end_seconds),
        push_in=push_in,
        push_out=_withdrawal(rng, push_in, 0.1, cal.end_seconds),
        is_business=is_business,
        purchaser=purchaser,
        rate=rate,
        dropout=dropout,
        channel_propensity=propensity,
        app_user=app_user,
        web_device=rng.choice(3, size=n, p=[0.32, 0.62, 0.06]),
        favourite_category=rng.integers(0, len(ref.CATEGORIES), n),
    )


def _consent(
    rng: np.random.Generator, created: np.ndarray, p_at_signup: np.ndarray, end: int
) -> np.ndarray:
    """Opt-in times: at sign-up with probability p, later for a tenth of the others."""
    n = len(created)
    at_signup = rng.random(n) < p_at_signup
    later = ~at_signup & (rng.random(n) < 0.1)
    when = np.where(
        at_signup, created + 1, np.where(later, created + rng.uniform(5, 400, n) * DAY, np.nan)
    )
    return np.where(when < end, when, np.nan)


def _withdrawal(rng: np.random.Generator, opt_in: np.ndarray, p: float, end: int) -> np.ndarray:
    """Opt-out times in account settings (unsubscribes from messages are added later)."""
    n = len(opt_in)
    when = np.where(rng.random(n) < p, opt_in + rng.uniform(1, 500, n) * DAY, np.nan)
    return np.where(when < end, when, np.nan)


def _nearest_open_store(
    world: World, lat: np.ndarray, lon: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Nearest store open on the day of acquisition within 60 km, else -1."""
    stores = world.stores
    n_stores = stores.count
    d_lat = lat[:, None] - stores.latitude[None, :n_stores]
    d_lon = (lon[:, None] - stores.longitude[None, :n_stores]) * np.cos(np.radians(36.5))
    km = np.hypot(d_lat, d_lon) * 111.0
    km = np.where(stores.open_day[None, :n_stores] <= day[:, None] + 180, km, np.inf)
    nearest = np.argmin(km, axis=1)
    return np.where(km[np.arange(len(lat)), nearest] < 60, nearest, -1)


def pseudonym(kind: str, index: np.ndarray, key: bytes) -> list[str]:
    """Keyed BLAKE2 hashes standing in for pseudonymized e-mail addresses or phone numbers."""
    return [
        hashlib.blake2b(f"{kind}:{i}".encode(), key=key, digest_size=16).hexdigest() for i in index
    ]


def customers_table(world: World, c: Customers, tier: np.ndarray, key: bytes) -> pa.Table:
    """The `customers` rows of a chunk (after CRM has added unsubscribes)."""
    cal = world.calendar
    regions = np.array([r[0] for r in ref.REGIONS])

    def ts(values: np.ndarray) -> pa.Array:
        return cal.to_utc(np.nan_to_num(values), ~np.isnan(values))

    has_store = c.home_store >= 0
    member_now = ~np.isnan(c.member_since) & np.isnan(c.member_until)
    source_valid = c.acquisition_source != ""
    return pa.table(
        {
            "customer_id": c.ids,
            "created_at": ts(c.created),
            "acquisition_channel": c.acquisition_channel,
            "acquisition_source": pa.array(c.acquisition_source, mask=~source_valid),
            "region": regions[c.region],
            "city": pa.nulls(c.count, pa.string()),
            "postcode": pa.nulls(c.count, pa.string()),
            "latitude": np.round(c.latitude, 4),
            "longitude": np.round(c.longitude, 4),
            "home_store_id": take_ids(world.stores.ids, c.home_store, has_store),
            "birth_year": c.birth_year,
            "gender": c.gender,
            "is_member": member_now,
            "member_since": ts(c.member_since),
            "member_until": ts(c.member_until),
            "member_tier": pa.array(tier, mask=~member_now),
            "email_opt_in_at": ts(c.email_in),
            "email_opt_out_at": ts(c.email_out),
            "sms_opt_in_at": ts(c.sms_in),
            "sms_opt_out_at": ts(c.sms_out),
            "push_opt_in_at": ts(c.push_in),
            "push_opt_out_at": ts(c.push_out),
            "email_hash": pseudonym("email", c.index, key),
            "phone_hash": pseudonym("phone", c.index, key),
            "is_business": c.is_business,
        }
    )
