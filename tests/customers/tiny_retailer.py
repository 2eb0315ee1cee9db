"""Eleven hand-made customers for the customer-analytics tests; the date is 2025-06-30.

All times are local Seoul times (the warehouse's default zone). Windows (segments.yaml
defaults): recent = the 90 days 2025-04-02..2025-06-30; value window = from 2024-07-01.
Orders are not cancelled unless said; each has one line.

Customers (signed up; orders as local date channel [store] net product x quantity):

- A 2024-01-10: 2024-02-01 web 10,000 P1x1; 2025-05-01 app 20,000 P2x2; 2025-06-20 store S1
  30,000 P1x3. Complaint 2025-06-01; NPS 9 (2025-01-05) then 5 (2025-06-05); sessions
  2024-03-01 and 2025-06-19; member since 2024-06-01 (silver); points +100 (05-01), -30
  burned (06-20), -10 expired on 2025-07-05 (after the date); e-mail consent given
  2024-01-10 and withdrawn 2025-03-01, SMS given 2024-01-10.
- B 2024-03-01: 2024-09-01 web 50,000; 2025-03-01 web 40,000; 2025-05-15 web 60,000 (parcel
  on time); 2025-06-25 app 50,000. An inquiry ticket.
- C 2025-06-15: 2025-06-16 web 15,000.
- D 2024-06-01: 2024-12-01 web 25,000; 2025-05-10 web 25,000.
- E 2024-05-01: 2025-02-15 web 30,000. Add to cart 2025-06-10.
- F 2024-01-05: 2024-08-01 store S1 20,000 (acquired in store).
- G 2024-02-01: no orders.  H 2025-06-20: no orders; a visit on 2025-06-30 (the data's
  last day).
- I 2024-04-01: 2025-04-10 web 10,000 (promised 04-12, delivered 04-15: late); 2025-06-01
  web 99,000 cancelled.
- J 2024-04-01: 2025-01-10 web 10,000. NPS 9 on 2025-06-01.
- K 2024-11-01: 2024-12-20 web 10,000; 2025-01-15 web 5,000. A 1-star review 2025-05-01.

P1 is skincare with unit cost 4,000; P2 makeup with unit cost 6,000.
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
AS_OF = date(2025, 6, 30)
MONTH_BEFORE = date(2025, 5, 31)


def kst(text: str) -> datetime:
    """A local Seoul time (a date alone is noon) as a UTC datetime."""
    if len(text) == 10:
        text += " 12:00"
    return datetime.fromisoformat(text).replace(tzinfo=KST).astimezone(UTC)


def money(value: int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


PRODUCTS = {"P1": ("skincare", 4000), "P2": ("makeup", 6000)}
#: id: (signed up, member since, tier, e-mail in, e-mail out, SMS in)
CUSTOMERS: dict[str, tuple[str, ...]] = {
    "A": ("2024-01-10", "2024-06-01", "silver", "2024-01-10", "2025-03-01", "2024-01-10"),
    "B": ("2024-03-01",),
    "C": ("2025-06-15",),
    "D": ("2024-06-01",),
    "E": ("2024-05-01",),
    "F": ("2024-01-05",),
    "G": ("2024-02-01",),
    "H": ("2025-06-20",),
    "I": ("2024-04-01",),
    "J": ("2024-04-01",),
    "K": ("2024-11-01",),
}
#: (order, customer, local day, channel, store, net, product, quantity, status)
ORDERS: list[tuple[str, str, str, str, str | None, int, str, int, str]] = [
    ("OA1", "A", "2024-02-01", "web", None, 10_000, "P1", 1, "completed"),
    ("OA2", "A", "2025-05-01", "app", None, 20_000, "P2", 2, "completed"),
    ("OA3", "A", "2025-06-20", "store", "S1", 30_000, "P1", 3, "completed"),
    ("OB1", "B", "2024-09-01", "web", None, 50_000, "P1", 1, "completed"),
    ("OB2", "B", "2025-03-01", "web", None, 40_000, "P1", 1, "completed"),
    ("OB3", "B", "2025-05-15", "web", None, 60_000, "P1", 1, "completed"),
    ("OB4", "B", "2025-06-25", "app", None, 50_000, "P1", 1, "completed"),
    ("OC1", "C", "2025-06-16", "web", None, 15_000, "P1", 1, "completed"),
    ("OD1", "D", "2024-12-01", "web", None, 25_000, "P1", 1, "completed"),
    ("OD2", "D", "2025-05-10", "web", None, 25_000, "P1", 1, "completed"),
    ("OE1", "E", "2025-02-15", "web", None, 30_000, "P1", 1, "completed"),
    ("OF1", "F", "2024-08-01", "store", "S1", 20_000, "P1", 1, "completed"),
    ("OI1", "I", "2025-04-10", "web", None, 10_000, "P1", 1, "completed"),
    ("OI2", "I", "2025-06-01", "web", None, 99_000, "P1", 1, "cancelled"),
    ("OJ1", "J", "2025-01-10", "web", None, 10_000, "P1", 1, "completed"),
    ("OK1", "K", "2024-12-20", "web", None, 10_000, "P1", 1, "completed"),
    ("OK2", "K", "2025-01-15", "web", None, 5_000, "P1", 1, "completed"),
]


def _tables() -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["stores"] = [
        dict(
            store_id="S1",
            name="Gangnam",
            kind="store",
            region="Seoul",
            city="Gangnam",
            latitude=37.5,
            longitude=127.0,
            opened_on=date(2020, 1, 1),
            time_zone="Asia/Seoul",
        )
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
    rows["customers"] = []
    for cid, values in CUSTOMERS.items():
        signed, member, tier, email_in, email_out, sms_in = (*values, *[None] * 5)[:6]
        rows["customers"].append(
            dict(
                customer_id=cid,
                created_at=kst(signed),
                acquisition_channel="store" if cid == "F" else "web",
                region="Seoul",
                gender="female",
                is_member=member is not None,
                member_since=kst(member) if member else None,
                member_tier=tier,
                email_opt_in_at=kst(email_in) if email_in else None,
                email_opt_out_at=kst(email_out) if email_out else None,
                sms_opt_in_at=kst(sms_in) if sms_in else None,
                is_business=False,
            )
        )
    rows["orders"], rows["order_lines"] = [], []
    for order, cid, day, channel, store, net, product, quantity, status in ORDERS:
        placed = kst(day)
        rows["orders"].append(
            dict(
                order_id=order,
                customer_id=cid,
                channel=channel,
                store_id=store,
                placed_at=placed,
                status=status,
                status_changed_at=placed,
                fulfilment="in_store" if store else "delivery",
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
                quantity=quantity,
                unit_price=money(net // quantity),
                discount_amount=money(0),
                net_amount=money(net),
                unit_cost=money(PRODUCTS[product][1]),
            )
        )
    rows["shipments"] = [
        dict(
            shipment_id="SH1",
            order_id="OI1",
            carrier="CJ",
            status="delivered",
            promised_date=date(2025, 4, 12),
            shipped_at=kst("2025-04-11"),
            delivered_at=kst("2025-04-15"),
            parcels=1,
        ),
        dict(  # B's parcel came on time
            shipment_id="SH2",
            order_id="OB3",
            carrier="CJ",
            status="delivered",
            promised_date=date(2025, 5, 17),
            shipped_at=kst("2025-05-16"),
            delivered_at=kst("2025-05-17"),
            parcels=1,
        ),
    ]
    rows["tickets"] = [
        dict(
            ticket_id="T1",
            customer_id="A",
            order_id="OA2",
            channel="email",
            kind="complaint",
            topic="product",
            opened_at=kst("2025-06-01"),
            escalated=False,
            sla_hours=24.0,
        ),
        dict(
            ticket_id="T2",
            customer_id="B",
            channel="chat",
            kind="inquiry",
            topic="other",
            opened_at=kst("2025-06-02"),
            escalated=False,
            sla_hours=1.0,
        ),
    ]
    rows["surveys"] = [
        dict(response_id="N1", kind="nps", customer_id="A", responded_at=kst("2025-01-05"),
             score=9, scale_max=10),
        dict(response_id="N2", kind="nps", customer_id="A", responded_at=kst("2025-06-05"),
             score=5, scale_max=10),
        dict(response_id="N3", kind="nps", customer_id="J", responded_at=kst("2025-06-01"),
             score=9, scale_max=10),
    ]  # fmt: skip
    rows["reviews"] = [
        dict(review_id="R1", product_id="P1", order_id="OK1", customer_id="K",
             created_at=kst("2025-05-01"), rating=1),
    ]  # fmt: skip
    rows["sessions"] = [
        dict(session_id=f"S{n}", visitor_id="VA", customer_id="A", channel="web",
             device="mobile", started_at=kst(day), traffic_source="direct",
             landing_page_type="home")
        for n, day in enumerate(["2024-03-01", "2025-06-19"], start=1)
    ] + [
        dict(session_id="S3", visitor_id="VE", customer_id="E", channel="web",
             device="mobile", started_at=kst("2025-06-10"), traffic_source="direct",
             landing_page_type="home"),
        dict(session_id="S4", visitor_id="VH", customer_id="H", channel="app",
             device="mobile", started_at=kst("2025-06-30 20:00"), traffic_source="direct",
             landing_page_type="home"),
    ]  # fmt: skip
    rows["events"] = [
        dict(event_id="E1", session_id="S3", visitor_id="VE", customer_id="E",
             occurred_at=kst("2025-06-10 12:05"), event_type="add_to_cart",
             page_type="product", page_path="/p/P1", product_id="P1")
    ]  # fmt: skip
    rows["loyalty_ledger"] = [
        dict(entry_id="L1", customer_id="A", occurred_at=kst("2025-05-01"), kind="earn",
             points=100, order_id="OA2"),
        dict(entry_id="L2", customer_id="A", occurred_at=kst("2025-06-20"), kind="burn",
             points=30, order_id="OA3"),
        dict(entry_id="L3", customer_id="A", occurred_at=kst("2025-07-05"), kind="expire",
             points=10),
    ]  # fmt: skip
    return rows


def _arrow(name: str, values: list[dict[str, Any]]) -> pa.Table:
    schema = table(name).arrow_schema()
    columns = {f.name: [row.get(f.name) for row in values] for f in schema}
    return pa.table({n: pa.array(v, type=schema.field(n).type) for n, v in columns.items()})


def build_tiny_retailer(path: Path) -> Path:
    """A warehouse at `path` holding the tiny retailer."""
    with Warehouse.create(path) as warehouse:
        for name, values in _tables().items():
            warehouse.append(name, _arrow(name, values))
    return path
