"""How visitors arrive: traffic sources, their mixes, utm tags, landing pages, devices."""

from __future__ import annotations

import numpy as np

from omnikpi.model.enums import TrafficSource
from omnikpi.simulate.clicks import BLOG, CATEGORY, HOME, PRODUCT

SOURCES = np.array([source.value for source in TrafficSource])
S = {name: i for i, name in enumerate(SOURCES)}
#: Traffic-source mix of sessions not started from a message (email, SMS, push excluded).
SOURCE_MIX = np.array([0.27, 0.22, 0.17, 0.05, 0.09, 0.07, 0, 0, 0, 0.06, 0.07])
APP_SOURCE_MIX = np.array([0.7, 0.02, 0.06, 0.04, 0.1, 0.04, 0, 0, 0, 0.02, 0.02])
#: utm source and medium per traffic source.
UTM = {
    "direct": ("", ""),
    "organic_search": ("naver", "organic"),
    "paid_search": ("naver", "cpc"),
    "display": ("gdn", "display"),
    "paid_social": ("instagram", "paid_social"),
    "organic_social": ("instagram", "social"),
    "email": ("newsletter", "email"),
    "sms": ("sms", "sms"),
    "app_push": ("app", "push"),
    "affiliate": ("affiliate-network", "affiliate"),
    "referral": ("blog.naver.com", "referral"),
}
#: Landing page mix (home, category, product, blog) by traffic source.
LANDING_MIX = {
    "direct": [0.7, 0.15, 0.15, 0.0],
    "organic_search": [0.15, 0.15, 0.45, 0.25],
    "paid_search": [0.2, 0.3, 0.5, 0.0],
    "display": [0.3, 0.3, 0.4, 0.0],
    "paid_social": [0.3, 0.3, 0.4, 0.0],
    "organic_social": [0.3, 0.0, 0.4, 0.3],
    "email": [0.3, 0.4, 0.3, 0.0],
    "sms": [0.3, 0.4, 0.3, 0.0],
    "app_push": [0.4, 0.3, 0.3, 0.0],
    "affiliate": [0.2, 0.3, 0.5, 0.0],
    "referral": [0.4, 0.0, 0.3, 0.3],
}
LANDING_TYPES = np.array([HOME, CATEGORY, PRODUCT, BLOG])
DEVICES = np.array(["desktop", "mobile", "tablet"])
DEVICE_LOAD_MS = np.array([1100.0, 1700.0, 1500.0])
APP_LOAD_MS = 800.0
PAID = {
    "paid_search": "search",
    "display": "display",
    "paid_social": "social",
    "affiliate": "affiliate",
}
