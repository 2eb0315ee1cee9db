"""Customers, catalog, stores and the order-to-cash tables."""

from __future__ import annotations

from omnikpi.model import enums as e
from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

STORES = Table(
    name="stores",
    description="Physical locations: stores and distribution centres.",
    primary_key=("store_id",),
    columns=(
        C("store_id", "string", "Store or distribution-centre id."),
        C("name", "string", "Display name, as the data has it."),
        C(
            "name_ko",
            "string",
            "Name in Korean, shown on Korean pages; null: the display name.",
            nullable=True,
        ),
        C(
            "name_en",
            "string",
            "Name in English, shown on English pages; null: the display name.",
            nullable=True,
        ),
        C("kind", "string", "Flagship, store, outlet or distribution centre.", enum=e.LocationKind),
        C("region", "string", "Region (province or metropolitan city)."),
        C("city", "string", "City or district."),
        C("latitude", "float", "Latitude in degrees (WGS84)."),
        C("longitude", "float", "Longitude in degrees (WGS84)."),
        C("opened_on", "date", "Local opening date."),
        C("closed_on", "date", "Local closing date; null while open.", nullable=True),
        C("time_zone", "string", "IANA time zone of the location."),
        C("area_sqm", "float", "Sales floor area in square metres.", nullable=True),
    ),
)

PRODUCTS = Table(
    name="products",
    description="The product catalog with list prices and unit costs.",
    primary_key=("product_id",),
    columns=(
        C("product_id", "string", "Product id."),
        C("sku", "string", "Stock-keeping unit code."),
        C("name", "string", "Product name."),
        C("category", "string", "Top-level category (e.g. skincare)."),
        C("subcategory", "string", "Subcategory (e.g. serum)."),
        C("brand", "string", "Brand."),
        C(
            "list_price",
            "money",
            "Regular selling price, tax included; null when the source does not say "
            "(e.g. a catalog product never sold in the exported orders).",
            nullable=True,
        ),
        C(
            "unit_cost",
            "money",
            "Landed cost of one unit; null when the source has no costs.",
            nullable=True,
        ),
        C("currency", "string", "ISO 4217 currency of the prices."),
        C(
            "launched_on",
            "date",
            "Local launch date; null when the source does not say.",
            nullable=True,
        ),
        C("discontinued_on", "date", "Local date it left the range.", nullable=True),
    ),
)

CUSTOMERS = Table(
    name="customers",
    description=(
        "One row per known customer. Personal identifiers are pseudonymized (keyed hash); "
        "consent and membership carry their change times so that snapshots at any date work."
    ),
    primary_key=("customer_id",),
    time_column="created_at",
    columns=(
        C("customer_id", "string", "Customer id."),
        C("created_at", "timestamp", "When the customer record was created (UTC)."),
        C("acquisition_channel", "string", "Channel of the first contact.", enum=e.SalesChannel),
        C(
            "acquisition_source",
            "string",
            "Traffic source of the first contact.",
            nullable=True,
            enum=e.TrafficSource,
        ),
        C("region", "string", "Home region.", nullable=True),
        C("city", "string", "Home city or district.", nullable=True),
        C("postcode", "string", "Postcode.", nullable=True),
        C("latitude", "float", "Home latitude (postcode centroid).", nullable=True),
        C("longitude", "float", "Home longitude (postcode centroid).", nullable=True),
        C(
            "home_store_id",
            "string",
            "Nearest or preferred store.",
            nullable=True,
            references="stores.store_id",
        ),
        C("birth_year", "int", "Year of birth.", nullable=True),
        C("gender", "string", "Gender as declared.", enum=e.Gender),
        C("is_member", "bool", "Member of the loyalty program now."),
        C("member_since", "timestamp", "When the customer joined the program.", nullable=True),
        C("member_until", "timestamp", "When the customer left the program.", nullable=True),
        C("member_tier", "string", "Current loyalty tier.", nullable=True, enum=e.MemberTier),
        C("email_opt_in_at", "timestamp", "When email marketing consent was given.", nullable=True),
        C("email_opt_out_at", "timestamp", "When email consent was withdrawn.", nullable=True),
        C("sms_opt_in_at", "timestamp", "When SMS consent was given.", nullable=True),
        C("sms_opt_out_at", "timestamp", "When SMS consent was withdrawn.", nullable=True),
        C("push_opt_in_at", "timestamp", "When app-push consent was given.", nullable=True),
        C("push_opt_out_at", "timestamp", "When app-push consent was withdrawn.", nullable=True),
        C("email_hash", "string", "Keyed hash of the e-mail address.", nullable=True),
        C("phone_hash", "string", "Keyed hash of the phone number.", nullable=True),
        C("is_business", "bool", "Business account buying on invoice."),
    ),
)

ORDERS = Table(
    name="orders",
    description=(
        "One row per order in any channel. Amounts are tax included; "
        "net_amount = gross_amount - discount_amount (merchandise after discounts) and "
        "total_amount = net_amount + shipping_amount."
    ),
    primary_key=("order_id",),
    time_column="placed_at",
    columns=(
        C("order_id", "string", "Order id."),
        C(
            "customer_id",
            "string",
            "Buyer; null for guest orders.",
            nullable=True,
            references="customers.customer_id",
        ),
        C("channel", "string", "Sales channel the order was placed in.", enum=e.SalesChannel),
        C(
            "store_id",
            "string",
            "Store of a store order, or pickup store of click & collect.",
            nullable=True,
            references="stores.store_id",
        ),
        C("marketplace", "string", "Marketplace name for marketplace orders.", nullable=True),
        C(
            "session_id",
            "string",
            "Web/app session the order was placed in.",
            nullable=True,
            references="sessions.session_id",
        ),
        C("placed_at", "timestamp", "When the order was placed (UTC)."),
        C("status", "string", "Current status.", enum=e.OrderStatus),
        C("status_changed_at", "timestamp", "When the status last changed (UTC)."),
        C(
            "payment_method",
            "string",
            "Main payment method; null when the source does not say.",
            nullable=True,
            enum=e.PaymentMethod,
        ),
        C(
            "fulfilment",
            "string",
            "Delivery, click & collect or taken in store.",
            enum=e.Fulfilment,
        ),
        C("currency", "string", "ISO 4217 currency."),
        C("gross_amount", "money", "Sum of line quantity x unit price."),
        C("discount_amount", "money", "Sum of line discounts (coupons allocated to lines)."),
        C("net_amount", "money", "Merchandise revenue: gross minus discount."),
        C("shipping_amount", "money", "Shipping fee charged."),
        C("tax_amount", "money", "VAT included in net and shipping."),
        C("total_amount", "money", "Amount charged: net plus shipping."),
        C(
            "campaign_id",
            "string",
            "Campaign credited by last click or coupon.",
            nullable=True,
            references="campaigns.campaign_id",
        ),
        C("coupon_code", "string", "Coupon redeemed.", nullable=True),
    ),
)

ORDER_LINES = Table(
    name="order_lines",
    description="Products in an order. net_amount = quantity x unit_price - discount_amount.",
    primary_key=("order_id", "line_number"),
    columns=(
        C("order_id", "string", "Order.", references="orders.order_id"),
        C("line_number", "int", "Position in the order, from 1."),
        C("product_id", "string", "Product.", references="products.product_id"),
        C("quantity", "int", "Units ordered (positive)."),
        C("unit_price", "money", "Price per unit before discount."),
        C("discount_amount", "money", "Discount on the line (markdown or coupon share)."),
        C("net_amount", "money", "Line revenue after discount."),
        C(
            "unit_cost",
            "money",
            "Cost of one unit at the time of sale; null when the source has no costs.",
            nullable=True,
        ),
    ),
)

PAYMENTS = Table(
    name="payments",
    description="Payment transactions of orders.",
    primary_key=("payment_id",),
    time_column="created_at",
    columns=(
        C("payment_id", "string", "Payment id."),
        C("order_id", "string", "Order paid.", references="orders.order_id"),
        C(
            "method",
            "string",
            "Payment method; null when the source does not say.",
            nullable=True,
            enum=e.PaymentMethod,
        ),
        C("status", "string", "Captured, failed or refunded.", enum=e.PaymentStatus),
        C("amount", "money", "Amount."),
        C("currency", "string", "ISO 4217 currency."),
        C("created_at", "timestamp", "When the transaction happened (UTC)."),
    ),
)

SHIPMENTS = Table(
    name="shipments",
    description="Parcels sent for delivery or click & collect orders.",
    primary_key=("shipment_id",),
    time_column="shipped_at",
    columns=(
        C("shipment_id", "string", "Shipment id."),
        C("order_id", "string", "Order shipped.", references="orders.order_id"),
        C(
            "from_location_id",
            "string",
            "Own shipping location; null for third-party sellers or when unknown.",
            nullable=True,
            references="stores.store_id",
        ),
        C("carrier", "string", "Carrier."),
        C("status", "string", "Pending, shipped or delivered.", enum=e.ShipmentStatus),
        C("promised_date", "date", "Local delivery date promised at checkout."),
        C("shipped_at", "timestamp", "When the parcel left (UTC).", nullable=True),
        C(
            "delivered_at",
            "timestamp",
            "When it was delivered or ready for pickup (UTC).",
            nullable=True,
        ),
        C("parcels", "int", "Number of boxes."),
    ),
)

RETURNS = Table(
    name="returns",
    description="Returned order lines with the refund and restock times.",
    primary_key=("return_id",),
    time_column="requested_at",
    columns=(
        C("return_id", "string", "Return id."),
        C("order_id", "string", "Order.", references="orders.order_id"),
        C("line_number", "int", "Order line returned."),
        C("product_id", "string", "Product returned.", references="products.product_id"),
        C("quantity", "int", "Units returned."),
        C("reason", "string", "Reason given.", enum=e.ReturnReason),
        C("requested_at", "timestamp", "When the return was requested (UTC)."),
        C("received_at", "timestamp", "When the goods arrived back (UTC).", nullable=True),
        C("restocked_at", "timestamp", "When they were sellable again (UTC).", nullable=True),
        C("refund_amount", "money", "Amount refunded."),
        C("refunded_at", "timestamp", "When the refund was paid (UTC).", nullable=True),
    ),
)

INVOICES = Table(
    name="invoices",
    description="Invoices of business customers buying on account.",
    primary_key=("invoice_id",),
    time_column="issued_at",
    kind="secondary",
    columns=(
        C("invoice_id", "string", "Invoice id."),
        C("customer_id", "string", "Business customer.", references="customers.customer_id"),
        C("order_id", "string", "Order invoiced.", nullable=True, references="orders.order_id"),
        C("issued_at", "timestamp", "When the invoice was issued (UTC)."),
        C("due_date", "date", "Local date payment is due."),
        C("amount", "money", "Amount due."),
        C("currency", "string", "ISO 4217 currency."),
        C("paid_at", "timestamp", "When it was paid in full (UTC).", nullable=True),
    ),
)

TABLES = (STORES, PRODUCTS, CUSTOMERS, ORDERS, ORDER_LINES, PAYMENTS, SHIPMENTS, RETURNS, INVOICES)
