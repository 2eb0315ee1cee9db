"""Hand-written SQL of the commerce KPIs: orders, sales, delivery, service and loyalty."""

COMPLETED = "status IN ('paid', 'completed')"


def hours_between(start: str, end: str) -> str:
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION) / 3600.0"


def median(value: str) -> str:
    return f"PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {value})"


SALES_TEMP_TABLES = {
    # Completed orders of known customers, numbered per customer.
    "purchases": f"""
SELECT customer_id, channel AS dim, placed_at, CAST(placed_at AS DATE) AS day,
       ROW_NUMBER() OVER by_customer AS purchase_number,
       MIN(CAST(placed_at AS DATE)) OVER (PARTITION BY customer_id) AS first_day,
       LEAD(placed_at) OVER by_customer AS next_at
FROM orders
WHERE {COMPLETED} AND customer_id IS NOT NULL
WINDOW by_customer AS (PARTITION BY customer_id ORDER BY placed_at, order_id)""",
}


def level_sql(intervals: str, first_day: str) -> str:
    """Per day and dim, how many [open_day, close_day) intervals cover the day; days before
    the source's first day (`first_day`, a scalar query) have no data."""
    return f"""
WITH intervals AS ({intervals}),
kept AS (
    SELECT dim, open_day, close_day FROM intervals
    WHERE open_day IS NOT NULL AND (close_day IS NULL OR close_day > open_day)
),
changes AS (
    SELECT open_day AS day, dim, 1 AS delta FROM kept
    UNION ALL
    SELECT close_day, dim, -1 FROM kept WHERE close_day IS NOT NULL
),
dims AS (SELECT DISTINCT dim FROM kept),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST({{start}} AS DATE), CAST({{end}} AS DATE), INTERVAL '1 day')
         AS spine(d)
),
daily AS (
    SELECT day, dim, SUM(delta) AS delta
    FROM (SELECT day, dim, delta FROM changes WHERE day <= {{end}}
          UNION ALL
          SELECT days.day, dims.dim, 0 FROM days CROSS JOIN dims) AS all_days
    GROUP BY day, dim
),
levels AS (
    SELECT day, dim, SUM(delta) OVER (PARTITION BY dim ORDER BY day ROWS UNBOUNDED PRECEDING)
           AS value
    FROM daily
)
SELECT day, dim, value FROM levels
WHERE day BETWEEN {{start}} AND {{end}} AND day >= ({first_day})"""


def trailing_customers_sql(min_purchases: int) -> str:
    """Customers with at least `min_purchases` purchases in the 365 days up to each day.

    A run of purchases j..j+k-1 qualifies the customer from the day of the last of them
    until 365 days after the first; overlapping spells are merged and counted as a level.
    """
    opened = (
        "day"
        if min_purchases == 1
        else f"LEAD(day, {min_purchases - 1}) OVER (PARTITION BY customer_id, dim ORDER BY day)"
    )
    intervals = f"""
    WITH runs AS (SELECT customer_id, dim, day, {opened} AS open_day FROM purchases),
    spans AS (
        SELECT customer_id, dim, open_day, day + 365 AS close_day FROM runs
        WHERE open_day IS NOT NULL AND open_day < day + 365
    ),
    marked AS (
        SELECT *, CASE WHEN open_day <= MAX(close_day) OVER (
                      PARTITION BY customer_id, dim ORDER BY open_day, close_day
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                  THEN 0 ELSE 1 END AS starts_spell
        FROM spans
    ),
    spells AS (
        SELECT *, SUM(starts_spell) OVER (
                  PARTITION BY customer_id, dim ORDER BY open_day, close_day
                  ROWS UNBOUNDED PRECEDING) AS spell
        FROM marked
    )
    SELECT dim, MIN(open_day) AS open_day, MAX(close_day) AS close_day
    FROM spells GROUP BY customer_id, dim, spell"""
    return level_sql(intervals, "SELECT MIN(day) FROM purchases")


# Round half away from zero (as DuckDB's ROUND of a double): FLOOR(x + 0.5) for x >= 0.
SOON_TO_BE_LOST = level_sql(
    """
    SELECT dim,
           day + CASE WHEN purchase_number = 1 THEN 90
                      ELSE GREATEST(30, CAST(FLOOR(1.5 * (CAST(day - first_day AS DOUBLE PRECISION)
                                                          / (purchase_number - 1)) + 0.5)
                                             AS INTEGER))
                 END AS open_day,
           LEAST(COALESCE(CAST(next_at AS DATE), day + 365), day + 365) AS close_day
    FROM purchases""",
    "SELECT MIN(day) FROM purchases",
)

NEWSLETTER_SUBSCRIBERS = level_sql(
    """
    SELECT CAST(NULL AS VARCHAR) AS dim, CAST(email_opt_in_at AS DATE) AS open_day,
           CAST(email_opt_out_at AS DATE) AS close_day
    FROM customers""",
    "SELECT MIN(CAST(created_at AS DATE)) FROM customers",
)

#: Query name -> SQL; each returns day, dim and either a column per KPI, or `kpi` and
#: `value`, or only `value` (the KPI named like the query). A ratio is
#: CAST(numerator AS DOUBLE PRECISION) / NULLIF(denominator, 0).

#: Query name -> SQL (see kpi_grid_sql for the shape of their results).
SALES_QUERIES: dict[str, str] = {
    "orders": """
SELECT CAST(placed_at AS DATE) AS day, channel AS dim,
       COUNT(*) AS orders,
       CAST(COUNT(*) FILTER (WHERE channel IN ('web', 'app') AND fulfilment = 'click_collect')
            AS DOUBLE PRECISION)
           / NULLIF(COUNT(*) FILTER (WHERE channel IN ('web', 'app')), 0) AS click_collect_share
FROM orders
WHERE placed_at >= {since} AND placed_at < {until}
GROUP BY 1, 2""",
    "payment_shares": """
WITH counted AS (
    SELECT CAST(placed_at AS DATE) AS day, channel AS dim, payment_method, COUNT(*) AS orders
    FROM orders WHERE placed_at >= {since} AND placed_at < {until} GROUP BY 1, 2, 3
)
SELECT day, dim, payment_method,
       CAST(orders AS DOUBLE PRECISION) / SUM(orders) OVER (PARTITION BY day, dim)
           AS payment_type_share
FROM counted""",
    # Sales by order day, returned items by request day, refunds by refund day; returns and
    # refunds are "no data" outside the days their table covers.
    "sales": f"""
WITH lines AS (
    SELECT CAST(o.placed_at AS DATE) AS day, o.channel AS dim,
           COALESCE(SUM(l.net_amount) FILTER (WHERE o.{COMPLETED}), 0) AS revenue,
           COALESCE(SUM(l.net_amount)
                    FILTER (WHERE o.{COMPLETED} AND l.discount_amount > 0), 0) AS discounted,
           COALESCE(SUM(l.quantity) FILTER (WHERE o.{COMPLETED}), 0) AS items
    FROM order_lines AS l JOIN orders AS o ON o.order_id = l.order_id
    WHERE o.placed_at >= {{since}} AND o.placed_at < {{until}}
    GROUP BY 1, 2
),
completed AS (
    SELECT CAST(placed_at AS DATE) AS day, channel AS dim,
           COUNT(*) FILTER (WHERE {COMPLETED}) AS orders
    FROM orders WHERE placed_at >= {{since}} AND placed_at < {{until}} GROUP BY 1, 2
),
returned AS (
    SELECT CAST(r.requested_at AS DATE) AS day, o.channel AS dim, SUM(r.quantity) AS items
    FROM returns AS r LEFT JOIN orders AS o ON o.order_id = r.order_id
    WHERE r.requested_at >= {{since}} AND r.requested_at < {{until}} GROUP BY 1, 2
),
refunded AS (
    SELECT CAST(r.refunded_at AS DATE) AS day, o.channel AS dim, SUM(r.refund_amount) AS amount
    FROM returns AS r LEFT JOIN orders AS o ON o.order_id = r.order_id
    WHERE r.refunded_at IS NOT NULL AND r.refunded_at >= {{since}} AND r.refunded_at < {{until}}
    GROUP BY 1, 2
),
covered AS (
    SELECT MIN(CAST(requested_at AS DATE)) AS first_request,
           MAX(CAST(requested_at AS DATE)) AS last_request,
           MIN(CAST(refunded_at AS DATE)) AS first_refund,
           MAX(CAST(refunded_at AS DATE)) AS last_refund
    FROM returns
),
keys AS (
    SELECT day, dim FROM completed
    UNION SELECT day, dim FROM returned
    UNION SELECT day, dim FROM refunded
)
SELECT k.day, k.dim,
       COALESCE(l.revenue, 0) AS revenue,
       CAST(COALESCE(l.revenue, 0) AS DOUBLE PRECISION) / NULLIF(c.orders, 0) AS aov,
       CAST(COALESCE(l.items, 0) AS DOUBLE PRECISION) / NULLIF(c.orders, 0) AS avg_basket_items,
       CAST(COALESCE(l.discounted, 0) AS DOUBLE PRECISION) / NULLIF(COALESCE(l.revenue, 0), 0)
           AS markdown_share,
       CAST(CASE WHEN k.day BETWEEN v.first_request AND v.last_request
                 THEN COALESCE(rt.items, 0) END AS DOUBLE PRECISION)
           / NULLIF(COALESCE(l.items, 0), 0) AS return_rate,
       COALESCE(l.revenue, 0)
           - CASE WHEN k.day BETWEEN v.first_refund AND v.last_refund
                  THEN COALESCE(rf.amount, 0) END AS net_revenue_after_returns
FROM keys AS k
CROSS JOIN covered AS v
LEFT JOIN completed AS c ON c.day = k.day AND c.dim IS NOT DISTINCT FROM k.dim
LEFT JOIN lines AS l ON l.day = k.day AND l.dim IS NOT DISTINCT FROM k.dim
LEFT JOIN returned AS rt ON rt.day = k.day AND rt.dim IS NOT DISTINCT FROM k.dim
LEFT JOIN refunded AS rf ON rf.day = k.day AND rf.dim IS NOT DISTINCT FROM k.dim""",
    "shipped": f"""
SELECT CAST(sh.shipped_at AS DATE) AS day, o.channel AS dim,
       {median(hours_between("o.placed_at", "sh.shipped_at"))} AS order_to_shipment_hours
FROM shipments AS sh LEFT JOIN orders AS o ON o.order_id = sh.order_id
WHERE sh.shipped_at IS NOT NULL AND sh.shipped_at >= {{since}} AND sh.shipped_at < {{until}}
GROUP BY 1, 2""",
    "delivered": """
SELECT CAST(sh.delivered_at AS DATE) AS day, o.channel AS dim,
       CAST(COUNT(*) FILTER (WHERE CAST(sh.delivered_at AS DATE) <= sh.promised_date)
            AS DOUBLE PRECISION) / COUNT(*) AS on_time_delivery_rate
FROM shipments AS sh LEFT JOIN orders AS o ON o.order_id = sh.order_id
WHERE sh.delivered_at IS NOT NULL AND sh.delivered_at >= {since} AND sh.delivered_at < {until}
GROUP BY 1, 2""",
    "restocked": f"""
SELECT CAST(r.restocked_at AS DATE) AS day, o.channel AS dim,
       {median(hours_between("r.received_at", "r.restocked_at"))} AS return_restock_hours
FROM returns AS r LEFT JOIN orders AS o ON o.order_id = r.order_id
WHERE r.restocked_at IS NOT NULL AND r.restocked_at >= {{since}} AND r.restocked_at < {{until}}
GROUP BY 1, 2""",
    "tickets": f"""
SELECT CAST(opened_at AS DATE) AS day, channel AS dim,
       COUNT(*) AS service_tickets,
       COUNT(*) FILTER (WHERE kind = 'complaint') AS complaints,
       CAST(COUNT(*) FILTER (WHERE first_response_at IS NOT NULL
                               AND {hours_between("opened_at", "first_response_at")} <= sla_hours)
            AS DOUBLE PRECISION) / COUNT(*) AS service_sla_compliance,
       COUNT(*) FILTER (WHERE channel = 'social') AS social_inquiries
FROM tickets
WHERE opened_at >= {{since}} AND opened_at < {{until}}
GROUP BY 1, 2""",
    "surveys": """
SELECT CAST(sv.responded_at AS DATE) AS day, o.channel AS dim,
       CAST(SUM(CASE WHEN sv.score >= 9 THEN 100 WHEN sv.score <= 6 THEN -100 ELSE 0 END)
            AS DOUBLE PRECISION) / COUNT(*) AS nps
FROM surveys AS sv LEFT JOIN orders AS o ON o.order_id = sv.order_id
WHERE sv.kind = 'nps' AND sv.responded_at >= {since} AND sv.responded_at < {until}
GROUP BY 1, 2""",
    "site_checks": """
SELECT CAST(checked_at AS DATE) AS day,
       CAST(COUNT(*) FILTER (WHERE is_up) AS DOUBLE PRECISION) / COUNT(*) AS shop_availability
FROM site_checks
WHERE checked_at >= {since} AND checked_at < {until}
GROUP BY 1""",
    "invoices": """
SELECT i.due_date AS day, o.channel AS dim,
       CAST(COALESCE(SUM(i.amount) FILTER (WHERE i.paid_at IS NOT NULL
                                           AND CAST(i.paid_at AS DATE) <= i.due_date), 0)
            AS DOUBLE PRECISION) / NULLIF(SUM(i.amount), 0) AS debt_collection_rate
FROM invoices AS i LEFT JOIN orders AS o ON o.order_id = i.order_id
WHERE i.due_date BETWEEN {start} AND {end}
GROUP BY 1, 2""",
    "customers": """
SELECT day, dim,
       CAST(COUNT(DISTINCT customer_id) FILTER (WHERE first_day < day) AS DOUBLE PRECISION)
           / COUNT(DISTINCT customer_id) AS returning_customer_share,
       COUNT(*) FILTER (WHERE purchase_number = 1) AS new_customers
FROM purchases
WHERE day BETWEEN {start} AND {end}
GROUP BY 1, 2""",
    "active_customers": trailing_customers_sql(1),
    "loyal_customers": trailing_customers_sql(3),
    "soon_to_be_lost_customers": SOON_TO_BE_LOST,
    "newsletter_subscribers": NEWSLETTER_SUBSCRIBERS,
}
