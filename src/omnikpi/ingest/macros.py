"""SQL macros the packaged presets share: traffic-source grouping and page types.

Declared once here so the GA4 preset and the event collector classify a visit the same
way. They are created as temporary macros on the load's connection.
"""

from __future__ import annotations

from omnikpi.warehouse import Warehouse

_SEARCH_ENGINES = "google|bing|naver|daum|yahoo|baidu|duckduckgo|yandex|ecosia|nate|zum"
_SOCIAL = "facebook|instagram|fb|ig|meta|tiktok|twitter|x|t\\.co|linkedin|pinterest|youtube|kakao"

#: Default channel grouping of a visit from utm source/medium and the referrer URL,
#: simplified from Google Analytics' default channel group rules: paid media by medium,
#: then social and search sources, then referrals; no source at all is direct.
TRAFFIC_SOURCE = rf"""
CREATE OR REPLACE TEMP MACRO traffic_source(source, medium, referrer) AS (
  WITH v AS (SELECT lower(coalesce(source, '')) AS s, lower(coalesce(medium, '')) AS m,
                    lower(coalesce(regexp_extract(referrer, '^[a-z]+://([^/:?#]+)', 1), '')) AS r)
  SELECT CASE
    WHEN m IN ('email', 'e-mail', 'newsletter') OR s = 'email' THEN 'email'
    WHEN m IN ('sms', 'lms', 'mms', 'kakao_message', 'alimtalk') THEN 'sms'
    WHEN m IN ('push', 'app_push', 'mobile_notification', 'notification') THEN 'app_push'
    WHEN m IN ('affiliate', 'affiliates', 'partner') THEN 'affiliate'
    WHEN m IN ('display', 'cpm', 'banner', 'programmatic', 'interstitial') THEN 'display'
    WHEN m IN ('paid_social', 'paidsocial', 'social_paid', 'social-paid', 'paid-social')
      OR (m IN ('cpc', 'ppc', 'paid', 'cpa') AND regexp_matches(s, '^({_SOCIAL})(\.|$)'))
      THEN 'paid_social'
    WHEN m IN ('cpc', 'ppc', 'paidsearch', 'paid_search', 'paid-search', 'sem') THEN 'paid_search'
    WHEN m IN ('social', 'social-network', 'social_network', 'social-media', 'social_media',
               'sm', 'organic_social')
      OR regexp_matches(s, '^({_SOCIAL})(\.|$)')
      OR regexp_matches(r, '(^|\.)({_SOCIAL})\.[a-z.]+$') THEN 'organic_social'
    WHEN m = 'organic' OR regexp_matches(s, '^({_SEARCH_ENGINES})(\.|$)')
      OR regexp_matches(r, '(^|\.)({_SEARCH_ENGINES})\.[a-z.]+$') THEN 'organic_search'
    WHEN m = 'referral' OR s NOT IN ('', '(direct)', 'direct', '(not set)') OR r <> ''
      THEN 'referral'
    ELSE 'direct'
  END FROM v
)
"""

#: Page type of a URL or path, from the URL conventions of common shop systems.
PAGE_TYPE = r"""
CREATE OR REPLACE TEMP MACRO page_type(url) AS (
  WITH v AS (SELECT lower(coalesce(regexp_replace(url, '^[a-z]+://[^/]+', ''), '')) AS p)
  SELECT CASE
    WHEN regexp_matches(p, '^/?(index\.html?)?([?#].*)?$') THEN 'home'
    WHEN regexp_matches(p, '(^|/)(p|product|products|item|items|goods|dp)/') THEN 'product'
    WHEN regexp_matches(p, '(^|/)search|[?&](q|query|keyword|search)=') THEN 'search'
    WHEN regexp_matches(p, '(^|/)(cart|basket|bag)([/?#]|$)') THEN 'cart'
    WHEN regexp_matches(p, '(^|/)(checkout|checkouts|order|payment)([/?#]|$)') THEN 'checkout'
    WHEN regexp_matches(p, '(^|/)(account|login|signup|register|mypage|my)([/?#]|$)') THEN 'account'
    WHEN regexp_matches(p, '(^|/)(blog|blogs|magazine|journal|news|story)([/?#]|$)') THEN 'blog'
    WHEN regexp_matches(p, '(^|/)(c|category|categories|collections|shop|catalog)/') THEN 'category'
    ELSE 'other'
  END FROM v
)
"""

#: The path of a URL without host, query or fragment: `https://x.kr/p/1?a=b` → `/p/1`.
URL_PATH = r"""
CREATE OR REPLACE TEMP MACRO url_path(url) AS
  coalesce(nullif(regexp_extract(regexp_replace(url, '^[a-z]+://[^/]+', ''), '^[^?#]*'), ''), '/')
"""


_GA4_VALUE = '{"string_value":"VARCHAR","int_value":"VARCHAR","float_value":"VARCHAR",' + (
    '"double_value":"VARCHAR"}'
)
_GA4_ITEM_FIELDS = (
    "item_id",
    "item_name",
    "item_brand",
    "item_variant",
    "item_category",
    "item_category2",
    "price",
    "quantity",
    "item_revenue",
    "coupon",
    "promotion_id",
    "promotion_name",
)
_GA4_ITEM = "{" + ",".join(f'"{name}":"VARCHAR"' for name in _GA4_ITEM_FIELDS) + "}"

#: GA4 BigQuery export helpers. Nested records are read through JSON with a fixed shape,
#: so JSON Lines exports (INT64 written as strings, null fields left out) and Parquet
#: exports give the same text values.
GA4 = (
    "CREATE OR REPLACE TEMP MACRO ga4_params(params) AS "
    f'from_json(to_json(params), \'[{{"key":"VARCHAR","value":{_GA4_VALUE}}}]\')',
    "CREATE OR REPLACE TEMP MACRO ga4_param(params, name) AS "
    "list_filter(params, lambda p: p.key = name)[1].value.string_value",
    "CREATE OR REPLACE TEMP MACRO ga4_number(params, name) AS coalesce("
    "list_filter(params, lambda p: p.key = name)[1].value.int_value, "
    "list_filter(params, lambda p: p.key = name)[1].value.double_value, "
    "list_filter(params, lambda p: p.key = name)[1].value.float_value)",
    f"CREATE OR REPLACE TEMP MACRO ga4_items(items) AS from_json(to_json(items), '[{_GA4_ITEM}]')",
)


def create_macros(warehouse: Warehouse) -> None:
    """Create the shared macros on the warehouse's connection (temporary: gone on close)."""
    for statement in (TRAFFIC_SOURCE, PAGE_TYPE, URL_PATH, *GA4):
        warehouse.run_sql(statement)
