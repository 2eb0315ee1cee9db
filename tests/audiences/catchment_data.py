"""Six hand-placed customers and five locations around Seoul for the catchment tests; the
data's last day is 2025-06-30, so the default window is 2024-07-01..2025-06-30.

Distances (haversine, R = 6,371.0088 km), checked by hand with the flat-earth
approximation that is exact to a few metres at this scale: 1° of latitude = 111.195 km,
1° of longitude = 111.195 km × cos(mean latitude).

The centre is Seoul City Hall (37.5663, 126.9779). Homes:

- H1 City Hall itself: 0 km.
- H3 Myeongdong (37.5636, 126.9838): Δ 0.0027° lat = 0.300 km, 0.0059° lon × cos 37.565°
  = 0.520 km → 0.600 km.
- H6 Hongdae (37.5563, 126.9220): 1.112 km and 0.0559° × 0.7927 × 111.195 = 4.927 km →
  5.051 km (just outside 5 km).
- H2 Gangnam Station (37.4979, 127.0276): 7.606 km and 4.382 km → 8.778 km.
- H4 Busan (35.1796, 129.0756): 265.39 km and 2.0977° × cos 36.373° = 187.82 km → 325.1 km.
- H5 has no home location.

Stores: S1 at Gangnam Station and S2 at the Busan home are open on 2025-06-30; at City Hall
there are a distribution centre (DC), a store closed on 2025-03-31 (S4) and one opening
2025-09-01 (S5), none of them current. Nearest current store: H1 8.778 km (S1), H2 0
(S1), H3 8.263 km (S1: 7.305 and 3.862 km), H4 0 (S2), H6 11.35 km (S1: 6.494 and
9.306 km).

Orders (net, one line each; P1 skincare costs 4,000, P2 makeup 6,000):

| order | customer | local day | channel | net | product |
|---|---|---|---|---|---|
| O1 | H1 | 2025-03-01 | web | 10,000 | P1 |
| O2 | H1 | 2025-06-30 | store | 30,000 | P2 |
| O3 | H1 | 2023-05-01 | app | 20,000 | P1 (before the window) |
| O4 | H3 | 2025-05-01 | web | 40,000 | P1 |
| O5 | H3 | 2025-05-02 | web | 99,000 | P1 (cancelled) |
| O6 | H2 | 2025-02-01 | store | 50,000 | P2 |
| O7 | H4 | 2025-01-01 | app | 60,000 | P1 |
| O8 | H5 | 2025-04-01 | web | 20,000 | P1 |
| O9 | guest | 2025-04-02 | app | 70,000 | P1 |

H6 has no orders. Everyone signed up on 2023-01-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from omnikpi.model import table
from omnikpi.warehouse import Warehouse

KST = timezone(timedelta(hours=9))
CITY_HALL = (37.5663, 126.9779)
GANGNAM = (37.4979, 127.0276)
HOMES: dict[str, tuple[float, float] | None] = {
    "H1": CITY_HALL,
    "H2": GANGNAM,
    "H3": (37.5636, 126.9838),
    "H4": (35.1796, 129.0756),
    "H5": None,
    "H6": (37.5563, 126.9220),
}
#: id, kind, location, opened, closed
STORES: list[tuple[str, str, tuple[float, float], date, date | None]] = [
    ("S1", "store", GANGNAM, date(2020, 1, 1), None),
    ("S2", "store", (35.1796, 129.0756), date(2020, 1, 1), None),
    ("DC", "distribution_center", CITY_HALL, date(2020, 1, 1), None),
    ("S4", "store", CITY_HALL, date(2020, 1, 1), date(2025, 3, 31)),
    ("S5", "store", CITY_HALL, date(2025, 9, 1), None),
]
PRODUCTS = {"P1": ("skincare", 4000), "P2": ("makeup", 6000)}
#: order, customer, local day, channel, net, product, status
ORDERS: list[tuple[str, str | None, str, str, int, str, str]] = [
    ("O1", "H1", "2025-03-01", "web", 10_000, "P1", "completed"),
    ("O2", "H1", "2025-06-30", "store", 30_000, "P2", "completed"),
    ("O3", "H1", "2023-05-01", "app", 20_000, "P1", "completed"),
    ("O4", "H3", "2025-05-01", "web", 40_000, "P1", "completed"),
    ("O5", "H3", "2025-05-02", "web", 99_000, "P1", "cancelled"),
    ("O6", "H2", "2025-02-01", "store", 50_000, "P2", "completed"),
    ("O7", "H4", "2025-01-01", "app", 60_000, "P1", "completed"),
    ("O8", "H5", "2025-04-01", "web", 20_000, "P1", "completed"),
    ("O9", None, "2025-04-02", "app", 70_000, "P1", "completed"),
]


def kst(day: str) -> datetime:
    """Noon of a local Seoul day, in UTC."""
    return datetime.fromisoformat(f"{day} 12:00").replace(tzinfo=KST).astimezone(UTC)


def money(value: int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _tables(homes: dict[str, tuple[float, float] | None]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["stores"] = [
        dict(
            store_id=store_id,
            name=f"Store {store_id}",
            kind=kind,
            region="Seoul",
            city="Seoul",
            latitude=place[0],
            longitude=place[1],
            opened_on=opened,
            closed_on=closed,
            time_zone="Asia/Seoul",
        )
        for store_id, kind, place, opened, closed in STORES
    ]
    rows["products"] = [
        dict(
            product_id=pid,
            sku=pid,
            name=pid,
            category=category,
            subcategory=category,
            brand="X",
            list_price=money(10_000),
            unit_cost=money(cost),
            currency="KRW",
        )
        for pid, (category, cost) in PRODUCTS.items()
    ]
    rows["customers"] = [
        dict(
            customer_id=cid,
            created_at=kst("2023-01-01"),
            acquisition_channel="web",
            region="Seoul",
            latitude=home[0] if home else None,
            longitude=home[1] if home else None,
            gender="female",
            is_member=False,
            is_business=False,
        )
        for cid, home in homes.items()
    ]
    rows["orders"], rows["order_lines"] = [], []
    for order, cid, day, channel, net, product, status in ORDERS:
        rows["orders"].append(
            dict(
                order_id=order,
                customer_id=cid,
                channel=channel,
                store_id="S1" if channel == "store" else None,
                placed_at=kst(day),
                status=status,
                status_changed_at=kst(day),
                fulfilment="in_store" if channel == "store" else "delivery",
                currency="KRW",
                gross_amount=money(net),
                discount_amount=money(0),
                net_amount=money(net),
                shipping_amount=money(0),
                tax_amount=money(net // 11),
                total_amount=money(net),
            )
        )
        rows["order_lines"].append(
            dict(
                order_id=order,
                line_number=1,
                product_id=product,
                quantity=1,
                unit_price=money(net),
                discount_amount=money(0),
                net_amount=money(net),
                unit_cost=money(PRODUCTS[product][1]),
            )
        )
    return rows


def _arrow(name: str, values: list[dict[str, Any]]) -> pa.Table:
    schema = table(name).arrow_schema()
    columns = {f.name: [row.get(f.name) for row in values] for f in schema}
    return pa.table({n: pa.array(v, type=schema.field(n).type) for n, v in columns.items()})


def build_catchment_retailer(
    path: Path, homes: dict[str, tuple[float, float] | None] | None = None
) -> Path:
    """A warehouse at `path` holding the catchment retailer (`homes` replace HOMES: e.g.
    none located)."""
    with Warehouse.create(path) as warehouse:
        for name, values in _tables(HOMES if homes is None else homes).items():
            warehouse.append(name, _arrow(name, values))
    return path
