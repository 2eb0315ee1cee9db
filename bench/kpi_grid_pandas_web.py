"""Pandas baselines of the marketing and web KPIs: spend, reach, sessions, funnels, pages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_grid_pandas_steps import KEYS, GridFrames, divide, group, local_day, per_day


def marketing(grid: GridFrames) -> None:
    m = grid.t["marketing_daily"]
    m = per_day(m, pd.to_datetime(m["date"]), m["channel"])
    m = m[grid.within(m["day"])]
    g = group(m).agg(impressions=("impressions", "sum"), clicks=("clicks", "sum"))
    g["channel_ctr"] = divide(g["clicks"], g["impressions"])
    grid.emit(g, ["impressions", "channel_ctr"])

    spend = group(m).agg(spend=("spend", "sum")).reset_index()
    o = grid.t["orders"]
    channel = o["campaign_id"].map(grid.t["campaigns"].set_index("campaign_id")["channel"])
    o = per_day(o, local_day(o["placed_at"]), channel.astype(object))
    orders = group(o[grid.within(o["day"])]).size().rename("orders").reset_index()
    both = spend.merge(orders, on=KEYS, how="outer", indicator=True)
    days = pd.to_datetime(grid.t["marketing_daily"]["date"])
    covered = both["day"].between(days.min(), days.max())
    cost = both["spend"].where(both["_merge"] != "right_only", np.where(covered, 0.0, np.nan))
    both["cpo"] = divide(cost, both["orders"].fillna(0))
    grid.emit(both.set_index(KEYS), ["cpo"])

    tp = grid.t["touchpoints"]
    tp = tp[(tp["kind"] == "impression") & tp["customer_id"].notna()]
    tp = per_day(tp, local_day(tp["occurred_at"]), tp["channel"])
    tp = tp[grid.within(tp["day"])]
    grid.emit(group(tp).agg(exposed_customers=("customer_id", "nunique")), ["exposed_customers"])

    ms = grid.t["messages"]
    ms = per_day(ms, local_day(ms["sent_at"]), ms["channel"])
    ms = ms[grid.within(ms["day"])]
    delivered = (ms["channel"] == "email") & ms["delivered"].fillna(False).astype(bool)
    ms = ms.assign(delivered_email=delivered, opened=delivered & ms["opened_at"].notna())
    g = group(ms).agg(opened=("opened", "sum"), delivered=("delivered_email", "sum"))
    g["newsletter_open_rate"] = divide(g["opened"], g["delivered"])
    grid.emit(g, ["newsletter_open_rate"])


def session_facts(grid: GridFrames) -> pd.DataFrame:
    """Per session: page views, purchase flag, first/last times of the funnel steps."""
    e = grid.t["events"]
    kind = e["event_type"]
    flags = pd.DataFrame(
        {
            "session_id": e["session_id"],
            "page_view": kind == "page_view",
            "purchase": kind == "purchase",
        }
    )
    facts = flags.groupby("session_id", sort=False).agg(
        page_views=("page_view", "sum"), has_purchase=("purchase", "any")
    )
    steps = {
        "first_search_at": ("search", "min"),
        "first_view_at": ("product_view", "min"),
        "first_cart_at": ("add_to_cart", "min"),
        "last_cart_at": ("add_to_cart", "max"),
        "last_purchase_at": ("purchase", "max"),
    }
    for name, (event_type, how) in steps.items():
        chosen = e.loc[kind == event_type, ["session_id", "occurred_at"]]
        facts[name] = chosen.groupby("session_id", sort=False)["occurred_at"].agg(how)
    return facts


def sessions(grid: GridFrames, facts: pd.DataFrame) -> None:
    s = grid.t["sessions"].join(facts, on="session_id")
    s = per_day(s, local_day(s["started_at"]), s["channel"])
    s = s[grid.within(s["day"])]
    s = s.assign(
        bounced=s["page_views"] == 1, converted=s["has_purchase"].fillna(False).astype(bool)
    )
    g = group(s).agg(
        visits=("session_id", "size"),
        unique_visitors=("visitor_id", "nunique"),
        bounced=("bounced", "sum"),
        page_views=("page_views", lambda v: v.sum(min_count=1)),
        converted=("converted", "sum"),
    )
    g["bounce_rate"] = divide(g["bounced"], g["visits"])
    g["pageviews_per_visit"] = divide(g["page_views"], g["visits"])
    g["conversion_rate"] = divide(g["converted"], g["visits"])
    kpis = ["visits", "unique_visitors", "bounce_rate", "pageviews_per_visit"]
    grid.emit(g, [*kpis, "conversion_rate"])


def funnels(grid: GridFrames, facts: pd.DataFrame) -> None:
    channel = grid.t["sessions"].set_index("session_id")["channel"]
    dims = facts.index.map(channel)
    steps = {
        "search_conversion_rate": ("first_search_at", "last_purchase_at"),
        "view_to_basket_rate": ("first_view_at", "last_cart_at"),
        "view_to_order_rate": ("first_view_at", "last_purchase_at"),
        "basket_to_order_rate": ("first_cart_at", "last_purchase_at"),
    }
    for kpi, (first, then) in steps.items():
        started = facts[first].notna().to_numpy()
        f = pd.DataFrame(
            {
                "day": local_day(facts[first]).to_numpy()[started],
                "dim": np.asarray(dims, dtype=object)[started],
                "converted": (facts[then] >= facts[first]).to_numpy()[started],
            }
        )
        f = f[grid.within(f["day"])]
        g = group(f).agg(started=("converted", "size"), converted=("converted", "sum"))
        g[kpi] = divide(g["converted"], g["started"])
        grid.emit(g, [kpi])


def events(grid: GridFrames) -> None:
    e = grid.t["events"]
    channel = grid.t["sessions"].set_index("session_id")["channel"]
    wanted = e["event_type"].isin(["banner_view", "banner_click", "search", "product_view"])
    e = e[wanted]
    e = per_day(e, local_day(e["occurred_at"]), e["session_id"].map(channel).astype(object))
    e = e[grid.within(e["day"])]
    inv, stores = grid.t["inventory_snapshots"], grid.t["stores"]
    centres = stores.loc[stores["kind"] == "distribution_center", "store_id"]
    dc = inv[inv["location_id"].isin(centres)]
    dc = dc.groupby(["product_id", "snapshot_date"], sort=False)["on_hand"].sum().rename("dc")
    dc.index = dc.index.set_levels(pd.to_datetime(dc.index.levels[1]), level=1)
    stock = pd.Series(
        dc.reindex(pd.MultiIndex.from_arrays([e["product_id"].astype(object), e["day"]])),
    ).to_numpy()
    kind = e["event_type"]
    views = kind == "product_view"
    e = e.assign(
        banner_view=kind == "banner_view",
        banner_click=kind == "banner_click",
        search=kind == "search",
        no_results=(kind == "search") & (e["search_results"] == 0),
        view_known=views & ~np.isnan(stock),
        view_in_stock=views & (stock > 0),
    )
    g = group(e)[
        ["banner_view", "banner_click", "search", "no_results", "view_known", "view_in_stock"]
    ].sum()
    g["onsite_banner_ctr"] = divide(g["banner_click"], g["banner_view"])
    g["search_no_results_rate"] = divide(g["no_results"], g["search"])
    g["product_availability"] = divide(g["view_in_stock"], g["view_known"])
    grid.emit(g, ["onsite_banner_ctr", "search_no_results_rate", "product_availability"])


def pages(grid: GridFrames) -> None:
    e = grid.t["events"]
    pv = e.loc[
        e["event_type"] == "page_view",
        ["event_id", "session_id", "occurred_at", "page_path", "page_type", "load_ms"],
    ]
    # The exit: a session's last page view (latest time, then highest event id).
    latest = pv.groupby("session_id", sort=False)["occurred_at"].transform("max")
    last = pv.loc[pv["occurred_at"] == latest, ["session_id", "event_id"]]
    exits = last.sort_values(["session_id", "event_id"]).drop_duplicates("session_id", keep="last")
    channel = grid.t["sessions"].set_index("session_id")["channel"]
    pv = per_day(pv, local_day(pv["occurred_at"]), pv["session_id"].map(channel).astype(object))
    pv = pv.assign(
        exit=pv.index.isin(exits.index),
        timed=pv["load_ms"].notna(),
        fast=pv["load_ms"] <= 3000,
    )
    pv = pv[grid.within(pv["day"])]
    daily = group(pv, [*KEYS, "page_path", "page_type"]).agg(
        views=("exit", "size"), exits=("exit", "sum"), timed=("timed", "sum"),
        fast=("fast", "sum"),
    ).reset_index()  # fmt: skip
    product = daily[daily["page_type"].isin(["product", "category"])]
    g = group(daily)[["fast", "timed"]].sum()
    g["page_load_sla_compliance"] = divide(g["fast"], g["timed"])
    p = group(product)[["exits", "views"]].sum()
    g["exit_rate_product_pages"] = divide(p["exits"], p["views"])
    grid.emit(g, ["page_load_sla_compliance", "exit_rate_product_pages"])

    per_page = group(daily, [*KEYS, "page_path"])[["views", "exits"]].sum().reset_index()
    per_page["page_path"] = per_page["page_path"].astype(str)
    ranked = per_page.sort_values(
        [*KEYS, "views", "page_path"], ascending=[True, True, False, True]
    )
    top = group(ranked.groupby(KEYS, dropna=False, sort=False).head(10))
    t = top[["exits", "views"]].sum()
    t["exit_rate_top_pages"] = divide(t["exits"], t["views"])
    grid.emit(t, ["exit_rate_top_pages"])
