"""New-store catchment through the service layer: the customers living within a radius (or
a drive-time proxy) of a location or of a store, and how they buy against all customers
— channel mix, categories, frequency, AOV, CLV, lifecycle segments and distance to the
nearest current store (the computations are `omnikpi.audiences.catchment`).

The answer is aggregate: the roles with `Action.VIEW_CUSTOMER_AGGREGATES` may ask
(ActionDenied, HTTP 403, otherwise); reading customers' homes and profiles to compute it
stays here. For roles without customer-level access a cell describing fewer than
`Settings.min_cell_customers` customers is withheld — in the summary a whole group, in a
mix its counts and shares and the sibling that would give it back (the rule of
`omnikpi.services.suppression`, applied by its `suppress`) — and `suppressed` says why.

The base is the customers signed up by the window's end (the customer 360 as of that
day); the window is the last 365 days of data by default.

>>> answer = catchment_analysis(settings, Actor.cli(), CatchmentRequest(37.5, 127.0, 5.0))
... # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from omnikpi.audiences.catchment import (
    DISTANCE_BANDS,
    GROUPS,
    URBAN_SPEED_KMH,
    Catchment,
    catchment_members,
    category_mix,
    channel_mix,
    distance_mix,
    drive_time_radius_km,
    nearest_store_km,
    purchase_summary,
    segment_mix,
)
from omnikpi.auth import Action, check_allowed
from omnikpi.auth.audit import Actor
from omnikpi.customers.profile import customer_profiles, day_end
from omnikpi.customers.segments import SegmentRules
from omnikpi.customers.top import Window
from omnikpi.errors import ConfigError, DataError, UnknownValue
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.services.choices import StoreName, load_store_names
from omnikpi.services.customer_insights import parse_window
from omnikpi.services.customers import data_through, segment_rules
from omnikpi.services.suppression import sees_customers, suppress
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

__all__ = [
    "DEFAULT_CATCHMENT_WINDOW",
    "FACETS",
    "CatchmentAnswer",
    "CatchmentRequest",
    "catchment_analysis",
    "store_choices",
]

#: The purchase window unless asked: the last 365 days of data.
DEFAULT_CATCHMENT_WINDOW = "365d"
#: The mixes compared, in order: facet → the counts and shares of each group it has.
FACETS: dict[str, tuple[str, ...]] = {
    "channels": ("customers", "orders", "order_share", "revenue", "revenue_share"),
    "categories": ("customers", "revenue", "revenue_share"),
    "segments": ("customers", "share"),
    "distance_bands": ("customers", "share"),
}
#: The summary's figures per group (`customers` first: it decides suppression).
SUMMARY_FIGURES = (
    "customers",
    "buyers",
    "orders",
    "revenue",
    "orders_per_customer",
    "orders_per_buyer",
    "average_order_value",
    "revenue_per_customer",
    "lifetime_revenue_per_customer",
    "lifetime_gross_profit_per_customer",
    "clv_customers",
    "clv",
    "clv_per_customer",
)
#: How many valid store ids an unknown one's message lists.
STORE_SUGGESTIONS = 5


@dataclass(frozen=True)
class CatchmentRequest:
    """Where and how far: a centre (`latitude` and `longitude`, or `store_id`) and a radius
    (`radius_km`, or `drive_minutes` at `speed_kmh`); the purchase `window`."""

    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    store_id: str | None = None
    drive_minutes: float | None = None
    speed_kmh: float = URBAN_SPEED_KMH
    window: str | None = None


@dataclass(frozen=True)
class CatchmentAnswer:
    """The catchment against all customers: the circle asked, the window, per group the
    summary figures (`summary["catchment"]`, `summary["all"]`), per facet its rows (wide:
    `value`, then `catchment_<figure>` and `all_<figure>` for FACETS' figures), what CLV
    means here (`clv_basis`: `predicted` from the fitted models, else
    `historical_gross_profit`), the customers without a home location, and for roles
    without customer-level access the threshold and how many cells were withheld."""

    catchment: Catchment
    store_id: str | None
    store_name: str | None
    drive_minutes: float | None
    speed_kmh: float | None
    window: Window
    summary: dict[str, dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    clv_basis: str
    located_customers: int | None
    unlocated_customers: int | None
    minimum: int | None = None
    withheld: int = 0


def store_choices(settings: Settings) -> list[tuple[str, StoreName]]:
    """The stores a catchment can be centred on (those with a location): id and name, by
    id."""
    with read_warehouse(settings) as warehouse:
        if not warehouse.has_table("stores"):
            return []
        stores = warehouse.table("stores")
        located = stores.filter(stores.latitude.notnull(), stores.longitude.notnull())
        ids = sorted(str(i) for i in warehouse.execute(located.select("store_id"))["store_id"])
        names = load_store_names(warehouse, ids)
    return [(store_id, names[store_id]) for store_id in ids]


def catchment_analysis(
    settings: Settings, actor: Actor, request: CatchmentRequest
) -> CatchmentAnswer:
    """The catchment `request` describes against all customers (see the module docstring);
    InvalidChoice for a bad location or radius, UnknownValue for an unknown store,
    DataError when no customer has a home location."""
    check_allowed(actor.role, Action.VIEW_CUSTOMER_AGGREGATES, actor.scopes)
    radius = _radius(request)
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        store_id, store_name, centre = _centre(warehouse, request)
        catchment = Catchment(centre[0], centre[1], radius)
        window = parse_window(request.window or DEFAULT_CATCHMENT_WINDOW, data_through(warehouse))
        customers = warehouse.table("customers")
        located = warehouse.execute(
            customers.aggregate(
                customers=customers.count(),
                located=(customers.latitude.notnull() & customers.longitude.notnull()).sum(),
            )
        ).iloc[0]
        if not located["located"]:
            raise DataError(
                "no customer has a home location: load customers with latitude/longitude "
                "(postcode centroids) to analyse a catchment"
            )
        # Computed once (the customer 360 is the costly part), then read by each mix.
        population = ibis.memtable(
            warehouse.ibis.to_pyarrow(_population(warehouse, rules, window.end, catchment))
        )
        start = day_end(window.start - timedelta(days=1), warehouse.time_zone)
        end = day_end(window.end, warehouse.time_zone)
        orders = warehouse.table("orders")
        lines, products = warehouse.table("order_lines"), warehouse.table("products")
        summary = warehouse.execute(purchase_summary(population, orders, start, end))
        mixes = {
            "channels": channel_mix(population, orders, start, end).rename(value="channel"),
            "categories": category_mix(population, orders, lines, products, start, end).rename(
                value="category"
            ),
            "segments": segment_mix(population).rename(value="segment"),
            "distance_bands": distance_mix(population).rename(value="band"),
        }
        long = {facet: warehouse.execute(expr) for facet, expr in mixes.items()}
    clv_basis = "predicted" if summary["clv_customers"].sum() > 0 else "historical_gross_profit"
    groups = _summary(summary, clv_basis)
    facets = {facet: _wide(frame, facet) for facet, frame in long.items()}
    minimum = settings.min_cell_customers
    visible = sees_customers(actor.role)
    withheld = 0
    if not visible:
        groups, withheld = _suppress_summary(groups, minimum)
        for facet, frame in facets.items():
            facets[facet], hidden = _suppress_facet(frame, facet, minimum)
            withheld += hidden
    located_count, total = int(located["located"]), int(located["customers"])
    return CatchmentAnswer(
        catchment=catchment,
        store_id=store_id,
        store_name=store_name,
        drive_minutes=request.drive_minutes,
        speed_kmh=request.speed_kmh if request.drive_minutes is not None else None,
        window=window,
        summary=groups,
        facets={facet: _rows(frame) for facet, frame in facets.items()},
        clv_basis=clv_basis,
        located_customers=located_count if visible or located_count >= minimum else None,
        unlocated_customers=(
            total - located_count if visible or total - located_count >= minimum else None
        ),
        minimum=None if visible else minimum,
        withheld=withheld,
    )


# -- the request ------------------------------------------------------------------------------
def _radius(request: CatchmentRequest) -> float:
    if request.radius_km is not None and request.drive_minutes is not None:
        raise ConfigError("give a radius in km or drive minutes, not both")
    if request.drive_minutes is not None:
        return drive_time_radius_km(request.drive_minutes, request.speed_kmh)
    if request.radius_km is None:
        raise ConfigError("give a radius: --radius-km (e.g. 5) or --drive-minutes (e.g. 15)")
    return request.radius_km


def _centre(
    warehouse: Warehouse, request: CatchmentRequest
) -> tuple[str | None, str | None, tuple[float, float]]:
    """The store (id, name) and the centre's latitude and longitude."""
    given = request.latitude is not None or request.longitude is not None
    if request.store_id is not None and given:
        raise ConfigError("give a store or a latitude and longitude, not both")
    if request.store_id is None:
        if request.latitude is None or request.longitude is None:
            raise ConfigError(
                "give a location: a latitude and a longitude (e.g. --lat 37.5663 --lon "
                "126.9779) or a store (--store ID)"
            )
        return None, None, (request.latitude, request.longitude)
    stores = warehouse.table("stores") if warehouse.has_table("stores") else None
    frame = pd.DataFrame(columns=["store_id", "name", "latitude", "longitude"])
    if stores is not None:
        frame = warehouse.execute(stores.select("store_id", "name", "latitude", "longitude"))
    found = frame[frame["store_id"] == request.store_id]
    if found.empty:
        ids = sorted(str(s) for s in frame["store_id"])
        close = difflib.get_close_matches(request.store_id, ids, n=STORE_SUGGESTIONS)
        shown = close or ids[:STORE_SUGGESTIONS]
        raise UnknownValue("store", request.store_id, shown, len(ids) - len(shown))
    row = found.iloc[0]
    if pd.isna(row["latitude"]) or pd.isna(row["longitude"]):
        raise DataError(
            f'store "{request.store_id}" has no latitude/longitude; give the location '
            "with --lat and --lon"
        )
    return str(row["store_id"]), str(row["name"]), (float(row["latitude"]), float(row["longitude"]))


def _population(
    warehouse: Warehouse, rules: SegmentRules, as_of: date, catchment: Catchment
) -> ir.Table:
    """The customers of the base as of `as_of` with in_catchment, segment, lifetime revenue
    and gross profit, CLV and distance to the nearest current store: from the stored
    customer 360 when it describes that day with the rules in effect, else computed."""
    profiles: ir.Table | None = None
    if warehouse.has_table(CUSTOMER_PROFILES.name):
        row = warehouse.fetch_row(f'SELECT max(as_of), max(rules) FROM "{CUSTOMER_PROFILES.name}"')
        stored = None if row is None or row[0] is None else (pd.Timestamp(row[0]).date(), row[1])
        if stored == (as_of, rules.fingerprint):
            profiles = warehouse.table(CUSTOMER_PROFILES.name)
    if profiles is None:
        profiles = customer_profiles(warehouse, as_of, rules)
    customers = warehouse.table("customers")
    members = catchment_members(customers, catchment).select(
        "customer_id", _inside=ibis.literal(True)
    )
    distances = nearest_store_km(customers, warehouse.table("stores"), as_of)
    base = profiles.select("customer_id", "segment", "revenue", "gross_profit", "clv")
    joined = base.left_join(members, "customer_id").drop("customer_id_right")
    joined = joined.left_join(distances, "customer_id").drop("customer_id_right")
    return joined.mutate(in_catchment=joined._inside.fill_null(False)).drop("_inside")


# -- shaping -----------------------------------------------------------------------------------
def _summary(frame: pd.DataFrame, clv_basis: str) -> dict[str, dict[str, Any]]:
    """Per group, SUMMARY_FIGURES; `clv_per_customer` is the predicted CLV where the models
    scored customers, else the lifetime gross profit per customer."""
    groups: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        found = frame[frame["group"] == group]
        row: dict[str, Any] = _plain(found.iloc[0].to_dict()) if len(found) else {"customers": 0}
        basis = "clv" if clv_basis == "predicted" else "lifetime_gross_profit_per_customer"
        row["clv_per_customer"] = row.get(basis)
        groups[group] = {name: row.get(name) for name in SUMMARY_FIGURES}
    return groups


def _wide(frame: pd.DataFrame, facet: str) -> pd.DataFrame:
    """One row per value: `catchment_<figure>` and `all_<figure>` beside each other (0 where
    a group has none of it; shares none in a group with no rows), ordered by the bands or
    by all customers' figure."""
    figures = FACETS[facet]
    values = list(dict.fromkeys(frame["value"].astype(str)))
    if facet == "distance_bands":  # every band, in order, even one nobody is in
        values = [label for label, _, _ in DISTANCE_BANDS]
    wide = pd.DataFrame({"value": pd.Series(values, dtype=object)})
    for group in GROUPS:
        part = frame[frame["group"] == group]
        part = part.set_index(part["value"].astype(str))
        for figure in figures:
            filled = wide["value"].map(part[figure]).astype(float)
            if not figure.endswith("share") or len(part):  # a share of nothing is none
                filled = filled.fillna(0.0)
            counts = figure in ("customers", "orders")
            wide[f"{group}_{figure}"] = filled.astype(int) if counts else filled
    if facet == "distance_bands":
        return wide
    key = "all_revenue" if "revenue" in figures else "all_customers"
    return wide.sort_values([key, "value"], ascending=[False, True]).reset_index(drop=True)


def _suppress_summary(
    groups: dict[str, dict[str, Any]], minimum: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """A group of fewer than `minimum` customers (but some) has every figure withheld."""
    result, withheld = {}, 0
    for group, figures in groups.items():
        small = 0 < (figures.get("customers") or 0) < minimum
        result[group] = {
            **{name: None if small else value for name, value in figures.items()},
            "suppressed": "small_cell" if small else None,
        }
        withheld += small
    return result, withheld


def _suppress_facet(frame: pd.DataFrame, facet: str, minimum: int) -> tuple[pd.DataFrame, int]:
    """Per group, the cells of fewer than `minimum` customers withheld (their counts and
    shares) and, within the facet, the sibling that would give a lone one back;
    `<group>_suppressed` says why."""
    result = frame.copy()
    withheld = 0
    for group in GROUPS:
        counted = frame[f"{group}_customers"]
        work = pd.DataFrame(
            {
                "kpi": group,
                "period_start": facet,
                "item": frame["value"],
                "value": counted,
                "population": counted.where(counted > 0),
            }
        )
        hidden = suppress(work, minimum, ["item"])["suppressed"]
        for figure in FACETS[facet]:
            column = f"{group}_{figure}"
            result[column] = result[column].astype(object).where(hidden.isna(), None)
        result[f"{group}_suppressed"] = hidden
        withheld += int(hidden.notna().sum())
    return result, withheld


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in frame.to_dict("records")]


def _plain(row: dict[Any, Any]) -> dict[str, Any]:
    """Values as plain Python: None for missing, numbers as int/float."""
    plain: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            plain[str(name)] = None
        elif hasattr(value, "item"):
            plain[str(name)] = value.item()
        else:
            plain[str(name)] = value
    return plain
