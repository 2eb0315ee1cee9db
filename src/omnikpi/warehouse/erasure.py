"""Erasing one customer's identity from every table of a warehouse (the right to be
forgotten), keeping every row that KPIs add up.

The customer's id is replaced by a *tombstone* — a random id, one per forgotten customer —
in every column that refers to a customer (found in the model: `customers.customer_id`
and every column referencing it, plus experiment units). Visitor ids seen with the
customer (sessions, events, touchpoints, experiment units) each get a random tombstone of
their own, so the anonymous browsing they link stays unlinked from the person. The
customer's row keeps what KPIs count by (created, channel, region, membership, consents)
and loses what identifies a person (`CLEARED_CUSTOMER_COLUMNS`). Quarantined problems
that show one of the customer's values are deleted.

Revenue, orders and every other total stay as they were; so do distinct counts (one
tombstone stands in for one customer, one visitor tombstone for one visitor). The price
of that: the forgotten customer's rows stay linked to each other under the tombstone
(their purchase history is still one history, of nobody in particular).

    >>> with warehouse.transaction():  # doctest: +SKIP
    ...     erased = erase_customer(warehouse, "C1", new_tombstone())
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa

from omnikpi.model import TABLES, Column, Table
from omnikpi.model import table as model_table
from omnikpi.warehouse.duckdb import Warehouse

#: What every tombstone starts with: a forgotten customer, or a visitor seen with one.
TOMBSTONE_PREFIX = "forgotten-"
VISITOR_TOMBSTONE_PREFIX = "forgotten-visitor-"
#: Columns that hold a customer id or a visitor id without referencing `customers`.
UNIT_COLUMNS: frozenset[tuple[str, str]] = frozenset({("experiment_assignments", "unit_id")})
#: The customer's own columns that identify a person, and what they become.
CLEARED_CUSTOMER_COLUMNS: Mapping[str, object] = {
    "city": None,
    "postcode": None,
    "latitude": None,
    "longitude": None,
    "home_store_id": None,
    "birth_year": None,
    "gender": "unknown",
    "email_hash": None,
    "phone_hash": None,
}
#: The quarantine: rows showing one of the customer's values are deleted.
_QUARANTINE = ("quarantine", "value")

FORGOTTEN_CUSTOMERS = Table(
    name="forgotten_customers",
    description=(
        "Customers forgotten on request: the tombstone that replaced each id, a keyed "
        "digest of the old id (so that a second request is recognised, and only with the "
        "key kept in the app-state store) and when."
    ),
    primary_key=("tombstone",),
    kind="system",
    group="warehouse",
    columns=(
        Column("tombstone", "string", "The random id that replaced the customer's."),
        Column("id_digest", "string", "HMAC-SHA256 of the forgotten id (hex)."),
        Column("forgotten_at", "timestamp", "When it was forgotten (UTC)."),
        Column("rows", "int", "Rows changed or removed."),
    ),
)


@dataclass(frozen=True)
class Erasure:
    """What erasing one customer did: rows changed (or removed) per table, and the
    earliest local date each canonical table changed at (None: any), for the rollups."""

    rows: dict[str, int] = field(default_factory=dict)
    changed: dict[str, date | None] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def new_tombstone(prefix: str = TOMBSTONE_PREFIX) -> str:
    """A random id, unrelated to anything it replaces.

    >>> new_tombstone().startswith("forgotten-")
    True
    """
    return f"{prefix}{secrets.token_hex(12)}"


def customer_columns() -> dict[str, tuple[str, ...]]:
    """Per canonical table, the columns that hold a customer id."""
    found: dict[str, tuple[str, ...]] = {}
    for table in TABLES:
        names = tuple(
            c.name
            for c in table.columns
            if _is_customer_column(table, c) or (table.name, c.name) in UNIT_COLUMNS
        )
        if names:
            found[table.name] = names
    return found


def visitor_columns() -> dict[str, tuple[str, ...]]:
    """Per canonical table, the columns that hold a visitor id."""
    found: dict[str, tuple[str, ...]] = {}
    for table in TABLES:
        names = tuple(
            c.name
            for c in table.columns
            if c.name == "visitor_id" or (table.name, c.name) in UNIT_COLUMNS
        )
        if names:
            found[table.name] = names
    return found


def _is_customer_column(table: Table, column: Column) -> bool:
    return column.references == "customers.customer_id" or (
        table.name == "customers" and column.name == "customer_id"
    )


def has_traces(warehouse: Warehouse, customer_id: str) -> bool:
    """Whether any canonical table still holds `customer_id`."""
    present = warehouse.table_set()
    checks = [
        f'EXISTS (SELECT 1 FROM main."{table}" WHERE "{column}" = $id)'
        for table, columns in customer_columns().items()
        if table in present
        for column in columns
    ]
    return bool(checks) and bool(
        warehouse.fetch_value(f"SELECT {' OR '.join(checks)}", {"id": customer_id})
    )


def erase_customer(warehouse: Warehouse, customer_id: str, tombstone: str) -> Erasure:
    """Replace `customer_id` by `tombstone` everywhere, give each visitor id seen with the
    customer a tombstone of its own, clear the customer's identifying columns and delete
    the quarantined problems that show one of its values. Run it inside a transaction."""
    present = warehouse.table_set()
    customers = {t: c for t, c in customer_columns().items() if t in present}
    visitors = {t: c for t, c in visitor_columns().items() if t in present}
    traces = _trace_values(warehouse, customer_id, present)
    linked = _linked_visitors(warehouse, customer_id, customers, visitors)
    rows: dict[str, int] = {}
    changed: dict[str, date | None] = {}
    visitor_map = pa.table(
        {
            "old": pa.array(linked, pa.string()),
            "new": pa.array([new_tombstone(VISITOR_TOMBSTONE_PREFIX) for _ in linked], pa.string()),
        }
    )
    with warehouse.registered("_forget_visitors", visitor_map):
        for name in sorted(set(customers) | set(visitors), key=_load_order):
            count, since = _rewrite(
                warehouse,
                name,
                customers.get(name, ()),
                visitors.get(name, ()),
                customer_id,
                tombstone,
            )
            if count:
                rows[name], changed[name] = count, since
    if _QUARANTINE[0] in present:
        removed = _forget_quarantined(warehouse, traces)
        if removed:
            rows[_QUARANTINE[0]] = removed
    return Erasure(rows, changed)


def _load_order(name: str) -> int:
    return [t.name for t in TABLES].index(name)


def _trace_values(warehouse: Warehouse, customer_id: str, present: set[str]) -> list[str]:
    """The customer's id and its keyed hashes of e-mail and phone."""
    values = [customer_id]
    if "customers" in present:
        row = warehouse.fetch_row(
            "SELECT email_hash, phone_hash FROM main.customers WHERE customer_id = $id",
            {"id": customer_id},
        )
        values += [str(v) for v in (row or ()) if v]
    return values


def _linked_visitors(
    warehouse: Warehouse,
    customer_id: str,
    customers: Mapping[str, tuple[str, ...]],
    visitors: Mapping[str, tuple[str, ...]],
) -> list[str]:
    """Visitor ids that appear in a row of the customer (a session, an event, ...)."""
    selects = [
        f'SELECT "{visitor}" AS v FROM main."{table}" WHERE "{column}" = $id'
        for table, columns in customers.items()
        for column in columns
        for visitor in visitors.get(table, ())
        if visitor != column
    ]
    if not selects:
        return []
    rows = warehouse.fetch_rows(
        f"SELECT DISTINCT v FROM ({' UNION ALL '.join(selects)}) WHERE v IS NOT NULL "
        "AND v <> $id ORDER BY v",
        {"id": customer_id},
    )
    return [str(v) for (v,) in rows]


def _rewrite(
    warehouse: Warehouse,
    name: str,
    customer: tuple[str, ...],
    visitor: tuple[str, ...],
    customer_id: str,
    tombstone: str,
) -> tuple[int, date | None]:
    """Rewrite one table's rows of the customer (and of its visitors) in one UPDATE; the
    rows changed and the local date of the earliest."""
    sets: dict[str, str] = {}
    matches = []
    for column in sorted(set(customer) | set(visitor)):
        value = quoted = f'"{column}"'
        if column in visitor:
            mapped = f"(SELECT m.new FROM _forget_visitors m WHERE m.old = {quoted})"
            value = f"coalesce({mapped}, {quoted})"
            matches.append(f"{quoted} IN (SELECT old FROM _forget_visitors)")
        if column in customer:
            value = f"CASE WHEN {quoted} = $id THEN $tombstone ELSE {value} END"
            matches.append(f"{quoted} = $id")
        sets[column] = value
    params: dict[str, object] = {"id": customer_id, "tombstone": tombstone}
    if name == "customers":  # only the customer's own row matches
        for column, cleared in CLEARED_CUSTOMER_COLUMNS.items():
            sets[column] = "NULL" if cleared is None else f"$cleared_{column}"
            if cleared is not None:
                params[f"cleared_{column}"] = cleared
    where = " OR ".join(matches)
    since = _earliest(warehouse, model_table(name), where, customer_id)
    assignments = ", ".join(f'"{column}" = {value}' for column, value in sets.items())
    count = warehouse.fetch_value(f'UPDATE main."{name}" SET {assignments} WHERE {where}', params)
    return int(count or 0), since


def _earliest(warehouse: Warehouse, table: Table, where: str, customer_id: str) -> date | None:
    """The local date (in the warehouse's zone, as loads date their changes) of the
    earliest row `where` selects."""
    time = table.time_column
    if time is None:
        return None
    params: dict[str, object] = {"id": customer_id}
    local = f'CAST(min("{time}") AS DATE)'
    if table.column(time).type == "timestamp":
        local = f'CAST(timezone($zone, min("{time}")) AS DATE)'
        params["zone"] = warehouse.time_zone
    value = warehouse.fetch_value(f'SELECT {local} FROM main."{table.name}" WHERE {where}', params)
    return value if isinstance(value, date) else None


def _forget_quarantined(warehouse: Warehouse, values: list[str]) -> int:
    """Delete the quarantined problems whose value is one of `values` or holds one as a
    whole word (a row that could not be read is kept whole)."""
    table, column = _QUARANTINE
    if not values:
        return 0
    patterns = [f"(^|[^A-Za-z0-9_]){_regex_escape(v)}($|[^A-Za-z0-9_])" for v in values]
    found = " OR ".join(
        f'"{column}" = $v{i} OR regexp_matches("{column}", $p{i})' for i in range(len(values))
    )
    params: dict[str, object] = {f"v{i}": v for i, v in enumerate(values)}
    params.update({f"p{i}": p for i, p in enumerate(patterns)})
    count = warehouse.fetch_value(f'DELETE FROM main."{table}" WHERE {found}', params)
    return int(count or 0)


def _regex_escape(text: str) -> str:
    """`text` as a literal in an RE2 pattern."""
    return "".join(f"\\{ch}" if not ch.isalnum() and ch != "_" else ch for ch in text)


def find_forgotten(warehouse: Warehouse, digest: str) -> tuple[str, datetime] | None:
    """The tombstone and time of an earlier forget of the id with `digest`, if any."""
    if FORGOTTEN_CUSTOMERS.name not in warehouse.table_set():
        return None
    row = warehouse.fetch_row(
        f"SELECT tombstone, timezone('UTC', forgotten_at) FROM {FORGOTTEN_CUSTOMERS.name} "
        "WHERE id_digest = $d ORDER BY forgotten_at LIMIT 1",
        {"d": digest},
    )
    return (str(row[0]), row[1].replace(tzinfo=UTC)) if row else None


def record_forgotten(
    warehouse: Warehouse, tombstone: str, digest: str, at: datetime, rows: int
) -> None:
    """Keep the tombstone with the keyed digest of the id it replaced."""
    warehouse.create_tables([FORGOTTEN_CUSTOMERS])
    warehouse.run_sql(
        f"DELETE FROM {FORGOTTEN_CUSTOMERS.name} WHERE tombstone = $t", {"t": tombstone}
    )
    warehouse.run_sql(
        f"INSERT INTO {FORGOTTEN_CUSTOMERS.name} VALUES ($t, $d, $at, $rows)",
        {"t": tombstone, "d": digest, "at": at, "rows": rows},
    )
