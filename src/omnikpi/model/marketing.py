"""Campaigns, media delivery, customer touchpoints and messages, social and search."""

from __future__ import annotations

from omnikpi.model import enums as e
from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

CAMPAIGNS = Table(
    name="campaigns",
    description="Marketing campaigns across paid and owned channels.",
    primary_key=("campaign_id",),
    group="marketing",
    columns=(
        C("campaign_id", "string", "Campaign id."),
        C("name", "string", "Name."),
        C("channel", "string", "Marketing channel.", enum=e.MarketingChannel),
        C("objective", "string", "Objective.", enum=e.CampaignObjective),
        C("start_date", "date", "First local day."),
        C("end_date", "date", "Last local day."),
        C("daily_budget", "money", "Planned spend per day.", nullable=True),
        C("currency", "string", "ISO 4217 currency."),
        C("holdout_share", "float", "Share of the audience held out, if any.", nullable=True),
    ),
)

MARKETING_DAILY = Table(
    name="marketing_daily",
    description="Delivery per local day, channel and campaign: impressions, clicks, spend.",
    primary_key=("date", "channel", "campaign_id"),
    time_column="date",
    group="marketing",
    columns=(
        C("date", "date", "Local day."),
        C("channel", "string", "Marketing channel.", enum=e.MarketingChannel),
        C("campaign_id", "string", "Campaign.", references="campaigns.campaign_id"),
        C("impressions", "int", "Impressions (ads shown, messages delivered)."),
        C("clicks", "int", "Clicks."),
        C("spend", "money", "Media and send cost."),
        C("currency", "string", "ISO 4217 currency."),
    ),
)

TOUCHPOINTS = Table(
    name="touchpoints",
    description="Identified marketing contacts of a customer or visitor: impressions and clicks.",
    primary_key=("touchpoint_id",),
    time_column="occurred_at",
    group="marketing",
    columns=(
        C("touchpoint_id", "string", "Touchpoint id."),
        C(
            "customer_id",
            "string",
            "Customer reached.",
            nullable=True,
            references="customers.customer_id",
        ),
        C("visitor_id", "string", "Visitor reached.", nullable=True),
        C("occurred_at", "timestamp", "When (UTC)."),
        C("channel", "string", "Marketing channel.", enum=e.MarketingChannel),
        C("campaign_id", "string", "Campaign.", references="campaigns.campaign_id"),
        C("kind", "string", "Impression, click, message open or click.", enum=e.TouchpointKind),
    ),
)

MESSAGES = Table(
    name="messages",
    description="E-mail, SMS, push and in-app messages with their delivery and response.",
    primary_key=("message_id",),
    time_column="sent_at",
    group="marketing",
    columns=(
        C("message_id", "string", "Message id."),
        C("customer_id", "string", "Recipient.", references="customers.customer_id"),
        C("campaign_id", "string", "Campaign.", references="campaigns.campaign_id"),
        C("channel", "string", "Message channel.", enum=e.MessageChannel),
        C("sent_at", "timestamp", "When it was sent (UTC)."),
        C("delivered", "bool", "Reached the inbox or device."),
        C("bounced", "bool", "Bounced."),
        C("opened_at", "timestamp", "First open (UTC).", nullable=True),
        C("clicked_at", "timestamp", "First click (UTC).", nullable=True),
        C("unsubscribed_at", "timestamp", "Unsubscribe through this message (UTC).", nullable=True),
    ),
)

SOCIAL_DAILY = Table(
    name="social_daily",
    description="Followers and engagement of the brand's social accounts per local day.",
    primary_key=("date", "platform"),
    time_column="date",
    kind="secondary",
    group="marketing",
    columns=(
        C("date", "date", "Local day."),
        C("platform", "string", "Social platform.", enum=e.SocialPlatform),
        C("followers", "int", "Followers at the end of the day."),
        C("engagements", "int", "Likes, comments and shares that day."),
        C("posts", "int", "Posts published that day."),
    ),
)

SEARCH_CONSOLE = Table(
    name="search_console",
    description="Organic search performance per local day and query (search-console export).",
    primary_key=("date", "query"),
    time_column="date",
    kind="secondary",
    group="marketing",
    columns=(
        C("date", "date", "Local day."),
        C("query", "string", "Search query."),
        C("impressions", "int", "Times the shop appeared in results."),
        C("clicks", "int", "Clicks from results."),
        C("position", "float", "Average ranking position that day (1 = top)."),
    ),
)

TABLES = (CAMPAIGNS, MARKETING_DAILY, TOUCHPOINTS, MESSAGES, SOCIAL_DAILY, SEARCH_CONSOLE)
