"""Customer service, feedback and loyalty."""

from __future__ import annotations

from omnikpi.model import enums as e
from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

TICKETS = Table(
    name="tickets",
    description="Customer-service contacts (inquiries and complaints) with response times.",
    primary_key=("ticket_id",),
    time_column="opened_at",
    group="service",
    columns=(
        C("ticket_id", "string", "Ticket id."),
        C("customer_id", "string", "Customer.", nullable=True, references="customers.customer_id"),
        C("order_id", "string", "Order concerned.", nullable=True, references="orders.order_id"),
        C(
            "product_id",
            "string",
            "Product concerned.",
            nullable=True,
            references="products.product_id",
        ),
        C("channel", "string", "Where it arrived.", enum=e.ServiceChannel),
        C(
            "social_platform",
            "string",
            "Platform of a social contact.",
            nullable=True,
            enum=e.SocialPlatform,
        ),
        C("kind", "string", "Inquiry or complaint.", enum=e.TicketKind),
        C("topic", "string", "Topic.", enum=e.TicketTopic),
        C("opened_at", "timestamp", "When it was opened (UTC)."),
        C("first_response_at", "timestamp", "First answer (UTC).", nullable=True),
        C("resolved_at", "timestamp", "Resolution (UTC).", nullable=True),
        C("escalated", "bool", "Escalated to a second level."),
        C("sla_hours", "float", "First-response SLA of its channel in hours."),
    ),
)

SURVEYS = Table(
    name="surveys",
    description="Survey responses: NPS (0-10), CSAT (1-5), brand lift and program awareness.",
    primary_key=("response_id",),
    time_column="responded_at",
    group="service",
    columns=(
        C("response_id", "string", "Response id."),
        C("kind", "string", "Survey kind.", enum=e.SurveyKind),
        C(
            "customer_id",
            "string",
            "Respondent.",
            nullable=True,
            references="customers.customer_id",
        ),
        C("order_id", "string", "Order surveyed.", nullable=True, references="orders.order_id"),
        C("ticket_id", "string", "Ticket surveyed.", nullable=True, references="tickets.ticket_id"),
        C(
            "campaign_id",
            "string",
            "Campaign of a brand-lift survey.",
            nullable=True,
            references="campaigns.campaign_id",
        ),
        C(
            "exposure_group",
            "string",
            "Exposed or control (brand lift).",
            nullable=True,
            enum=e.ExposureGroup,
        ),
        C("responded_at", "timestamp", "When (UTC)."),
        C("score", "int", "Score on the survey's scale."),
        C("scale_max", "int", "Top of the scale (10 for NPS, 5 for CSAT, 1 for yes/no)."),
    ),
)

REVIEWS = Table(
    name="reviews",
    description="Product reviews with a 1-5 star rating.",
    primary_key=("review_id",),
    time_column="created_at",
    group="service",
    columns=(
        C("review_id", "string", "Review id."),
        C(
            "product_id",
            "string",
            "Product reviewed; null when the source does not say (a review of an order "
            "without products).",
            nullable=True,
            references="products.product_id",
        ),
        C("order_id", "string", "Order it came from.", nullable=True, references="orders.order_id"),
        C("customer_id", "string", "Reviewer.", nullable=True, references="customers.customer_id"),
        C("created_at", "timestamp", "When (UTC)."),
        C("rating", "int", "Stars, 1 to 5."),
    ),
)

LOYALTY_LEDGER = Table(
    name="loyalty_ledger",
    description="Points earned, burned (redeemed), expired or adjusted; points are positive.",
    primary_key=("entry_id",),
    time_column="occurred_at",
    group="service",
    columns=(
        C("entry_id", "string", "Entry id."),
        C("customer_id", "string", "Member.", references="customers.customer_id"),
        C("occurred_at", "timestamp", "When (UTC)."),
        C("kind", "string", "Earn, burn, expire or adjust.", enum=e.LoyaltyEntryKind),
        C("points", "int", "Points moved (positive)."),
        C(
            "order_id",
            "string",
            "Order that earned or redeemed.",
            nullable=True,
            references="orders.order_id",
        ),
    ),
)

PROGRAM_COSTS = Table(
    name="program_costs",
    description="Monthly cost of running customer programs (loyalty rewards, operations).",
    primary_key=("month", "program"),
    time_column="month",
    group="service",
    columns=(
        C("month", "date", "First local day of the month."),
        C("program", "string", "Program, e.g. loyalty."),
        C("cost", "money", "Cost that month."),
        C("currency", "string", "ISO 4217 currency."),
    ),
)

TABLES = (TICKETS, SURVEYS, REVIEWS, LOYALTY_LEDGER, PROGRAM_COSTS)
