"""A small warehouse for the forget tests: the golden retailer (tests/kpi/golden_data.py)
with its customer C1 under a realistic id, found in every table that can refer to a
customer, and quarantined problems that show its values.

C1 has orders O1, O4, O6 and O11, sessions of visitors V1 and V4, a ticket; here it also
gets contact hashes, a touchpoint, a message, a survey, a review, loyalty points, an
invoice and two experiment assignments (one as a customer, one as its visitor V1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from omnikpi.ingest.quarantine import QUARANTINE
from omnikpi.kpi import load_catalog
from omnikpi.kpi.rollups import refresh_rollups
from omnikpi.model import table
from omnikpi.warehouse import Warehouse
from tests.kpi.golden_data import golden_tables, kst

#: The customer to forget, and what the warehouse holds of its e-mail and phone (keyed
#: hashes: the raw address and number never reach it).
CUSTOMER_ID = "cust-4f7a2c91"
RAW_EMAIL = "mina.kim@example.com"
RAW_PHONE = "+821012345678"
EMAIL_HASH = hashlib.sha256(f"test-key{RAW_EMAIL}".encode()).hexdigest()
PHONE_HASH = hashlib.sha256(f"test-key{RAW_PHONE}".encode()).hexdigest()
#: Visitors seen with the customer in the golden sessions.
VISITORS = ("V1", "V4")
#: Another customer, who must keep every row.
OTHER_CUSTOMER = "C2"


@dataclass(frozen=True)
class Extra:
    table: str
    rows: list[dict[str, object]]


def _extra_rows() -> list[Extra]:
    when = kst("2025-03-12 10:00")
    return [
        Extra(
            "touchpoints",
            [
                dict(
                    touchpoint_id="TP1",
                    customer_id=CUSTOMER_ID,
                    visitor_id="V1",
                    occurred_at=when,
                    channel="search",
                    campaign_id="K1",
                    kind="click",
                )
            ],
        ),
        Extra(
            "messages",
            [
                dict(
                    message_id="M1",
                    customer_id=CUSTOMER_ID,
                    campaign_id="K1",
                    channel="email",
                    sent_at=when,
                    delivered=True,
                    bounced=False,
                )
            ],
        ),
        Extra(
            "surveys",
            [
                dict(
                    response_id="R1",
                    kind="nps",
                    customer_id=CUSTOMER_ID,
                    responded_at=when,
                    score=9,
                    scale_max=10,
                )
            ],
        ),
        Extra(
            "reviews",
            [
                dict(
                    review_id="RW1",
                    product_id="P1",
                    order_id="O6",
                    customer_id=CUSTOMER_ID,
                    created_at=when,
                    rating=5,
                )
            ],
        ),
        Extra(
            "loyalty_ledger",
            [
                dict(
                    entry_id="L1",
                    customer_id=CUSTOMER_ID,
                    occurred_at=when,
                    kind="earn",
                    points=270,
                    order_id="O6",
                )
            ],
        ),
        Extra(
            "invoices",
            [
                dict(
                    invoice_id="I1",
                    customer_id=CUSTOMER_ID,
                    order_id="O6",
                    issued_at=when,
                    due_date=date(2025, 4, 12),
                    amount=Decimal("27000.00"),
                    currency="KRW",
                )
            ],
        ),
        Extra(
            "experiment_assignments",
            [
                dict(experiment_id="X1", unit_id=CUSTOMER_ID, variant="b", assigned_at=when),
                dict(experiment_id="X2", unit_id="V1", variant="a", assigned_at=when),
                dict(experiment_id="X2", unit_id="V9", variant="b", assigned_at=when),
            ],
        ),
    ]


def _renamed(data: pa.Table, name: str) -> pa.Table:
    """C1 as CUSTOMER_ID, with contact hashes on its customer row."""
    for column in ("customer_id",):
        if column in data.column_names:
            values = data.column(column)
            renamed = pc.if_else(pc.equal(values, "C1"), CUSTOMER_ID, values)
            data = data.set_column(data.column_names.index(column), column, renamed)
    if name == "customers":
        is_c1 = pc.equal(data.column("customer_id"), CUSTOMER_ID)
        for column, value in (("email_hash", EMAIL_HASH), ("phone_hash", PHONE_HASH)):
            hashed = pc.if_else(is_c1, value, data.column(column))
            data = data.set_column(data.column_names.index(column), column, hashed)
        cities = pc.if_else(is_c1, "Mapo-gu", data.column("city"))
        data = data.set_column(data.column_names.index("city"), "city", cities)
    return data


def _arrow(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = table(name).arrow_schema()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema})


def _quarantine() -> pa.Table:
    when = kst("2025-03-13 09:00")
    rows = [
        # a reference to the customer that failed, a row that could not be read, a hash
        ("orders.csv", 7, "orders", "customer_id", CUSTOMER_ID),
        ("orders.csv", 9, "orders", "", f"O99,{CUSTOMER_ID},web,extra"),
        ("customers.csv", 3, "customers", "email_hash", EMAIL_HASH),
        # another customer's problem stays
        ("orders.csv", 11, "orders", "customer_id", OTHER_CUSTOMER),
    ]
    return pa.table(
        {
            "batch_id": ["B1"] * len(rows),
            "source": [r[0] for r in rows],
            "row_number": [r[1] for r in rows],
            "table_name": [r[2] for r in rows],
            "column_name": [r[3] for r in rows],
            "value": [r[4] for r in rows],
            "reason": ["is not a known customer"] * len(rows),
            "quarantined_at": [when] * len(rows),
        }
    )


def build_forget_warehouse(path: Path, *, rollups: bool = True) -> Path:
    """The warehouse at `path`, with KPI rollups built unless `rollups` is false."""
    with Warehouse.create(path) as warehouse:
        for name, data in golden_tables().items():
            if data.num_rows:
                warehouse.append(name, _renamed(data, name))
        for extra in _extra_rows():
            warehouse.append(extra.table, _arrow(extra.table, extra.rows))
        warehouse.create_tables([QUARANTINE])
        warehouse.append(QUARANTINE.name, _quarantine(), QUARANTINE)
        if rollups:
            refresh_rollups(warehouse, load_catalog())
    return path


def text_columns(warehouse: Warehouse) -> list[tuple[str, str]]:
    """Every (table, column) of text in the warehouse, system tables included."""
    rows = warehouse.fetch_rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND data_type = 'VARCHAR' ORDER BY 1, 2"
    )
    return [(str(t), str(c)) for t, c in rows]


def find_text(
    warehouse: Warehouse, needles: tuple[str, ...], *, whole: bool = False
) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a text column holds one of `needles` inside a
    longer text (or, with `whole`, as its whole value)."""
    found = []
    test = '"{0}" = $n' if whole else 'contains("{0}", $n)'
    for name, column in text_columns(warehouse):
        for needle in needles:
            hit = warehouse.fetch_value(
                f'SELECT count(*) FROM main."{name}" WHERE {test.format(column)}', {"n": needle}
            )
            if hit:
                found.append((name, column, needle))
    return found
