"""The simulated warehouse obeys the model and business logic."""

from __future__ import annotations

import pytest

from omnikpi.model import TABLES
from omnikpi.warehouse import Warehouse
from tests.conftest import SIM_END, query, scalar


def test_every_model_table_is_populated_by_the_demo(sim: Warehouse) -> None:
    counts = sim.row_counts()
    empty = [t.name for t in TABLES if counts.get(t.name, 0) == 0]
    assert empty == []


@pytest.mark.parametrize("t", TABLES, ids=lambda t: t.name)
def test_keys_are_unique_and_required_columns_filled(sim: Warehouse, t: object) -> None:
    from omnikpi.model import Table

    assert isinstance(t, Table)
    keys = ", ".join(f'"{k}"' for k in t.primary_key)
    duplicates = scalar(
        sim,
        f'SELECT count(*) FROM (SELECT {keys} FROM "{t.name}" GROUP BY {keys} HAVING count(*) > 1)',
    )
    assert duplicates == 0
    for column in t.columns:
        if not column.nullable:
            nulls = scalar(sim, f'SELECT count(*) FROM "{t.name}" WHERE "{column.name}" IS NULL')
            assert nulls == 0, f"{t.name}.{column.name}"
        if column.enum is not None:
            values = {
                r[0]
                for r in query(
                    sim,
                    f'SELECT DISTINCT "{column.name}" FROM "{t.name}" '
                    f'WHERE "{column.name}" IS NOT NULL',
                )
            }
            assert values <= set(column.allowed_values), f"{t.name}.{column.name}: {values}"


@pytest.mark.parametrize(
    ("t", "column"),
    [(t, c) for t in TABLES for c in t.foreign_keys],
    ids=lambda x: getattr(x, "name", ""),
)
def test_no_orphan_keys(sim: Warehouse, t: object, column: object) -> None:
    from omnikpi.model import Column, Table

    assert isinstance(t, Table)
    assert isinstance(column, Column)
    assert column.references
    target, key = column.references.split(".")
    orphans = scalar(
        sim,
        f'SELECT count(*) FROM "{t.name}" s WHERE s."{column.name}" IS NOT NULL AND NOT EXISTS '
        f'(SELECT 1 FROM "{target}" r WHERE r."{key}" = s."{column.name}")',
    )
    assert orphans == 0, f"{t.name}.{column.name} -> {column.references}"


def test_order_totals_equal_line_sums_minus_discounts(sim: Warehouse) -> None:
    bad = scalar(
        sim,
        """
        SELECT count(*) FROM orders o JOIN (
            SELECT order_id, sum(quantity * unit_price) AS gross, sum(discount_amount) AS disc,
                   sum(net_amount) AS net,
                   count(*) FILTER (WHERE net_amount <> quantity * unit_price - discount_amount)
                     AS bad_lines
            FROM order_lines GROUP BY order_id) l USING (order_id)
        WHERE o.gross_amount <> l.gross OR o.discount_amount <> l.disc
           OR o.net_amount <> l.gross - l.disc OR o.net_amount <> l.net OR l.bad_lines > 0
           OR o.total_amount <> o.net_amount + o.shipping_amount""",
    )
    assert bad == 0
    without_lines = scalar(
        sim,
        "SELECT count(*) FROM orders o WHERE NOT EXISTS "
        "(SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id)",
    )
    assert without_lines == 0


def test_ordered_before_shipped_before_delivered(sim: Warehouse) -> None:
    bad = scalar(
        sim,
        """
        SELECT count(*) FROM shipments s JOIN orders o USING (order_id)
        WHERE s.shipped_at < o.placed_at OR s.delivered_at < s.shipped_at
           OR (s.delivered_at IS NOT NULL AND s.shipped_at IS NULL)""",
    )
    assert bad == 0
    statuses = dict(query(sim, "SELECT status, count(*) FROM shipments GROUP BY 1"))
    assert statuses["delivered"] > statuses.get("shipped", 0)
    # Orders completed online have been delivered (or picked up).
    undelivered = scalar(
        sim,
        """
        SELECT count(*) FROM orders o JOIN shipments s USING (order_id)
        WHERE o.status = 'completed' AND s.delivered_at IS NULL""",
    )
    assert undelivered == 0


def test_returns_and_refunds_are_plausible(sim: Warehouse) -> None:
    bad = scalar(
        sim,
        """
        SELECT count(*) FROM returns r JOIN order_lines l USING (order_id, line_number)
        JOIN orders o USING (order_id)
        WHERE r.quantity > l.quantity OR r.quantity <= 0 OR r.refund_amount > l.net_amount
           OR r.requested_at < o.placed_at OR r.received_at < r.requested_at
           OR r.restocked_at < r.received_at OR r.product_id <> l.product_id""",
    )
    assert bad == 0


def test_funnel_counts_do_not_increase(sim: Warehouse) -> None:
    steps = query(
        sim,
        """
        SELECT count(DISTINCT session_id) FILTER (WHERE event_type = 'product_view'),
               count(DISTINCT session_id) FILTER (WHERE event_type = 'add_to_cart'),
               count(DISTINCT session_id) FILTER (WHERE event_type = 'begin_checkout'),
               count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase')
        FROM events""",
    )[0]
    assert list(steps) == sorted(steps, reverse=True)
    assert steps[3] > 0
    # Every purchase event follows a checkout step in its session.
    orphan_purchases = scalar(
        sim,
        """
        SELECT count(*) FROM events p WHERE p.event_type = 'purchase' AND NOT EXISTS (
            SELECT 1 FROM events c WHERE c.session_id = p.session_id
              AND c.event_type = 'add_to_cart' AND c.occurred_at <= p.occurred_at)""",
    )
    assert orphan_purchases == 0
    # Each purchase event is the online order it names, in the same session.
    mismatched = scalar(
        sim,
        """
        SELECT count(*) FROM events e JOIN orders o ON o.order_id = e.order_id
        WHERE e.event_type = 'purchase' AND (o.session_id <> e.session_id
           OR o.placed_at <> e.occurred_at)""",
    )
    assert mismatched == 0


def test_nothing_happens_after_the_last_day(sim: Warehouse) -> None:
    for t in TABLES:
        if t.time_column and t.column(t.time_column).type == "timestamp":
            late = scalar(
                sim,
                f'SELECT count(*) FROM "{t.name}" WHERE CAST("{t.time_column}" AS DATE) > ?',
                SIM_END,
            )
            assert late == 0, t.name


def test_loyalty_balances_never_go_negative(sim: Warehouse) -> None:
    negative = scalar(
        sim,
        """
        SELECT count(*) FROM (
          SELECT customer_id, sum(CASE WHEN kind IN ('earn', 'adjust') THEN points ELSE -points END)
            OVER (PARTITION BY customer_id ORDER BY occurred_at, kind DESC
                  ROWS UNBOUNDED PRECEDING) AS balance
          FROM loyalty_ledger) WHERE balance < 0""",
    )
    assert negative == 0


def test_consent_and_membership_intervals_are_ordered(sim: Warehouse) -> None:
    bad = scalar(
        sim,
        """
        SELECT count(*) FROM customers WHERE email_opt_out_at < email_opt_in_at
          OR sms_opt_out_at < sms_opt_in_at OR push_opt_out_at < push_opt_in_at
          OR member_until < member_since OR (is_member AND member_since IS NULL)
          OR member_since < created_at""",
    )
    assert bad == 0
    unsubscribed = scalar(
        sim,
        """
        SELECT count(*) FROM messages m JOIN customers c USING (customer_id)
        WHERE m.channel = 'email' AND m.unsubscribed_at IS NOT NULL
          AND (c.email_opt_out_at IS NULL OR c.email_opt_out_at > m.unsubscribed_at)""",
    )
    assert unsubscribed == 0


def test_shapes_a_retailer_would_recognise(sim: Warehouse) -> None:
    (orders, customers, guests) = query(
        sim,
        """
        SELECT count(*), count(DISTINCT customer_id), count(*) FILTER (WHERE customer_id IS NULL)
        FROM orders""",
    )[0]
    assert isinstance(orders, int)
    assert isinstance(customers, int)
    assert isinstance(guests, int)
    assert 0.05 < guests / orders < 0.4
    conversion = scalar(
        sim,
        """
        SELECT count(DISTINCT session_id) FILTER (WHERE event_type = 'purchase')
               / count(DISTINCT session_id) FROM events""",
    )
    assert isinstance(conversion, float)
    assert 0.02 < conversion < 0.2
    weekend_share = scalar(
        sim,
        """
        SELECT avg(CASE WHEN dayofweek(placed_at) IN (0, 6) THEN 1 ELSE 0 END)
        FROM orders WHERE channel = 'store'""",
    )
    assert isinstance(weekend_share, float)
    assert weekend_share > 2 / 7
    december, july = (
        scalar(
            sim,
            "SELECT count(*) FROM orders WHERE month(placed_at) = ? AND year(placed_at) = 2025",
            m,
        )
        for m in (12, 7)
    )
    assert isinstance(december, int)
    assert isinstance(july, int)
    assert december > july
