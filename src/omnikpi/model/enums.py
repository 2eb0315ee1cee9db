"""Categorical values of the canonical model; mapped sources must use exactly these."""

from __future__ import annotations

from enum import StrEnum


class SalesChannel(StrEnum):
    """Where an order is placed or a visit happens."""

    WEB = "web"
    APP = "app"
    STORE = "store"
    MARKETPLACE = "marketplace"
    CALL = "call"


class VisitChannel(StrEnum):
    """Digital properties that produce sessions."""

    WEB = "web"
    APP = "app"


class Device(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"


class TrafficSource(StrEnum):
    """Default channel grouping of a session (what brought the visitor)."""

    DIRECT = "direct"
    ORGANIC_SEARCH = "organic_search"
    PAID_SEARCH = "paid_search"
    DISPLAY = "display"
    PAID_SOCIAL = "paid_social"
    ORGANIC_SOCIAL = "organic_social"
    EMAIL = "email"
    SMS = "sms"
    APP_PUSH = "app_push"
    AFFILIATE = "affiliate"
    REFERRAL = "referral"


class MarketingChannel(StrEnum):
    """Paid and owned marketing vehicles (campaign channels)."""

    SEARCH = "search"
    DISPLAY = "display"
    SOCIAL = "social"
    AFFILIATE = "affiliate"
    EMAIL = "email"
    SMS = "sms"
    APP_PUSH = "app_push"


class CampaignObjective(StrEnum):
    ACQUISITION = "acquisition"
    RETENTION = "retention"
    REACTIVATION = "reactivation"
    BRAND = "brand"


class OrderStatus(StrEnum):
    """Order lifecycle: placed → paid → completed, or cancelled."""

    PLACED = "placed"
    PAID = "paid"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Fulfilment(StrEnum):
    DELIVERY = "delivery"
    CLICK_COLLECT = "click_collect"
    IN_STORE = "in_store"


class PaymentMethod(StrEnum):
    CARD = "card"
    MOBILE_PAY = "mobile_pay"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    GIFT_CARD = "gift_card"
    INVOICE = "invoice"


class PaymentStatus(StrEnum):
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class ReturnReason(StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    CHANGED_MIND = "changed_mind"
    LATE_DELIVERY = "late_delivery"
    OTHER = "other"


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    BEGIN_CHECKOUT = "begin_checkout"
    PURCHASE = "purchase"
    SIGNUP = "signup"
    LOGIN = "login"
    BANNER_VIEW = "banner_view"
    BANNER_CLICK = "banner_click"
    CHAT_START = "chat_start"


class PageType(StrEnum):
    HOME = "home"
    CATEGORY = "category"
    PRODUCT = "product"
    SEARCH = "search"
    BLOG = "blog"
    CART = "cart"
    CHECKOUT = "checkout"
    ACCOUNT = "account"
    OTHER = "other"


class ServiceChannel(StrEnum):
    """Where a customer-service contact arrives."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"


class TicketKind(StrEnum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"


class TicketTopic(StrEnum):
    DELIVERY = "delivery"
    PRODUCT = "product"
    PAYMENT = "payment"
    RETURN = "return"
    ACCOUNT = "account"
    OTHER = "other"


class SocialPlatform(StrEnum):
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    X = "x"
    KAKAOTALK = "kakaotalk"
    YOUTUBE = "youtube"


class SurveyKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    BRAND_LIFT = "brand_lift"
    PROGRAM_AWARENESS = "program_awareness"


class ExposureGroup(StrEnum):
    EXPOSED = "exposed"
    CONTROL = "control"


class MessageChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    APP_MESSAGE = "app_message"


class TouchpointKind(StrEnum):
    IMPRESSION = "impression"
    CLICK = "click"
    MESSAGE_OPEN = "message_open"
    MESSAGE_CLICK = "message_click"


class LoyaltyEntryKind(StrEnum):
    EARN = "earn"
    BURN = "burn"
    EXPIRE = "expire"
    ADJUST = "adjust"


class MemberTier(StrEnum):
    WELCOME = "welcome"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class LocationKind(StrEnum):
    FLAGSHIP = "flagship"
    STORE = "store"
    OUTLET = "outlet"
    DISTRIBUTION_CENTER = "distribution_center"


class ExperimentKind(StrEnum):
    AB_TEST = "ab_test"
    CAMPAIGN_HOLDOUT = "campaign_holdout"


class ExperimentUnit(StrEnum):
    VISITOR = "visitor"
    CUSTOMER = "customer"


class SiteCheckTarget(StrEnum):
    HOME = "home"
    PRODUCT = "product"
    CHECKOUT = "checkout"
    API = "api"
