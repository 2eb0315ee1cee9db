"""Stores, the product range and stock: the static side of the simulated retailer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, money
from omnikpi.simulate.calendar import Calendar


@dataclass(frozen=True)
class Stores:
    """Stores (first rows) and the distribution centre (last row)."""

    ids: pa.Array
    kind: np.ndarray
    region: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    open_day: np.ndarray
    size: np.ndarray

    @property
    def count(self) -> int:
        return len(self.kind) - 1

    @property
    def dc(self) -> int:
        return len(self.kind) - 1


@dataclass(frozen=True)
class Products:
    ids: pa.Array
    category: np.ndarray
    price: np.ndarray
    cost: np.ndarray
    popularity: np.ndarray
    quality: np.ndarray
    launch_day: np.ndarray
    clearance: np.ndarray

    @property
    def count(self) -> int:
        return len(self.price)


def build_stores(
    rng: np.random.Generator, calendar: Calendar, count: int
) -> tuple[Stores, pa.Table]:
    """The first `count` stores of the reference list plus the distribution centre, named
    in English (`name`, as romanised) and in Korean (`name_ko`)."""
    rows = list(ref.STORES[:count])
    regions = [r[0] for r in ref.REGIONS]
    # Positive "opened" values are years before the period; negative ones a share into it.
    open_day = np.array(
        [int(-r[6] * 365) if r[6] > 0 else int(-r[6] * calendar.days) for r in rows]
    )
    dc = ref.DISTRIBUTION_CENTRE
    names = [r[0] for r in rows] + [dc[0]]
    kinds = [r[1] for r in rows] + ["distribution_center"]
    region = np.array([regions.index(r[2]) for r in rows] + [regions.index(dc[1])])
    cities = [r[3] for r in rows] + [dc[2]]
    lat = np.array([r[4] for r in rows] + [dc[3]])
    lon = np.array([r[5] for r in rows] + [dc[4]])
    area = np.array([r[7] for r in rows] + [np.nan])
    open_day = np.append(open_day, -3650)
    ids = make_ids("S", np.arange(1, len(names) + 1), 3)
    stores = Stores(ids, np.array(kinds), region, lat, lon, open_day, np.nan_to_num(area, nan=0))
    table = pa.table(
        {
            "store_id": ids,
            "name": names,
            "name_ko": [ref.STORE_NAMES_KO[name] for name in names],
            "name_en": pa.nulls(len(names), pa.string()),
            "kind": kinds,
            "region": [regions[i] for i in region],
            "city": cities,
            "latitude": lat,
            "longitude": lon,
            "opened_on": calendar.to_date(open_day),
            "closed_on": pa.nulls(len(names), pa.date32()),
            "time_zone": ["Asia/Seoul"] * len(names),
            "area_sqm": pa.array(area, mask=np.isnan(area)),
        }
    )
    return stores, table


def build_products(
    rng: np.random.Generator, calendar: Calendar, count: int, currency: str
) -> tuple[Products, pa.Table]:
    """A beauty range: categories, brands, prices, costs, popularity (Zipf) and launches."""
    shares = np.array([c[1] for c in ref.CATEGORIES])
    category = rng.choice(len(ref.CATEGORIES), size=count, p=shares / shares.sum())
    names, subcategories, prices = [], [], []
    brand = rng.integers(0, len(ref.BRANDS), size=count)
    ingredient = rng.integers(0, len(ref.INGREDIENTS), size=count)
    for i in range(count):
        subs = ref.CATEGORIES[category[i]][2]
        sub, low, high = subs[rng.integers(0, len(subs))]
        price = np.exp(rng.uniform(np.log(low), np.log(high)))
        prices.append(round(price / 100.0) * 100)
        subcategories.append(sub)
        names.append(f"{ref.BRANDS[brand[i]]} {ref.INGREDIENTS[ingredient[i]]} {sub.title()}")
    price_arr = np.array(prices, dtype=np.int64)
    cost = (np.round(price_arr * rng.uniform(0.22, 0.42, size=count) / 10) * 10).astype(np.int64)
    rank = rng.permutation(count) + 1
    popularity = 1.0 / rank**0.9
    popularity /= popularity.sum()
    launch_day = np.where(
        rng.random(count) < 0.12,
        rng.integers(min(30, calendar.days - 1), calendar.days, count),
        -400,
    )
    clearance = rng.random(count) < 0.08
    ids = make_ids("P", np.arange(1, count + 1), 5)
    products = Products(
        ids,
        category,
        price_arr,
        cost,
        popularity,
        rng.beta(8, 2, size=count),
        launch_day,
        clearance,
    )
    cat_names = [c[0] for c in ref.CATEGORIES]
    table = pa.table(
        {
            "product_id": ids,
            "sku": make_ids("SKU-", np.arange(100_001, 100_001 + count), 6),
            "name": names,
            "category": [cat_names[c] for c in category],
            "subcategory": subcategories,
            "brand": [ref.BRANDS[b] for b in brand],
            "list_price": money(price_arr),
            "unit_cost": money(cost),
            "currency": [currency] * count,
            "launched_on": calendar.to_date(launch_day),
            "discontinued_on": pa.nulls(count, pa.date32()),
        }
    )
    return products, table


def simulate_dc_stock(
    rng: np.random.Generator, calendar: Calendar, products: Products, daily_units: float
) -> tuple[np.ndarray, np.ndarray]:
    """Units on hand at the distribution centre per product and day, with stock-outs.

    Reorders at 10 days of cover with lead times of 4-12 days and occasional supplier delays;
    returns (on_hand[products, days], demand per product per day).
    """
    demand = products.popularity[:, None] * calendar.online_weight[None, :] * daily_units
    demand /= calendar.online_weight.mean()
    base = demand.mean(axis=1)
    on_hand = np.zeros((products.count, calendar.days), dtype=np.int64)
    stock = np.ceil(base * rng.uniform(15, 40, products.count)).astype(np.int64) + 5
    arrival_day = np.full(products.count, -1)
    arrival_qty = np.zeros(products.count, dtype=np.int64)
    for day in range(calendar.days):
        arriving = arrival_day == day
        stock[arriving] += arrival_qty[arriving]
        arrival_day[arriving] = -1
        sold = rng.poisson(demand[:, day])
        stock = np.maximum(stock - sold, 0)
        reorder = (stock < base * 10) & (arrival_day < 0)
        lead = rng.integers(4, 13, products.count) + np.where(
            rng.random(products.count) < 0.15, rng.integers(8, 25, products.count), 0
        )
        arrival_day = np.where(reorder, day + lead, arrival_day)
        arrival_qty = np.where(reorder, np.ceil(base * 30).astype(np.int64) + 5, arrival_qty)
        launched = products.launch_day <= day
        on_hand[:, day] = np.where(launched, stock, 0)
    return on_hand, demand


def inventory_tables(
    rng: np.random.Generator,
    calendar: Calendar,
    stores: Stores,
    products: Products,
    dc_on_hand: np.ndarray,
) -> pa.Table:
    """Daily snapshots at the distribution centre and weekly (Sunday) snapshots in stores."""
    days = np.arange(calendar.days)
    launched = products.launch_day[:, None] <= days[None, :]
    p_idx, d_idx = np.nonzero(launched)
    dc = pa.table(
        {
            "snapshot_date": calendar.to_date(d_idx),
            "product_id": products.ids.take(pa.array(p_idx)),
            "location_id": stores.ids.take(pa.array(np.full(len(p_idx), stores.dc))),
            "on_hand": dc_on_hand[p_idx, d_idx],
        }
    )
    sundays = days[calendar.weekday == 6]
    assortment = np.argsort(-products.popularity)[: max(20, int(products.count * 0.6))]
    s_grid, p_grid, d_grid = np.meshgrid(
        np.arange(stores.count), assortment, sundays, indexing="ij"
    )
    s_flat, p_flat, d_flat = s_grid.ravel(), p_grid.ravel(), d_grid.ravel()
    keep = (stores.open_day[s_flat] <= d_flat) & (products.launch_day[p_flat] <= d_flat)
    s_flat, p_flat, d_flat = s_flat[keep], p_flat[keep], d_flat[keep]
    level = products.popularity[p_flat] * products.count * stores.size[s_flat] / 20.0
    on_hand = rng.poisson(level + 1.0)
    on_hand[rng.random(len(on_hand)) < 0.03] = 0
    store = pa.table(
        {
            "snapshot_date": calendar.to_date(d_flat),
            "product_id": products.ids.take(pa.array(p_flat)),
            "location_id": stores.ids.take(pa.array(s_flat)),
            "on_hand": on_hand.astype(np.int64),
        }
    )
    return pa.concat_tables([dc, store])
