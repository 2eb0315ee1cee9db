"""New-store catchment: the customers whose home lies within a radius of a location, and
their purchase patterns against all customers, as pure Ibis expressions.

Distances are great-circle distances on a sphere of the Earth's mean radius (haversine
formula, R = 6,371.0088 km, the IUGG mean radius): between two points φ1, λ1 and φ2, λ2
in radians, a = sin²((φ2 - φ1)/2) + cos φ1 · cos φ2 · sin²((λ2 - λ1)/2) and
d = 2R · asin(√a). A customer's home is `customers.latitude/longitude` (postcode
centroids); customers without one are in no catchment.

A drive-time catchment is a radius: minutes × an assumed average speed (30 km/h, a
typical urban average including stops; configurable), so 15 minutes is 7.5 km.

The comparisons read a `population` table — one row per customer of the base with
`customer_id` and `in_catchment` (plus the profile columns a comparison needs) — and
answer in long form: one row per group (`catchment`, `all`) and value, with counts and
shares within the group.

>>> area = Catchment(37.5663, 126.9779, 5.0)
>>> members = catchment_members(warehouse.table("customers"), area)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from omnikpi.errors import InvalidChoice

__all__ = [
    "DISTANCE_BANDS",
    "EARTH_RADIUS_KM",
    "GROUPS",
    "MAX_RADIUS_KM",
    "URBAN_SPEED_KMH",
    "Catchment",
    "catchment_members",
    "category_mix",
    "channel_mix",
    "distance_band",
    "distance_mix",
    "drive_time_radius_km",
    "haversine_km",
    "nearest_store_km",
    "purchase_summary",
    "segment_mix",
]

#: The IUGG mean Earth radius in km (the sphere the haversine distance is measured on).
EARTH_RADIUS_KM = 6371.0088
#: The assumed average urban driving speed of a drive-time catchment, km/h.
URBAN_SPEED_KMH = 30.0
#: The largest radius asked about (a catchment, not a country).
MAX_RADIUS_KM = 500.0
#: Bands of distance to the nearest current store: (label, from km, to km; None: open).
DISTANCE_BANDS: tuple[tuple[str, float, float | None], ...] = (
    ("0-2", 0.0, 2.0),
    ("2-5", 2.0, 5.0),
    ("5-10", 5.0, 10.0),
    ("10+", 10.0, None),
)
#: The groups compared: the catchment's customers and all customers.
GROUPS = ("catchment", "all")
#: Store kinds that sell to customers (a distribution centre does not).
SELLING_KINDS = ("flagship", "store", "outlet")


@dataclass(frozen=True)
class Catchment:
    """A circle around a location: centre latitude and longitude in degrees (WGS84) and
    a radius in km; out-of-range values raise InvalidChoice naming the bound.

    >>> Catchment(37.5663, 126.9779, 5.0).radius_km
    5.0
    """

    latitude: float
    longitude: float
    radius_km: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0:
            raise InvalidChoice("latitude", str(self.latitude), "-90 to 90 degrees")
        if not -180.0 <= self.longitude <= 180.0:
            raise InvalidChoice("longitude", str(self.longitude), "-180 to 180 degrees")
        if not 0.0 < self.radius_km <= MAX_RADIUS_KM:
            raise InvalidChoice(
                "radius-km", f"{self.radius_km:g}", f"more than 0 and at most {MAX_RADIUS_KM:g} km"
            )


def drive_time_radius_km(minutes: float, speed_kmh: float = URBAN_SPEED_KMH) -> float:
    """The radius a drive of `minutes` covers at `speed_kmh` on average.

    >>> drive_time_radius_km(15)
    7.5
    """
    if not minutes > 0:
        raise InvalidChoice("drive-minutes", f"{minutes:g}", "more than 0")
    if not 0 < speed_kmh <= 200:
        raise InvalidChoice("speed-kmh", f"{speed_kmh:g}", "more than 0 and at most 200 km/h")
    return minutes / 60.0 * speed_kmh


def haversine_km(
    lat1: ir.NumericValue | float,
    lon1: ir.NumericValue | float,
    lat2: ir.NumericValue | float,
    lon2: ir.NumericValue | float,
) -> ir.FloatingValue:
    """The great-circle distance in km between two points given in degrees (see the
    module docstring), as an Ibis expression the engine computes."""
    phi1, phi2 = _radians(lat1), _radians(lat2)
    half_lat = (phi2 - phi1) / 2.0
    half_lon = (_radians(lon2) - _radians(lon1)) / 2.0
    a = half_lat.sin() ** 2 + phi1.cos() * phi2.cos() * half_lon.sin() ** 2
    # Rounding can push a a hair above 1 for antipodal points: asin would be NaN.
    a = ibis.least(a, 1.0)
    return (2.0 * EARTH_RADIUS_KM * a.sqrt().asin()).cast("float64")


def _radians(value: ir.NumericValue | float) -> ir.FloatingValue:
    expr = value if isinstance(value, ir.Value) else ibis.literal(float(value))
    return expr.cast("float64").radians()


def catchment_members(customers: ir.Table, catchment: Catchment) -> ir.Table:
    """The customers whose home lies within the catchment: customer_id and distance_km
    (to the centre; at most the radius, the edge included)."""
    located = customers.filter(customers.latitude.notnull(), customers.longitude.notnull())
    distance = haversine_km(
        located.latitude, located.longitude, catchment.latitude, catchment.longitude
    )
    measured = located.select("customer_id", distance_km=distance)
    return measured.filter(measured.distance_km <= catchment.radius_km)


def nearest_store_km(customers: ir.Table, stores: ir.Table, as_of: date) -> ir.Table:
    """Each located customer's distance to the nearest store open on `as_of` (opened by
    then, not closed by then; flagships, stores and outlets, not distribution centres):
    customer_id and nearest_store_km (null when no store is open)."""
    located = customers.filter(customers.latitude.notnull(), customers.longitude.notnull()).select(
        "customer_id", _lat="latitude", _lon="longitude"
    )
    day = ibis.literal(as_of)
    open_ = stores.filter(
        stores.kind.isin(SELLING_KINDS),
        stores.latitude.notnull(),
        stores.longitude.notnull(),
        stores.opened_on <= day,
        stores.closed_on.isnull() | (stores.closed_on > day),
    ).select(_store_lat="latitude", _store_lon="longitude")
    pairs = located.cross_join(open_)
    nearest = pairs.group_by("customer_id").aggregate(
        nearest_store_km=haversine_km(
            pairs._lat, pairs._lon, pairs._store_lat, pairs._store_lon
        ).min()
    )
    every = located.select("customer_id")
    return every.left_join(nearest, "customer_id").select("customer_id", "nearest_store_km")


def distance_band(km: ir.FloatingValue) -> ir.StringValue:
    """The DISTANCE_BANDS label of a distance (a band holds its lower bound, not its upper;
    null stays null)."""
    case = ibis.cases(
        *((km < upper, label) for label, _, upper in DISTANCE_BANDS if upper is not None),
        else_=DISTANCE_BANDS[-1][0],
    )
    return ibis.ifelse(km.isnull(), ibis.null("string"), case)


# -- comparisons ------------------------------------------------------------------------------
def _both(
    table: ir.Table, keys: Sequence[str], measure: Callable[[ir.Table], dict[str, ir.Value]]
) -> ir.Table:
    """The `measure`s per `keys` over the catchment's rows (group `catchment`) and over all
    rows (group `all`), stacked; `table` has `in_catchment`."""
    stacked = []
    for group, rows in (("catchment", table.filter(table.in_catchment)), ("all", table)):
        measures = measure(rows)
        counted = (
            rows.group_by(list(keys)).aggregate(**measures) if keys else rows.aggregate(**measures)
        )
        stacked.append(counted.select(ibis.literal(group).name("group"), *keys, *measures))
    return stacked[0].union(stacked[1])


def _share(table: ir.Table, column: str) -> ir.FloatingValue:
    """`column` as a share of its group's total (null when the total is 0)."""
    total = table[column].sum().over(group_by="group")
    return ibis.ifelse(total == 0, ibis.null("float64"), table[column] / total).cast("float64")


def _window_orders(
    population: ir.Table, orders: ir.Table, start: datetime, end: datetime
) -> ir.Table:
    """The population's orders placed in [start, end), not cancelled, with in_catchment."""
    placed = orders.filter(
        orders.customer_id.notnull(),
        orders.status != "cancelled",
        orders.placed_at >= ibis.literal(start),
        orders.placed_at < ibis.literal(end),
    )
    return placed.join(population.select("customer_id", "in_catchment"), "customer_id")


def channel_mix(population: ir.Table, orders: ir.Table, start: datetime, end: datetime) -> ir.Table:
    """Per group and channel: customers who ordered there, orders, revenue (net_amount)
    in [start, end), and the channel's share of the group's orders and revenue."""
    placed = _window_orders(population, orders, start, end)
    mix = _both(
        placed,
        ["channel"],
        lambda rows: {
            "customers": rows.customer_id.nunique(),
            "orders": rows.count(),
            "revenue": rows.net_amount.sum().cast("float64"),
        },
    )
    return mix.mutate(order_share=_share(mix, "orders"), revenue_share=_share(mix, "revenue"))


def category_mix(
    population: ir.Table,
    orders: ir.Table,
    order_lines: ir.Table,
    products: ir.Table,
    start: datetime,
    end: datetime,
) -> ir.Table:
    """Per group and product category: customers who bought it, line revenue (net_amount
    of the lines) in [start, end) and its share of the group's line revenue."""
    placed = _window_orders(population, orders, start, end).select(
        "order_id", "customer_id", "in_catchment"
    )
    lines = placed.join(order_lines.select("order_id", "product_id", "net_amount"), "order_id")
    sold = lines.join(products.select("product_id", "category"), "product_id")
    mix = _both(
        sold,
        ["category"],
        lambda rows: {
            "customers": rows.customer_id.nunique(),
            "revenue": rows.net_amount.sum().cast("float64"),
        },
    )
    return mix.mutate(revenue_share=_share(mix, "revenue"))


def segment_mix(population: ir.Table) -> ir.Table:
    """Per group and lifecycle segment (`population.segment`): customers and share."""
    mix = _both(population, ["segment"], lambda rows: {"customers": rows.count()})
    return mix.mutate(share=_share(mix, "customers"))


def distance_mix(population: ir.Table) -> ir.Table:
    """Per group and DISTANCE_BANDS band of `population.nearest_store_km`: customers and
    share, of the customers with a distance (no location or no store open: left out)."""
    measured = population.filter(population.nearest_store_km.notnull())
    banded = measured.mutate(band=distance_band(measured.nearest_store_km))
    mix = _both(banded, ["band"], lambda rows: {"customers": rows.count()})
    return mix.mutate(share=_share(mix, "customers"))


def purchase_summary(
    population: ir.Table, orders: ir.Table, start: datetime, end: datetime
) -> ir.Table:
    """Per group: customers, buyers (ordered in [start, end)), orders and revenue in the
    window, orders per customer and per buyer, AOV, revenue per customer; lifetime
    revenue and gross profit per customer (`population.revenue`, `gross_profit`, nulls as
    none), and the mean predicted CLV (`population.clv`) of the customers that have one."""
    placed = _window_orders(population, orders, start, end)
    per_customer = placed.group_by("customer_id").aggregate(
        _orders=placed.count(), _revenue=placed.net_amount.sum().cast("float64")
    )
    joined = population.left_join(per_customer, "customer_id").drop("customer_id_right")
    counted = joined.mutate(
        _orders=joined._orders.fill_null(0),
        _revenue=joined._revenue.fill_null(0.0),
        _lifetime_revenue=joined.revenue.cast("float64").fill_null(0.0),
        _gross_profit=joined.gross_profit.cast("float64").fill_null(0.0),
        _clv=joined.clv.cast("float64"),
    )
    summary = _both(
        counted,
        [],
        lambda rows: {
            "customers": rows.count(),
            "buyers": (rows._orders > 0).sum(),
            "orders": rows._orders.sum(),
            "revenue": rows._revenue.sum(),
            "lifetime_revenue": rows._lifetime_revenue.sum(),
            "lifetime_gross_profit": rows._gross_profit.sum(),
            "clv_customers": rows._clv.count(),
            "clv": rows._clv.mean(),
        },
    )
    # A sum over nobody is null in SQL; an empty catchment bought nothing.
    summed = ("buyers", "orders", "revenue", "lifetime_revenue", "lifetime_gross_profit")
    summary = summary.mutate(**{name: summary[name].fill_null(0) for name in summed})
    return summary.mutate(
        orders_per_customer=_ratio(summary.orders, summary.customers),
        orders_per_buyer=_ratio(summary.orders, summary.buyers),
        average_order_value=_ratio(summary.revenue, summary.orders),
        revenue_per_customer=_ratio(summary.revenue, summary.customers),
        lifetime_revenue_per_customer=_ratio(summary.lifetime_revenue, summary.customers),
        lifetime_gross_profit_per_customer=_ratio(summary.lifetime_gross_profit, summary.customers),
    )


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    return ibis.ifelse(
        denominator == 0, ibis.null("float64"), numerator.cast("float64") / denominator
    ).cast("float64")
