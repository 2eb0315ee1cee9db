"""The catchment computations on six hand-placed customers (tests/audiences/
catchment_data.py, where the distances are worked out by hand): haversine distances,
who lives within a radius, the nearest current store, and the mixes of the catchment
against all customers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest

from omnikpi.audiences.catchment import (
    EARTH_RADIUS_KM,
    Catchment,
    catchment_members,
    category_mix,
    channel_mix,
    distance_band,
    distance_mix,
    drive_time_radius_km,
    haversine_km,
    nearest_store_km,
    purchase_summary,
    segment_mix,
)
from omnikpi.errors import InvalidChoice
from omnikpi.warehouse import Warehouse
from tests.audiences.catchment_data import CITY_HALL, GANGNAM, build_catchment_retailer

AS_OF = date(2025, 6, 30)
#: The default window's instants: local 2024-07-01 00:00 to 2025-07-01 00:00 (KST, UTC+9).
START = datetime(2024, 6, 30, 15, tzinfo=UTC)
END = datetime(2025, 6, 30, 15, tzinfo=UTC)
#: Profile columns by hand: segment, lifetime revenue and gross profit (net minus unit
#: cost of the orders not cancelled, O3 included), predicted CLV where "scored".
PROFILES = {
    "H1": ("active", 60_000.0, 46_000.0, 100.0),
    "H2": ("hero", 50_000.0, 44_000.0, 300.0),
    "H3": ("active", 40_000.0, 36_000.0, None),
    "H4": ("lapsed", 60_000.0, 56_000.0, None),
    "H5": ("new", 20_000.0, 16_000.0, None),
    "H6": ("prospect", None, None, None),
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    path = build_catchment_retailer(tmp_path_factory.mktemp("catchment") / "c.duckdb")
    with Warehouse.open(path, read_only=True) as opened:
        yield opened


def population(warehouse: Warehouse, radius_km: float = 5.0) -> ir.Table:
    """The base as the service builds it, with the hand-made profile columns."""
    customers = warehouse.table("customers")
    inside = catchment_members(customers, Catchment(*CITY_HALL, radius_km)).select(
        "customer_id", _in=ibis.literal(True)
    )
    profiles = ibis.memtable(
        pd.DataFrame(
            [(cid, *values) for cid, values in PROFILES.items()],
            columns=["customer_id", "segment", "revenue", "gross_profit", "clv"],
        )
    )
    distances = nearest_store_km(customers, warehouse.table("stores"), AS_OF)
    joined = profiles.left_join(inside, "customer_id").drop("customer_id_right")
    joined = joined.left_join(distances, "customer_id").drop("customer_id_right")
    return joined.mutate(in_catchment=joined._in.fill_null(False)).drop("_in")


Cells = dict[tuple[str, str], tuple[Any, ...]]


def cells(frame: pd.DataFrame, key: str, *figures: str) -> Cells:
    """(group, value) → the figures, rounded to 6 decimals."""
    return rounded(
        {(row["group"], row[key]): tuple(row[f] for f in figures) for _, row in frame.iterrows()}
    )


def rounded(found: Cells) -> Cells:
    return {key: tuple(round(float(v), 6) for v in values) for key, values in found.items()}


def test_seoul_city_hall_to_gangnam_station_is_8_78_km(warehouse: Warehouse) -> None:
    distance = warehouse.execute(haversine_km(*CITY_HALL, *GANGNAM))
    # 0.0684° of latitude = 7.606 km, 0.0497° of longitude at 37.53° = 4.382 km.
    assert distance == pytest.approx(8.778, abs=0.001)
    assert warehouse.execute(haversine_km(*GANGNAM, *CITY_HALL)) == pytest.approx(distance)
    assert warehouse.execute(haversine_km(*CITY_HALL, *CITY_HALL)) == 0.0
    # One degree along a meridian is πR/180; half the equator is πR.
    assert warehouse.execute(haversine_km(0, 0, 1, 0)) == pytest.approx(111.19508, abs=1e-4)
    assert warehouse.execute(haversine_km(0, 0, 0, 180)) == pytest.approx(3.14159265 * 6371.0088)
    assert EARTH_RADIUS_KM == 6371.0088


def test_a_catchment_checks_its_centre_and_radius() -> None:
    for latitude, longitude, radius, name in (
        (90.5, 127.0, 5.0, "latitude"),
        (-91.0, 127.0, 5.0, "latitude"),
        (37.5, 180.1, 5.0, "longitude"),
        (37.5, 127.0, 0.0, "radius-km"),
        (37.5, 127.0, -3.0, "radius-km"),
        (37.5, 127.0, 500.5, "radius-km"),
    ):
        with pytest.raises(InvalidChoice, match=name):
            Catchment(latitude, longitude, radius)
    assert Catchment(90.0, -180.0, 500.0).radius_km == 500.0


def test_a_drive_time_is_a_radius_at_an_average_speed() -> None:
    assert drive_time_radius_km(15) == 7.5  # 15 min at 30 km/h
    assert drive_time_radius_km(20, speed_kmh=45) == 15.0
    with pytest.raises(InvalidChoice, match="drive-minutes"):
        drive_time_radius_km(0)
    with pytest.raises(InvalidChoice, match="speed-kmh"):
        drive_time_radius_km(10, speed_kmh=0)


@pytest.mark.parametrize(
    ("radius", "members"),
    [
        (0.5, {"H1"}),  # Myeongdong is 0.600 km away
        (5.0, {"H1", "H3"}),  # Hongdae is 5.051 km away
        (5.06, {"H1", "H3", "H6"}),
        (9.0, {"H1", "H2", "H3", "H6"}),
        (500.0, {"H1", "H2", "H3", "H4", "H6"}),  # H5 has no home location
    ],
)
def test_the_members_are_the_located_customers_within_the_radius(
    warehouse: Warehouse, radius: float, members: set[str]
) -> None:
    found = warehouse.execute(
        catchment_members(warehouse.table("customers"), Catchment(*CITY_HALL, radius))
    )
    assert set(found["customer_id"]) == members
    assert (found["distance_km"] <= radius).all()


def test_the_nearest_store_is_a_current_selling_one(warehouse: Warehouse) -> None:
    found = warehouse.execute(
        nearest_store_km(warehouse.table("customers"), warehouse.table("stores"), AS_OF)
    )
    nearest = dict(zip(found["customer_id"], found["nearest_store_km"], strict=True))
    # City Hall's distribution centre, closed store and future store do not count.
    assert nearest == pytest.approx(
        {"H1": 8.778, "H2": 0.0, "H3": 8.264, "H4": 0.0, "H6": 11.353}, abs=0.001
    )
    # Before S4 closed (2025-03-31), it was H1's nearest store, 0 km away.
    earlier = warehouse.execute(
        nearest_store_km(warehouse.table("customers"), warehouse.table("stores"), date(2025, 3, 1))
    )
    assert earlier.set_index("customer_id")["nearest_store_km"]["H1"] == 0.0


def test_bands_hold_their_lower_bound(warehouse: Warehouse) -> None:
    table = ibis.memtable({"km": [0.0, 1.999, 2.0, 4.9, 5.0, 10.0, 250.0, None]})
    bands = warehouse.execute(table.mutate(band=distance_band(table.km)))["band"].tolist()
    assert bands[:-1] == ["0-2", "0-2", "2-5", "2-5", "5-10", "10+", "10+"]
    assert bands[-1] is None or pd.isna(bands[-1])


def test_distance_bands_of_the_catchment_against_all(warehouse: Warehouse) -> None:
    frame = warehouse.execute(distance_mix(population(warehouse)))
    # All located: H2, H4 0-2; H1, H3 5-10; H6 10+ (H5 has no home). Catchment: H1, H3.
    assert cells(frame, "band", "customers", "share") == {
        ("all", "0-2"): (2, 0.4),
        ("all", "5-10"): (2, 0.4),
        ("all", "10+"): (1, 0.2),
        ("catchment", "5-10"): (2, 1.0),
    }


def test_channel_mix_counts_orders_and_revenue_of_the_window(warehouse: Warehouse) -> None:
    frame = warehouse.execute(
        channel_mix(population(warehouse), warehouse.table("orders"), START, END)
    )
    # Catchment H1, H3: O1 web 10,000, O2 store 30,000, O4 web 40,000 (O3 is before the
    # window, O5 cancelled). All: also O6 store 50,000, O7 app 60,000, O8 web 20,000; the
    # guest's O9 belongs to no customer.
    found = cells(
        frame, "channel", "customers", "orders", "revenue", "order_share", "revenue_share"
    )
    assert found == rounded(
        {
            ("catchment", "web"): (2, 2, 50_000, 2 / 3, 50 / 80),
            ("catchment", "store"): (1, 1, 30_000, 1 / 3, 30 / 80),
            ("all", "web"): (3, 3, 70_000, 3 / 6, 70 / 210),
            ("all", "store"): (2, 2, 80_000, 2 / 6, 80 / 210),
            ("all", "app"): (1, 1, 60_000, 1 / 6, 60 / 210),
        }
    )


def test_category_mix_shares_line_revenue(warehouse: Warehouse) -> None:
    frame = warehouse.execute(
        category_mix(
            population(warehouse),
            warehouse.table("orders"),
            warehouse.table("order_lines"),
            warehouse.table("products"),
            START,
            END,
        )
    )
    # Skincare (P1): O1 + O4 = 50,000 in the catchment; O1, O4, O7, O8 = 130,000 in all.
    assert cells(frame, "category", "customers", "revenue", "revenue_share") == rounded(
        {
            ("catchment", "skincare"): (2, 50_000, 0.625),
            ("catchment", "makeup"): (1, 30_000, 0.375),
            ("all", "skincare"): (4, 130_000, 130 / 210),
            ("all", "makeup"): (2, 80_000, 80 / 210),
        }
    )


def test_segment_mix(warehouse: Warehouse) -> None:
    frame = warehouse.execute(segment_mix(population(warehouse)))
    found = cells(frame, "segment", "customers", "share")
    assert found[("catchment", "active")] == (2, 1.0)
    assert len([key for key in found if key[0] == "catchment"]) == 1
    assert found[("all", "active")] == (2, round(2 / 6, 6))
    assert found[("all", "prospect")] == (1, round(1 / 6, 6))
    assert sum(v[0] for k, v in found.items() if k[0] == "all") == 6


def test_purchase_summary_by_hand(warehouse: Warehouse) -> None:
    frame = warehouse.execute(
        purchase_summary(population(warehouse), warehouse.table("orders"), START, END)
    )
    rows = {row["group"]: row for row in frame.to_dict("records")}
    catchment, every = rows["catchment"], rows["all"]
    assert (catchment["customers"], catchment["buyers"], catchment["orders"]) == (2, 2, 3)
    assert catchment["revenue"] == 80_000
    assert catchment["orders_per_customer"] == 1.5
    assert catchment["average_order_value"] == pytest.approx(80_000 / 3)
    assert catchment["revenue_per_customer"] == 40_000
    assert catchment["lifetime_revenue_per_customer"] == 50_000  # (60,000 + 40,000) / 2
    assert catchment["lifetime_gross_profit_per_customer"] == 41_000  # (46,000 + 36,000) / 2
    assert (catchment["clv_customers"], catchment["clv"]) == (1, 100.0)
    # All six: H6 bought nothing (its lifetime values count as 0), H5 has no home.
    assert (every["customers"], every["buyers"], every["orders"]) == (6, 5, 6)
    assert every["orders_per_customer"] == 1.0
    assert every["orders_per_buyer"] == 1.2
    assert every["average_order_value"] == 35_000
    assert every["lifetime_revenue_per_customer"] == pytest.approx(230_000 / 6)
    assert every["lifetime_gross_profit_per_customer"] == 33_000  # 198,000 / 6
    assert (every["clv_customers"], every["clv"]) == (2, 200.0)


def test_an_empty_catchment_has_a_summary_of_nobody(warehouse: Warehouse) -> None:
    # 1 km around a point in the Yellow Sea holds nobody.
    customers = warehouse.table("customers")
    assert warehouse.execute(catchment_members(customers, Catchment(36.0, 125.0, 1.0)).count()) == 0
    base = population(warehouse).mutate(in_catchment=ibis.literal(False))
    frame = warehouse.execute(purchase_summary(base, warehouse.table("orders"), START, END))
    empty = frame[frame["group"] == "catchment"].iloc[0]
    assert (empty["customers"], empty["orders"]) == (0, 0)
    assert pd.isna(empty["average_order_value"])
