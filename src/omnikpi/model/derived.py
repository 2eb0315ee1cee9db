"""Derived tables: computed from the canonical tables and rebuilt after each load (never
loaded from a source, so not among the canonical TABLES)."""

from __future__ import annotations

from omnikpi.model.schema import Column, Table

#: Customer 360 (omnikpi.customers.profile), rebuilt after each load by services.customers.
CUSTOMER_PROFILES = Table(
    name="customer_profiles",
    description=(
        "Customer 360, derived: one row per customer with order, visit, service and loyalty "
        "features, lifecycle segment, RFM scores and CLV as of `as_of`; rebuilt from the "
        "canonical tables after each load."
    ),
    primary_key=("customer_id",),
    kind="derived",
    group="customers",
    columns=(
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("as_of", "date", "Local date the profile describes (end of day)."),
        Column("signed_up_at", "timestamp", "When the customer record was created (UTC)."),
        Column("acquisition_channel", "string", "Channel of the first contact."),
        Column("region", "string", "Home region.", nullable=True),
        Column("home_store_id", "string", "Home store.", nullable=True),
        Column("orders", "int", "Orders not cancelled."),
        Column("revenue", "money", "Net revenue of those orders."),
        Column("gross_profit", "money", "Line net minus unit cost (costed lines).", nullable=True),
        Column("average_order_value", "float", "Revenue / orders.", nullable=True),
        Column("first_order_at", "timestamp", "First order (UTC).", nullable=True),
        Column("last_order_at", "timestamp", "Latest order (UTC).", nullable=True),
        Column("days_since_signup", "int", "Local days from sign-up to as_of."),
        Column("days_since_first_order", "int", "Days from the first order.", nullable=True),
        Column("days_since_last_order", "int", "Days from the latest order.", nullable=True),
        Column("orders_window", "int", "Orders in the value window."),
        Column("revenue_window", "money", "Revenue in the value window."),
        Column(
            "revenue_window_percentile",
            "float",
            "Share of customers who spent less in the value window (0-1).",
        ),
        Column("first_channel", "string", "Channel of the first order.", nullable=True),
        Column("first_store_id", "string", "Store of the first order.", nullable=True),
        Column("channels", "string", "Channels ordered in, comma-separated.", nullable=True),
        Column("stores", "string", "Stores ordered in, comma-separated.", nullable=True),
        Column("categories", "string", "Categories bought, comma-separated.", nullable=True),
        Column("visits", "int", "Web and app sessions signed in."),
        Column("visits_recent", "int", "Sessions in the recent window."),
        Column("last_visit_at", "timestamp", "Latest session (UTC).", nullable=True),
        Column("tickets", "int", "Service tickets."),
        Column("complaints", "int", "Complaint tickets."),
        Column("complaints_recent", "int", "Complaints in the recent window."),
        Column("late_deliveries", "int", "Late deliveries."),
        Column("late_deliveries_recent", "int", "Late deliveries promised in the window."),
        Column("reviews", "int", "Reviews written."),
        Column("average_rating", "float", "Mean stars of the reviews.", nullable=True),
        Column("bad_reviews_recent", "int", "Bad reviews in the recent window."),
        Column("last_nps_score", "int", "Latest NPS answer (0-10).", nullable=True),
        Column("last_nps_at", "timestamp", "When it was given (UTC).", nullable=True),
        Column("detractor_recent", "bool", "Latest NPS answer in the window is a detractor's."),
        Column("last_cart_at", "timestamp", "Latest add-to-cart in the window.", nullable=True),
        Column("cart_abandoned", "bool", "That cart came after the latest order."),
        Column("is_member", "bool", "Loyalty member at as_of."),
        Column("member_tier", "string", "Tier (as the data holds it now).", nullable=True),
        Column("points_balance", "int", "Points earned and adjusted minus burned and expired."),
        Column("email_consent", "bool", "E-mail marketing consent at as_of."),
        Column("sms_consent", "bool", "SMS consent at as_of."),
        Column("push_consent", "bool", "App-push consent at as_of."),
        Column("segment", "string", "Lifecycle segment (customers/segments.yaml)."),
        Column("recency_score", "int", "RFM recency score (1-bins).", nullable=True),
        Column("frequency_score", "int", "RFM frequency score.", nullable=True),
        Column("monetary_score", "int", "RFM monetary score.", nullable=True),
        Column("rfm_group", "string", "Named RFM group.", nullable=True),
        Column("clv", "float", "Predicted CLV (customer_scores).", nullable=True),
        Column("p_alive", "float", "Probability alive (customer_scores).", nullable=True),
        Column("rules", "string", "Fingerprint of the segment rules it was built with."),
    ),
)

#: CLV model output (omnikpi.customers.clv), written by services.clv and after each load.
CUSTOMER_SCORES = Table(
    name="customer_scores",
    description=(
        "CLV model output: one row per customer scored as of `as_of` (the last day of the "
        "data the scores read) by a purchase model (BG/NBD or Pareto/NBD) and Gamma-Gamma "
        "with the parameters in clv_models; rewritten by `omnikpi customers clv predict` "
        "and after each load of orders."
    ),
    primary_key=("customer_id",),
    kind="derived",
    group="customers",
    time_column="scored_at",
    columns=(
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("scored_at", "timestamp", "End of the as_of day (UTC): when the scores hold."),
        Column("as_of", "date", "Last local day of the purchases the scores read."),
        Column("model", "string", "Purchase model and spend model, e.g. bgnbd+gamma-gamma."),
        Column("frequency", "int", "Repeat purchase days (x) through as_of."),
        Column("recency_days", "int", "Days from the first to the last purchase day (t_x)."),
        Column("age_days", "int", "Days from the first purchase day to as_of (T)."),
        Column("horizon_days", "int", "Horizon of expected_purchases and clv, in days."),
        Column("expected_purchases", "float", "Expected purchases within the horizon."),
        Column("expected_purchases_1y", "float", "Expected purchases within a year."),
        Column("p_alive", "float", "Probability the customer is still active."),
        Column("expected_spend", "float", "Expected spend per purchase (Gamma-Gamma)."),
        Column("margin_rate", "float", "Gross margin share of spend used for the value."),
        Column("clv", "float", "Discounted gross margin expected within the horizon."),
        Column("clv_3y", "float", "Discounted gross margin expected within 3 years."),
    ),
)

#: The fitted CLV models and their settings: a load re-scores customers with them.
CLV_MODELS = Table(
    name="clv_models",
    description=(
        "Fitted CLV models: parameters, standard errors and fit settings (JSON) per model, "
        "used to re-score customer_scores after each load without refitting."
    ),
    primary_key=("model",),
    kind="derived",
    group="customers",
    columns=(
        Column("model", "string", "bgnbd, pareto or gamma-gamma."),
        Column("fitted_at", "timestamp", "When the model was fitted (UTC)."),
        Column("calibration_end", "date", "Last local day of the purchases fitted."),
        Column("time_unit", "string", "day or week."),
        Column("customers", "int", "Customers (or repeat buyers) in the fit."),
        Column("log_likelihood", "float", "Maximised log-likelihood."),
        Column("parameters", "string", "Parameter values by name (JSON)."),
        Column("standard_errors", "string", "Standard errors by name (JSON)."),
        Column("settings", "string", "Scoring settings: horizon, discount and margin (JSON)."),
    ),
)

#: When each purchase's customer counts as soon to be lost by the fitted purchase model.
PURCHASE_LOST_DATES = Table(
    name="purchase_lost_dates",
    description=(
        "Per paid or completed order of a known customer: the first day on which the fitted "
        "purchase model's P(alive) would fall below 0.5 were there no later purchase "
        "(`soon_to_be_lost_customers` counts customers from that day until their next "
        "purchase); written with customer_scores, from the same model and purchases."
    ),
    primary_key=("order_id",),
    kind="derived",
    group="customers",
    columns=(
        Column("order_id", "string", "Order.", references="orders.order_id"),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("purchased_on", "date", "Local day of the purchase."),
        Column(
            "lost_on",
            "date",
            "First local day with P(alive) < 0.5 after the purchase; the purchase day + 365 "
            "(the activity window's end) when it stays above until then.",
        ),
        Column("model", "string", "Purchase model, e.g. bgnbd."),
    ),
)

#: Position-based attributed revenue (omnikpi.marketing.attributed), read by `roas`.
ATTRIBUTED_REVENUE = Table(
    name="attributed_revenue",
    description=(
        "Attribution credit, derived and aggregated (no customer in it): every paid or "
        "completed order's journey (30-day lookback, store orders included) credited by the "
        "position-based model (40% first touch, 40% last, 20% between), summed per local day "
        "of the order, channel, campaign and online/store; rewritten by "
        "services.attributed_revenue after each load that changed orders, sessions, "
        "touchpoints or messages (docs/attribution.md)."
    ),
    # One row per date, channel, campaign (null for visits without one), offline, model and
    # lookback: no key of required columns.
    primary_key=(),
    kind="derived",
    time_column="date",
    group="marketing",
    columns=(
        Column("date", "date", "Local day of the order."),
        Column("channel", "string", "Channel of the credited touches."),
        Column(
            "campaign_id",
            "string",
            "Campaign of the touches; null for visits without one.",
            nullable=True,
            references="campaigns.campaign_id",
        ),
        Column("offline", "bool", "The order was placed in a store."),
        Column("model", "string", "Attribution model: position."),
        Column("lookback_days", "float", "Days of touches before an order: 30."),
        Column("conversions", "float", "Attributed orders (fractions of orders)."),
        Column("revenue", "float", "Attributed net revenue (DOUBLE: shares of orders)."),
    ),
)

DERIVED_TABLES = (
    CUSTOMER_PROFILES,
    CUSTOMER_SCORES,
    CLV_MODELS,
    PURCHASE_LOST_DATES,
    ATTRIBUTED_REVENUE,
)
