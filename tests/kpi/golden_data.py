"""A tiny hand-written retailer for golden KPI tests.

All times are local (Asia/Seoul, UTC+9) and converted to UTC when loaded. Periods used by the
tests: March 2025 (main), February 2025 (previous month), March 2024 (year before). Weeks start
on Monday 2025-03-03; its year-over-year week (364 days earlier) starts Monday 2024-03-04.

Orders (net = merchandise after discount; "completed" = status paid or completed):

| order | customer | channel | placed (KST)     | status    | net    | payment    |
|-------|----------|---------|------------------|-----------|--------|------------|
| O1    | C1       | web     | 2024-03-04 10:00 | completed | 10,000 | card       |
| O2    | C2       | store   | 2024-03-05 15:00 | completed | 30,000 | card       |
| O3    | guest    | web     | 2024-03-06 20:00 | cancelled |  5,000 | card       |
| O4    | C1       | app     | 2025-02-24 09:00 | completed | 12,000 | mobile_pay |
| O5    | C3       | web     | 2025-02-26 21:00 | completed |  5,000 | card       |
| O6    | C1       | web     | 2025-03-03 07:30 | completed | 27,000 | card       |  (UTC: 3/2)
| O7    | C4       | web     | 2025-03-03 18:00 | completed | 22,000 | mobile_pay |
| O8    | C2       | store   | 2025-03-04 14:00 | completed | 12,000 | card       |
| O9    | guest    | web     | 2025-03-05 11:00 | cancelled | 30,000 | card       |
| O10   | C3       | app     | 2025-03-10 20:00 | paid      |  5,000 | mobile_pay |
| O11   | C1       | store   | 2025-03-11 12:00 | completed |  5,000 | cash       |
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa

from omnikpi.model import TABLES, table
from omnikpi.warehouse import Warehouse

KST = timezone(timedelta(hours=9))


def kst(text: str) -> datetime:
    """A local Seoul time as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=KST).astimezone(UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


def money(value: int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


PRODUCTS = [
    dict(
        product_id="P1",
        sku="S1",
        name="Toner",
        category="skincare",
        subcategory="toner",
        brand="A",
        list_price=money(5000),
        unit_cost=money(2000),
    ),
    dict(
        product_id="P2",
        sku="S2",
        name="Cushion",
        category="makeup",
        subcategory="cushion",
        brand="B",
        list_price=money(30000),
        unit_cost=money(12000),
    ),
    dict(
        product_id="P3",
        sku="S3",
        name="Serum",
        category="skincare",
        subcategory="serum",
        brand="A",
        list_price=money(12000),
        unit_cost=money(5000),
    ),
]
STORES = [
    dict(
        store_id="S1",
        name="Seoul store",
        kind="store",
        region="Seoul",
        city="Jung-gu",
        latitude=37.56,
        longitude=126.98,
        opened_on=d("2020-01-01"),
    ),
    dict(
        store_id="DC1",
        name="DC",
        kind="distribution_center",
        region="Gyeonggi",
        city="Icheon",
        latitude=37.27,
        longitude=127.43,
        opened_on=d("2020-01-01"),
    ),
]
CUSTOMERS = [
    dict(
        customer_id="C1",
        created_at=kst("2024-02-10 10:00"),
        region="Seoul",
        is_member=True,
        member_since=kst("2024-02-10 10:00"),
        email_opt_in_at=kst("2024-02-10 10:00"),
    ),
    dict(
        customer_id="C2",
        created_at=kst("2024-03-05 15:00"),
        region="Busan",
        home_store_id="S1",
        email_opt_in_at=kst("2024-03-05 15:00"),
        email_opt_out_at=kst("2025-03-04 12:00"),
    ),
    dict(
        customer_id="C3",
        created_at=kst("2025-02-20 12:00"),
        region="Seoul",
        is_member=True,
        member_since=kst("2025-03-05 09:00"),
    ),
    dict(
        customer_id="C4",
        created_at=kst("2025-03-02 11:00"),
        region="Busan",
        email_opt_in_at=kst("2025-03-02 11:00"),
    ),
]
#: (order, customer, channel, store, session, placed, status, payment, lines)
#: lines: (product, quantity, unit price, discount)
_ORDERS: list[tuple[Any, ...]] = [
    ("O1", "C1", "web", None, "SS1", "2024-03-04 10:00", "completed", "card", [("P1", 2, 5000, 0)]),
    (
        "O2",
        "C2",
        "store",
        "S1",
        None,
        "2024-03-05 15:00",
        "completed",
        "card",
        [("P2", 1, 30000, 0)],
    ),
    ("O3", None, "web", None, "SS3", "2024-03-06 20:00", "cancelled", "card", [("P1", 1, 5000, 0)]),
    (
        "O4",
        "C1",
        "app",
        None,
        "SS4",
        "2025-02-24 09:00",
        "completed",
        "mobile_pay",
        [("P3", 1, 12000, 0)],
    ),
    ("O5", "C3", "web", None, "SS5", "2025-02-26 21:00", "completed", "card", [("P1", 1, 5000, 0)]),
    (
        "O6",
        "C1",
        "web",
        None,
        "SS6",
        "2025-03-03 07:30",
        "completed",
        "card",
        [("P2", 1, 30000, 3000)],
    ),
    (
        "O7",
        "C4",
        "web",
        None,
        "SS7",
        "2025-03-03 18:00",
        "completed",
        "mobile_pay",
        [("P1", 2, 5000, 0), ("P3", 1, 12000, 0)],
    ),
    (
        "O8",
        "C2",
        "store",
        "S1",
        None,
        "2025-03-04 14:00",
        "completed",
        "card",
        [("P3", 1, 12000, 0)],
    ),
    (
        "O9",
        None,
        "web",
        None,
        "SS9",
        "2025-03-05 11:00",
        "cancelled",
        "card",
        [("P2", 1, 30000, 0)],
    ),
    (
        "O10",
        "C3",
        "app",
        None,
        "SS10",
        "2025-03-10 20:00",
        "paid",
        "mobile_pay",
        [("P1", 1, 5000, 0)],
    ),
    (
        "O11",
        "C1",
        "store",
        "S1",
        None,
        "2025-03-11 12:00",
        "completed",
        "cash",
        [("P1", 1, 5000, 0)],
    ),
]
#: (session, visitor, customer, channel, device, start, events)
#: events: (minutes after start, type, page type, product, extra)
_SESSIONS: list[tuple[Any, ...]] = [
    (
        "SS1",
        "V1",
        "C1",
        "web",
        "desktop",
        "2024-03-04 09:50",
        [
            (0, "page_view", "home", None, {}),
            (2, "product_view", "product", "P1", {}),
            (2, "page_view", "product", "P1", {}),
            (4, "add_to_cart", "product", "P1", {}),
            (6, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O1"}),
        ],
    ),
    ("SS2", "V2", None, "web", "mobile", "2024-03-04 12:00", [(0, "page_view", "home", None, {})]),
    (
        "SS3",
        "V3",
        None,
        "web",
        "desktop",
        "2024-03-06 19:50",
        [
            (0, "page_view", "product", "P1", {}),
            (0, "product_view", "product", "P1", {}),
            (3, "add_to_cart", "product", "P1", {}),
            (5, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O3"}),
        ],
    ),
    (
        "SS4",
        "V4",
        "C1",
        "app",
        "mobile",
        "2025-02-24 08:50",
        [
            (0, "page_view", "product", "P3", {}),
            (0, "product_view", "product", "P3", {}),
            (2, "add_to_cart", "product", "P3", {}),
            (5, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O4"}),
        ],
    ),
    (
        "SS5",
        "V5",
        "C3",
        "web",
        "desktop",
        "2025-02-26 20:50",
        [
            (0, "page_view", "product", "P1", {}),
            (0, "product_view", "product", "P1", {}),
            (3, "add_to_cart", "product", "P1", {}),
            (5, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O5"}),
        ],
    ),
    ("SS11", "V2", None, "web", "mobile", "2025-02-27 10:00", [(0, "page_view", "home", None, {})]),
    (
        "SS6",
        "V1",
        "C1",
        "web",
        "desktop",
        "2025-03-03 07:20",
        [
            (0, "page_view", "home", None, {}),
            (1, "page_view", "product", "P2", {}),
            (1, "product_view", "product", "P2", {}),
            (3, "add_to_cart", "product", "P2", {}),
            (6, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O6"}),
        ],
    ),
    (
        "SS7",
        "V6",
        "C4",
        "web",
        "mobile",
        "2025-03-03 17:50",
        [
            (0, "page_view", "search", None, {}),
            (0, "search", "search", None, {"search_query": "serum", "search_results": 5}),
            (1, "page_view", "product", "P1", {}),
            (1, "product_view", "product", "P1", {}),
            (2, "add_to_cart", "product", "P1", {}),
            (3, "page_view", "product", "P3", {}),
            (3, "product_view", "product", "P3", {}),
            (4, "add_to_cart", "product", "P3", {}),
            (6, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O7"}),
        ],
    ),
    (
        "SS8",
        "V2",
        None,
        "web",
        "mobile",
        "2025-03-03 20:00",
        [
            (0, "page_view", "search", None, {}),
            (0, "search", "search", None, {"search_query": "serun", "search_results": 0}),
            (2, "page_view", "product", "P2", {}),
            (2, "product_view", "product", "P2", {}),
        ],
    ),
    (
        "SS9",
        "V3",
        None,
        "web",
        "desktop",
        "2025-03-05 10:50",
        [
            (0, "page_view", "product", "P2", {}),
            (0, "product_view", "product", "P2", {}),
            (3, "add_to_cart", "product", "P2", {}),
            (5, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O9"}),
        ],
    ),
    (
        "SS10",
        "V7",
        "C3",
        "app",
        "mobile",
        "2025-03-10 19:50",
        [
            (0, "page_view", "product", "P1", {}),
            (0, "product_view", "product", "P1", {}),
            (3, "add_to_cart", "product", "P1", {}),
            (5, "begin_checkout", "checkout", None, {}),
            (10, "purchase", "checkout", None, {"order_id": "O10"}),
        ],
    ),
    (
        "SS12",
        "V2",
        None,
        "web",
        "mobile",
        "2025-03-10 09:00",
        [
            (0, "page_view", "home", None, {}),
            (1, "page_view", "product", "P3", {}),
            (1, "product_view", "product", "P3", {}),
            (2, "add_to_cart", "product", "P3", {}),
        ],
    ),
    (
        "SS13",
        "V8",
        None,
        "web",
        "desktop",
        "2025-03-11 00:30",
        [(0, "page_view", "home", None, {})],
    ),
]
#: (shipment, order, shipped, promised, delivered)
_SHIPMENTS = [
    ("SH1", "O1", "2024-03-04 18:00", "2024-03-06", "2024-03-05 14:00"),
    ("SH4", "O4", "2025-02-24 20:00", "2025-02-26", "2025-02-27 10:00"),
    ("SH5", "O5", "2025-02-27 10:00", "2025-02-28", "2025-02-28 16:00"),
    ("SH6", "O6", "2025-03-03 15:00", "2025-03-05", "2025-03-04 11:00"),
    ("SH7", "O7", "2025-03-04 09:00", "2025-03-05", "2025-03-06 15:00"),
    ("SH10", "O10", "2025-03-11 10:00", "2025-03-12", None),
]
#: (ticket, customer, order, channel, kind, opened, first response, resolved, SLA hours)
_TICKETS = [
    (
        "T4",
        None,
        None,
        "social",
        "inquiry",
        "2024-03-07 10:00",
        "2024-03-07 12:00",
        "2024-03-07 13:00",
        4.0,
    ),
    (
        "T3",
        "C2",
        None,
        "phone",
        "complaint",
        "2025-02-25 10:00",
        "2025-02-25 10:30",
        "2025-03-12 10:00",
        0.25,
    ),
    (
        "T2",
        "C1",
        None,
        "chat",
        "inquiry",
        "2025-03-03 12:00",
        "2025-03-03 12:03",
        "2025-03-03 12:30",
        0.1,
    ),
    (
        "T1",
        "C4",
        "O7",
        "email",
        "complaint",
        "2025-03-06 18:00",
        "2025-03-07 09:00",
        "2025-03-08 10:00",
        24.0,
    ),
]
#: (snapshot date, product, location, on hand)
_STOCK = [
    ("2025-03-30", "P1", "DC1", 10),
    ("2025-03-31", "P1", "DC1", 8),
    ("2025-03-30", "P1", "S1", 4),
    ("2025-03-31", "P2", "DC1", 3),
]


def golden_tables() -> dict[str, pa.Table]:
    """Every canonical table of the golden retailer (empty ones included)."""
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
    rows["products"] = [{**p, "currency": "KRW", "launched_on": d("2020-01-01")} for p in PRODUCTS]
    rows["stores"] = [{**s, "time_zone": "Asia/Seoul"} for s in STORES]
    rows["customers"] = [
        {
            "acquisition_channel": "web",
            "gender": "female",
            "is_member": False,
            "is_business": False,
            **c,
        }
        for c in CUSTOMERS
    ]
    for order, customer, channel, store, session, placed, status, payment, lines in _ORDERS:
        gross = sum(q * p for _, q, p, _ in lines)
        discount = sum(x for *_, x in lines)
        net = gross - discount
        rows["orders"].append(
            dict(
                order_id=order,
                customer_id=customer,
                channel=channel,
                store_id=store,
                session_id=session,
                placed_at=kst(placed),
                status=status,
                status_changed_at=kst(placed),
                payment_method=payment,
                fulfilment="in_store" if channel == "store" else "delivery",
                currency="KRW",
                gross_amount=money(gross),
                discount_amount=money(discount),
                net_amount=money(net),
                shipping_amount=money(0),
                tax_amount=money(round(net / 11)),
                total_amount=money(net),
            )
        )
        for number, (product, quantity, price, line_discount) in enumerate(lines, start=1):
            cost = next(p["unit_cost"] for p in PRODUCTS if p["product_id"] == product)
            rows["order_lines"].append(
                dict(
                    order_id=order,
                    line_number=number,
                    product_id=product,
                    quantity=quantity,
                    unit_price=money(price),
                    discount_amount=money(line_discount),
                    net_amount=money(quantity * price - line_discount),
                    unit_cost=cost,
                )
            )
    event_number = 0
    for session, visitor, customer, channel, device, start, events in _SESSIONS:
        started = kst(start)
        rows["sessions"].append(
            dict(
                session_id=session,
                visitor_id=visitor,
                customer_id=customer,
                channel=channel,
                device=device,
                started_at=started,
                traffic_source="direct",
                landing_page_type=events[0][2],
            )
        )
        for minutes, kind, page_type, product, extra in events:
            event_number += 1
            rows["events"].append(
                dict(
                    event_id=f"E{event_number:03d}",
                    session_id=session,
                    visitor_id=visitor,
                    customer_id=customer,
                    occurred_at=started + timedelta(minutes=minutes),
                    event_type=kind,
                    page_type=page_type,
                    page_path=f"/p/{product}" if product else f"/{page_type}",
                    product_id=product,
                    load_ms=1200 if kind == "page_view" else None,
                    **extra,
                )
            )
    for shipment, order, shipped, promised, delivered in _SHIPMENTS:
        rows["shipments"].append(
            dict(
                shipment_id=shipment,
                order_id=order,
                from_location_id="DC1",
                carrier="CJ",
                status="delivered" if delivered else "shipped",
                promised_date=d(promised),
                shipped_at=kst(shipped),
                delivered_at=kst(delivered) if delivered else None,
                parcels=1,
            )
        )
    for ticket, customer, order, channel, kind, opened, response, resolved, sla in _TICKETS:
        rows["tickets"].append(
            dict(
                ticket_id=ticket,
                customer_id=customer,
                order_id=order,
                channel=channel,
                kind=kind,
                topic="delivery" if order else "other",
                opened_at=kst(opened),
                first_response_at=kst(response),
                resolved_at=kst(resolved),
                escalated=False,
                sla_hours=sla,
            )
        )
    for snapshot, product, location, on_hand in _STOCK:
        rows["inventory_snapshots"].append(
            dict(
                snapshot_date=d(snapshot), product_id=product, location_id=location, on_hand=on_hand
            )
        )
    return {name: _arrow(name, values) for name, values in rows.items()}


def _arrow(name: str, values: list[dict[str, Any]]) -> pa.Table:
    schema = table(name).arrow_schema()
    columns = {f.name: [row.get(f.name) for row in values] for f in schema}
    return pa.table({n: pa.array(v, type=schema.field(n).type) for n, v in columns.items()})


def load_golden(warehouse: Warehouse) -> None:
    for name, rows in golden_tables().items():
        if rows.num_rows:
            warehouse.append(name, rows)
