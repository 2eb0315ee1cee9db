"""Pages and events inside sessions: the click path from landing page to purchase."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omnikpi.simulate import reference as ref
from omnikpi.simulate.arrays import make_ids, optional, rank_within, take_ids
from omnikpi.simulate.world import World

PAGE_TYPES = np.array(
    ["home", "category", "product", "search", "blog", "cart", "checkout", "account", "other"]
)
HOME, CATEGORY, PRODUCT, SEARCH, BLOG, CART, CHECKOUT, ACCOUNT, OTHER = range(9)
#: Page types of pages browsed after landing.
BROWSE_MIX = np.array([0.06, 0.25, 0.45, 0.12, 0.05, 0.0, 0.0, 0.04, 0.03])
SEARCH_TERMS = np.array(ref.SEARCH_TERMS_FOUND + ref.SEARCH_TERMS_EMPTY)
N_FOUND = len(ref.SEARCH_TERMS_FOUND)
N_BANNERS = 6
N_BLOG_POSTS = 24

# Session intents.
BROWSE, CART_ONLY, CHECKOUT_ABANDON, PURCHASE = range(4)


@dataclass
class Paths:
    """Flat page rows of many sessions, sorted by session then position."""

    session: np.ndarray
    page_type: np.ndarray
    product: np.ndarray
    search_term: np.ndarray
    cart_item: np.ndarray
    offset: np.ndarray  # seconds after the session start


def build_paths(
    rng: np.random.Generator,
    world: World,
    intent: np.ndarray,
    landing: np.ndarray,
    browse_pages: np.ndarray,
    cart_session: np.ndarray,
    cart_product: np.ndarray,
) -> Paths:
    """Page sequences: landing, browsing, products put in the cart, cart, checkout, confirmation.

    `cart_session`/`cart_product` list the products each session adds to its cart.
    """
    products = world.products
    n = len(intent)
    cumulative = np.cumsum(products.popularity)

    def popular(k: int) -> np.ndarray:
        return np.asarray(
            np.searchsorted(cumulative, rng.random(k) * cumulative[-1]), dtype=np.int64
        )

    browse_session = np.repeat(np.arange(n), browse_pages)
    b = len(browse_session)
    browse_type = rng.choice(9, size=b, p=BROWSE_MIX)
    k = len(cart_session)
    has_cart_page = intent >= CART_ONLY
    cart_page = has_cart_page & ((intent > CART_ONLY) | (rng.random(n) < 0.7))
    checkout = intent >= CHECKOUT_ABANDON
    confirm = intent == PURCHASE
    sessions = np.concatenate(
        [
            np.arange(n),
            browse_session,
            cart_session,
            np.nonzero(cart_page)[0],
            np.nonzero(checkout)[0],
            np.nonzero(confirm)[0],
        ]
    )
    position = np.concatenate(
        [
            np.zeros(n),
            1 + rank_within(browse_session),
            1000 + rank_within(cart_session),
            np.full(cart_page.sum(), 2000),
            np.full(checkout.sum(), 3000),
            np.full(confirm.sum(), 4000),
        ]
    )
    page_type = np.concatenate(
        [
            landing,
            browse_type,
            np.full(k, PRODUCT),
            np.full(cart_page.sum(), CART),
            np.full(checkout.sum(), CHECKOUT),
            np.full(confirm.sum(), CHECKOUT),
        ]
    )
    product = np.concatenate(
        [
            popular(n),
            popular(b),
            cart_product,
            np.full(cart_page.sum() + checkout.sum() + confirm.sum(), -1),
        ]
    )
    cart_item = np.concatenate(
        [
            np.zeros(n + b, bool),
            np.ones(k, bool),
            np.zeros(cart_page.sum() + checkout.sum() + confirm.sum(), bool),
        ]
    )
    order = np.lexsort((position, sessions))
    sessions, page_type, product, cart_item = (
        sessions[order],
        page_type[order],
        product[order],
        cart_item[order],
    )
    product = np.where(page_type == PRODUCT, product, -1)
    zero_p = np.where(intent[sessions] == PURCHASE, 0.03, 0.1)
    zero = rng.random(len(sessions)) < zero_p
    term = np.where(
        zero,
        N_FOUND + rng.integers(0, len(SEARCH_TERMS) - N_FOUND, len(sessions)),
        rng.integers(0, N_FOUND, len(sessions)),
    )
    term = np.where(page_type == SEARCH, term, -1)
    dwell = rng.lognormal(np.log(35.0), 0.9, len(sessions))
    dwell = np.minimum(dwell, 1800)
    starts = np.r_[0, np.nonzero(np.diff(sessions))[0] + 1]
    elapsed = np.cumsum(dwell) - dwell
    offset = elapsed - np.repeat(elapsed[starts], np.diff(np.r_[starts, len(sessions)]))
    return Paths(sessions, page_type, product, term, cart_item, np.floor(offset))


@dataclass
class SessionFacts:
    """What the events need to know about each session."""

    ids: pa.Array
    visitor: pa.Array
    customer: pa.Array
    start: np.ndarray
    load_base: np.ndarray
    landing_load: np.ndarray
    order: pa.Array
    signup: np.ndarray
    login: np.ndarray


def build_events(
    rng: np.random.Generator, world: World, paths: Paths, s: SessionFacts, first_number: int
) -> pa.Table:
    """Event rows for the pages of every session, in time order."""
    cal = world.calendar
    page = np.arange(len(paths.session))
    sess = paths.session
    t = s.start[sess] + paths.offset
    pt = paths.page_type
    first_page = np.r_[True, np.diff(sess) != 0]
    last_position = np.r_[np.diff(sess) != 0, True]
    is_confirm = (
        (pt == CHECKOUT) & last_position & (s.order.is_valid().to_numpy(zero_copy_only=False)[sess])
    )
    home = pt == HOME
    banner_view = home & (rng.random(len(page)) < 0.8)
    banner_click = banner_view & (rng.random(len(page)) < 0.07)
    kinds = [
        ("page_view", np.ones(len(page), bool), 0),
        ("login", first_page & s.login[sess], 1),
        ("product_view", pt == PRODUCT, 1),
        ("search", pt == SEARCH, 1),
        ("banner_view", banner_view, 1),
        ("banner_click", banner_click, 3),
        ("add_to_cart", paths.cart_item, 5),
        ("remove_from_cart", (pt == CART) & (rng.random(len(page)) < 0.1), 4),
        ("begin_checkout", (pt == CHECKOUT) & ~is_confirm, 2),
        ("signup", is_confirm & s.signup[sess], 1),
        ("purchase", is_confirm, 2),
        ("chat_start", np.isin(pt, [PRODUCT, CHECKOUT]) & (rng.random(len(page)) < 0.012), 6),
    ]
    pages = np.concatenate([page[mask] for _, mask, _ in kinds])
    sub = np.concatenate([np.full(mask.sum(), k) for _, mask, k in kinds])
    kind = np.concatenate([np.full(mask.sum(), name) for name, mask, _ in kinds])
    order = np.lexsort((sub, pages))
    pages, sub, kind = pages[order], sub[order], kind[order]
    when = t[pages] + sub
    es = sess[pages]
    ptype = pt[pages]
    is_pv = kind == "page_view"
    load = s.load_base[es] * rng.lognormal(0, 0.45, len(pages)) * world.slowness_at(when)
    # The landing page's load time was fixed when the bounce was decided.
    landing_pv = is_pv & first_page[pages]
    load = np.where(landing_pv, s.landing_load[es], load)
    product = paths.product[pages]
    has_product = (product >= 0) & np.isin(kind, ["product_view", "add_to_cart", "page_view"])
    has_product &= ptype == PRODUCT
    term = paths.search_term[pages]
    is_search = kind == "search"
    results = np.where(term < N_FOUND, 4 + (term * 7) % 60, 0)
    banner = np.isin(kind, ["banner_view", "banner_click"])
    is_purchase = kind == "purchase"
    path = _paths(world, ptype, product, rng)
    m = len(pages)
    return pa.table(
        {
            "event_id": make_ids("E", first_number + np.arange(m), 11),
            "session_id": s.ids.take(pa.array(es)),
            "visitor_id": s.visitor.take(pa.array(es)),
            "customer_id": s.customer.take(pa.array(es)),
            "occurred_at": cal.to_utc(when),
            "event_type": kind,
            "page_type": PAGE_TYPES[ptype],
            "page_path": path,
            "product_id": take_ids(world.products.ids, product, has_product),
            "search_query": optional(SEARCH_TERMS[np.maximum(term, 0)], is_search),
            "search_results": optional(results, is_search),
            "banner_id": optional(
                np.char.add("BNR-", ((es + pages) % N_BANNERS + 1).astype(str)), banner
            ),
            "order_id": pc.if_else(
                pa.array(is_purchase), s.order.take(pa.array(es)), pa.nulls(m, pa.string())
            ),
            "load_ms": optional(np.round(load).astype(np.int64), is_pv),
        }
    )


def _paths(
    world: World, ptype: np.ndarray, product: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """URL paths per page type (product pages name the product, categories the category)."""
    m = len(ptype)
    base = pa.array(
        np.array(
            [
                "/",
                "/c/",
                "/p/",
                "/search",
                "/blog/post-",
                "/cart",
                "/checkout",
                "/account",
                "/events",
            ]
        )[ptype]
    )
    categories = np.array([c[0] for c in ref.CATEGORIES])
    category = pa.array(categories[rng.integers(0, len(categories), m)])
    blog = pa.array(rng.integers(1, N_BLOG_POSTS + 1, m)).cast(pa.string())
    product_id = world.products.ids.take(pa.array(np.maximum(product, 0)))
    empty = pa.array(np.full(m, ""))
    suffix = pc.if_else(
        pa.array((ptype == PRODUCT) & (product >= 0)),
        product_id,
        pc.if_else(
            pa.array(ptype == CATEGORY), category, pc.if_else(pa.array(ptype == BLOG), blog, empty)
        ),
    )
    return pc.binary_join_element_wise(base, suffix, "")
