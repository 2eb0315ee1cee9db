"""Hand-written SQL of the marketing and web KPIs: spend, reach, sessions, funnels, pages.

The 28M events are read twice: once per session (page views, purchase, funnel steps, the
exit page view) and once per day, channel and page (every count the event KPIs need).
"""

WEB_TEMP_TABLES = {
    # Per session: its channel, page views, purchase flag, the funnel steps' first/last
    # times and its exit (last page view, by time then event id).
    "session_facts": """
WITH facts AS (
    SELECT session_id,
           COUNT(*) FILTER (WHERE event_type = 'page_view') AS page_views,
           BOOL_OR(event_type = 'purchase') AS has_purchase,
           MIN(occurred_at) FILTER (WHERE event_type = 'search') AS first_search_at,
           MIN(occurred_at) FILTER (WHERE event_type = 'product_view') AS first_view_at,
           MIN(occurred_at) FILTER (WHERE event_type = 'add_to_cart') AS first_cart_at,
           MAX(occurred_at) FILTER (WHERE event_type = 'add_to_cart') AS last_cart_at,
           MAX(occurred_at) FILTER (WHERE event_type = 'purchase') AS last_purchase_at,
           {last_page_view} AS exit_event_id
    FROM events
    GROUP BY session_id
)
SELECT f.*, s.channel AS dim
FROM facts AS f LEFT JOIN sessions AS s ON s.session_id = f.session_id""",
    # Event counts per day, channel and page (the local day computed once per event).
    "event_daily": """
WITH dc_stock AS (
    SELECT i.product_id, i.snapshot_date, SUM(i.on_hand) AS on_hand
    FROM inventory_snapshots AS i JOIN stores AS st ON st.store_id = i.location_id
    WHERE st.kind = 'distribution_center'
    GROUP BY 1, 2
),
e AS (
    SELECT event_id, session_id, event_type, page_path, page_type, product_id,
           search_results, load_ms, CAST(occurred_at AS DATE) AS day
    FROM events
    WHERE event_type IN ('page_view', 'banner_view', 'banner_click', 'search', 'product_view')
      AND occurred_at >= {since} AND occurred_at < {until}
)
SELECT e.day, f.dim, e.page_path, e.page_type,
       COUNT(*) FILTER (WHERE e.event_type = 'page_view') AS views,
       COUNT(*) FILTER (WHERE e.event_id = f.exit_event_id) AS exits,
       COUNT(*) FILTER (WHERE e.event_type = 'page_view' AND e.load_ms IS NOT NULL) AS timed,
       COUNT(*) FILTER (WHERE e.event_type = 'page_view' AND e.load_ms <= 3000) AS fast,
       COUNT(*) FILTER (WHERE e.event_type = 'banner_view') AS banner_views,
       COUNT(*) FILTER (WHERE e.event_type = 'banner_click') AS banner_clicks,
       COUNT(*) FILTER (WHERE e.event_type = 'search') AS searches,
       COUNT(*) FILTER (WHERE e.event_type = 'search' AND e.search_results = 0) AS no_results,
       COUNT(*) FILTER (WHERE e.event_type = 'product_view' AND d.on_hand IS NOT NULL)
           AS stock_known,
       COUNT(*) FILTER (WHERE e.event_type = 'product_view' AND d.on_hand > 0) AS in_stock
FROM e
LEFT JOIN session_facts AS f ON f.session_id = e.session_id
LEFT JOIN dc_stock AS d ON d.product_id = e.product_id AND d.snapshot_date = e.day
GROUP BY 1, 2, 3, 4""",
}

#: Query name -> SQL (see kpi_grid_sql for the shape of their results).
WEB_QUERIES: dict[str, str] = {
    "marketing": """
SELECT date AS day, channel AS dim,
       SUM(impressions) AS impressions,
       CAST(SUM(clicks) AS DOUBLE PRECISION) / NULLIF(SUM(impressions), 0) AS channel_ctr
FROM marketing_daily
WHERE date BETWEEN {start} AND {end}
GROUP BY 1, 2""",
    # Spend by marketing channel over orders by their campaign's channel; a channel without
    # spend rows costs 0 on days the spend table covers.
    "cpo": """
WITH spend AS (
    SELECT date AS day, channel AS dim, SUM(spend) AS spend
    FROM marketing_daily WHERE date BETWEEN {start} AND {end} GROUP BY 1, 2
),
orders_by_channel AS (
    SELECT CAST(o.placed_at AS DATE) AS day, c.channel AS dim, COUNT(*) AS orders
    FROM orders AS o LEFT JOIN campaigns AS c ON c.campaign_id = o.campaign_id
    WHERE o.placed_at >= {since} AND o.placed_at < {until}
    GROUP BY 1, 2
),
covered AS (SELECT MIN(date) AS first_day, MAX(date) AS last_day FROM marketing_daily)
SELECT COALESCE(s.day, o.day) AS day,
       CASE WHEN s.day IS NULL THEN o.dim ELSE s.dim END AS dim,
       CAST(CASE WHEN s.day IS NOT NULL THEN s.spend
                 WHEN o.day BETWEEN v.first_day AND v.last_day THEN 0 END AS DOUBLE PRECISION)
           / NULLIF(COALESCE(o.orders, 0), 0) AS cpo
FROM spend AS s
FULL OUTER JOIN orders_by_channel AS o ON o.day = s.day AND o.dim IS NOT DISTINCT FROM s.dim
CROSS JOIN covered AS v""",
    "touchpoints": """
SELECT CAST(occurred_at AS DATE) AS day, channel AS dim,
       COUNT(DISTINCT customer_id) AS exposed_customers
FROM touchpoints
WHERE kind = 'impression' AND customer_id IS NOT NULL
  AND occurred_at >= {since} AND occurred_at < {until}
GROUP BY 1, 2""",
    "messages": """
SELECT CAST(sent_at AS DATE) AS day, channel AS dim,
       CAST(COUNT(*) FILTER (WHERE channel = 'email' AND delivered AND opened_at IS NOT NULL)
            AS DOUBLE PRECISION)
           / NULLIF(COUNT(*) FILTER (WHERE channel = 'email' AND delivered), 0)
           AS newsletter_open_rate
FROM messages
WHERE sent_at >= {since} AND sent_at < {until}
GROUP BY 1, 2""",
    "sessions": """
SELECT CAST(s.started_at AS DATE) AS day, s.channel AS dim,
       COUNT(*) AS visits,
       COUNT(DISTINCT s.visitor_id) AS unique_visitors,
       CAST(COUNT(*) FILTER (WHERE f.page_views = 1) AS DOUBLE PRECISION) / COUNT(*)
           AS bounce_rate,
       CAST(SUM(f.page_views) AS DOUBLE PRECISION) / COUNT(*) AS pageviews_per_visit,
       CAST(COUNT(*) FILTER (WHERE f.has_purchase) AS DOUBLE PRECISION) / COUNT(*)
           AS conversion_rate
FROM sessions AS s
LEFT JOIN session_facts AS f ON f.session_id = s.session_id
WHERE s.started_at >= {since} AND s.started_at < {until}
GROUP BY 1, 2""",
    "events": """
SELECT day, dim,
       CAST(SUM(fast) AS DOUBLE PRECISION) / NULLIF(SUM(timed), 0) AS page_load_sla_compliance,
       CAST(SUM(exits) FILTER (WHERE page_type IN ('product', 'category')) AS DOUBLE PRECISION)
           / NULLIF(SUM(views) FILTER (WHERE page_type IN ('product', 'category')), 0)
           AS exit_rate_product_pages,
       CAST(SUM(banner_clicks) AS DOUBLE PRECISION) / NULLIF(SUM(banner_views), 0)
           AS onsite_banner_ctr,
       CAST(SUM(no_results) AS DOUBLE PRECISION) / NULLIF(SUM(searches), 0)
           AS search_no_results_rate,
       CAST(SUM(in_stock) AS DOUBLE PRECISION) / NULLIF(SUM(stock_known), 0)
           AS product_availability
FROM event_daily
GROUP BY 1, 2""",
    # The day's 10 most viewed pages per channel (ties by path), their exits over views.
    "top_pages": """
WITH per_page AS (
    SELECT day, dim, page_path, SUM(views) AS views, SUM(exits) AS exits
    FROM event_daily GROUP BY 1, 2, 3 HAVING SUM(views) > 0
),
ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY day, dim
                                 ORDER BY views DESC, page_path{order}) AS page_rank
    FROM per_page
)
SELECT day, dim,
       CAST(SUM(exits) AS DOUBLE PRECISION) / NULLIF(SUM(views), 0) AS exit_rate_top_pages
FROM ranked WHERE page_rank <= 10
GROUP BY 1, 2""",
    # A session converts when the step's last event is not before the start's first one;
    # it counts on the day of that first start event.
    "funnels": """
WITH steps AS (
    SELECT 'search_conversion_rate' AS kpi, first_search_at AS first_at,
           last_purchase_at AS then_at, dim FROM session_facts
    UNION ALL SELECT 'view_to_basket_rate', first_view_at, last_cart_at, dim FROM session_facts
    UNION ALL SELECT 'view_to_order_rate', first_view_at, last_purchase_at, dim
              FROM session_facts
    UNION ALL SELECT 'basket_to_order_rate', first_cart_at, last_purchase_at, dim
              FROM session_facts
)
SELECT kpi, CAST(first_at AS DATE) AS day, dim,
       CAST(COUNT(*) FILTER (WHERE then_at >= first_at) AS DOUBLE PRECISION) / COUNT(*)
           AS value
FROM steps
WHERE first_at >= {since} AND first_at < {until}
GROUP BY 1, 2, 3""",
}
