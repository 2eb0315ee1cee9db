"""Web and app behaviour, site monitoring and experiments."""

from __future__ import annotations

from omnikpi.model import enums as e
from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

SESSIONS = Table(
    name="sessions",
    description="Visits to the web shop or app, with device and traffic source.",
    primary_key=("session_id",),
    time_column="started_at",
    group="digital",
    columns=(
        C("session_id", "string", "Session id."),
        C("visitor_id", "string", "Anonymous browser or app-install id."),
        C(
            "customer_id",
            "string",
            "Logged-in customer.",
            nullable=True,
            references="customers.customer_id",
        ),
        C("channel", "string", "Web or app.", enum=e.VisitChannel),
        C("device", "string", "Device class.", enum=e.Device),
        C("started_at", "timestamp", "First hit (UTC)."),
        C("traffic_source", "string", "Default channel grouping.", enum=e.TrafficSource),
        C("source", "string", "utm_source or referrer host.", nullable=True),
        C("medium", "string", "utm_medium.", nullable=True),
        C(
            "campaign_id",
            "string",
            "utm_campaign resolved to a campaign.",
            nullable=True,
            references="campaigns.campaign_id",
        ),
        C("landing_page_type", "string", "Type of the first page.", enum=e.PageType),
        C("region", "string", "Region from IP geolocation.", nullable=True),
    ),
)

EVENTS = Table(
    name="events",
    description=(
        "Hits within sessions: page and product views, searches, cart and checkout steps, "
        "purchases, banners, chat starts. Every page load is a page_view with load_ms."
    ),
    primary_key=("event_id",),
    time_column="occurred_at",
    group="digital",
    columns=(
        C("event_id", "string", "Event id."),
        C("session_id", "string", "Session.", references="sessions.session_id"),
        C("visitor_id", "string", "Anonymous visitor id."),
        C(
            "customer_id",
            "string",
            "Logged-in customer.",
            nullable=True,
            references="customers.customer_id",
        ),
        C("occurred_at", "timestamp", "When it happened (UTC)."),
        C("event_type", "string", "What happened.", enum=e.EventType),
        C("page_type", "string", "Type of the page it happened on.", enum=e.PageType),
        C("page_path", "string", "Path of the page, e.g. /p/P0042."),
        C(
            "product_id",
            "string",
            "Product viewed, added or bought.",
            nullable=True,
            references="products.product_id",
        ),
        C("search_query", "string", "On-site search terms (normalized).", nullable=True),
        C("search_results", "int", "Number of results the search returned.", nullable=True),
        C("banner_id", "string", "On-site banner shown or clicked.", nullable=True),
        C(
            "order_id",
            "string",
            "Order of a purchase event.",
            nullable=True,
            references="orders.order_id",
        ),
        C("load_ms", "int", "Page load time of a page_view in milliseconds.", nullable=True),
    ),
)

SITE_CHECKS = Table(
    name="site_checks",
    description="Synthetic uptime checks of the shop: answered or not, and response time.",
    primary_key=("checked_at", "target"),
    time_column="checked_at",
    group="digital",
    columns=(
        C("checked_at", "timestamp", "When the probe ran (UTC)."),
        C("target", "string", "What was probed.", enum=e.SiteCheckTarget),
        C("is_up", "bool", "The shop answered correctly."),
        C("response_ms", "int", "Response time in milliseconds.", nullable=True),
    ),
)

EXPERIMENTS = Table(
    name="experiments",
    description="A/B tests and campaign holdouts with their variants and primary metric.",
    primary_key=("experiment_id",),
    group="digital",
    columns=(
        C("experiment_id", "string", "Experiment id."),
        C("name", "string", "Name."),
        C("kind", "string", "A/B test or campaign holdout.", enum=e.ExperimentKind),
        C("unit", "string", "Randomization unit.", enum=e.ExperimentUnit),
        C("variants", "string", "Comma-separated variants, control first."),
        C(
            "campaign_id",
            "string",
            "Campaign of a holdout.",
            nullable=True,
            references="campaigns.campaign_id",
        ),
        C("start_date", "date", "First local day."),
        C("end_date", "date", "Last local day."),
        C("primary_metric", "string", "Metric the test is judged on."),
        C("description", "string", "What is tested.", nullable=True),
    ),
)

EXPERIMENT_ASSIGNMENTS = Table(
    name="experiment_assignments",
    description="Which unit (visitor or customer) got which variant, and when.",
    primary_key=("experiment_id", "unit_id"),
    time_column="assigned_at",
    group="digital",
    columns=(
        C("experiment_id", "string", "Experiment.", references="experiments.experiment_id"),
        C("unit_id", "string", "Visitor id or customer id."),
        C("variant", "string", "Variant assigned."),
        C("assigned_at", "timestamp", "When the unit was first assigned (UTC)."),
    ),
)

TABLES = (SESSIONS, EVENTS, SITE_CHECKS, EXPERIMENTS, EXPERIMENT_ASSIGNMENTS)
