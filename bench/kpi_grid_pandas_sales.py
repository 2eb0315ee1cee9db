"""Pandas baselines of the commerce KPIs: orders, sales, delivery, service and loyalty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_grid_pandas_steps import KEYS, GridFrames, divide, group, hours, local_day, per_day


def orders(grid: GridFrames) -> pd.DataFrame:
    """Orders in range with day and dim (their channel); emits the order KPIs."""
    o = grid.t["orders"]
    o = per_day(o, local_day(o["placed_at"]), o["channel"].astype(object))
    o = o[grid.within(o["day"])]
    online = o["channel"].isin(["web", "app"])
    o = o.assign(
        online=online,
        collect=online & (o["fulfilment"] == "click_collect"),
        completed=o["status"].isin(["paid", "completed"]),
    )
    g = group(o).agg(
        orders=("order_id", "size"), online=("online", "sum"), collect=("collect", "sum")
    )
    g["click_collect_share"] = divide(g["collect"], g["online"])
    grid.emit(g, ["orders", "click_collect_share"])

    shares = group(o, [*KEYS, "payment_method"]).size().rename("orders").reset_index()
    totals = shares.groupby(KEYS, dropna=False)["orders"].transform("sum")
    shares["payment_type_share"] = divide(shares["orders"], totals)
    grid.emit(shares.set_index(KEYS), ["payment_type_share"])
    return o


def sales(grid: GridFrames, o: pd.DataFrame) -> None:
    lines = grid.t["order_lines"].merge(
        o[["order_id", "day", "dim", "completed"]], on="order_id", how="inner"
    )
    done = lines["completed"]
    lines = lines.assign(
        revenue=lines["net_amount"].where(done, 0.0),
        discounted=lines["net_amount"].where(done & (lines["discount_amount"] > 0), 0.0),
        items=lines["quantity"].where(done, 0),
    )
    parts = group(lines)[["revenue", "discounted", "items"]].sum()
    parts = parts.join(group(o)["completed"].sum().rename("completed"), how="outer")
    returns = grid.t["returns"]
    channel = grid.t["orders"].set_index("order_id")["channel"].astype(object)
    requested = per_day(
        returns, local_day(returns["requested_at"]), returns["order_id"].map(channel)
    )
    requested = requested[grid.within(requested["day"])]
    parts = parts.join(group(requested)["quantity"].sum().rename("returned"), how="outer")
    refunds = returns[returns["refunded_at"].notna()]
    refunds = per_day(refunds, local_day(refunds["refunded_at"]), refunds["order_id"].map(channel))
    refunds = refunds[grid.within(refunds["day"])]
    parts = parts.join(group(refunds)["refund_amount"].sum().rename("refunded"), how="outer")

    day = parts.index.get_level_values("day")
    request_days = local_day(returns["requested_at"])
    refund_days = local_day(returns["refunded_at"])
    requests_covered = (day >= request_days.min()) & (day <= request_days.max())
    refunds_covered = (day >= refund_days.min()) & (day <= refund_days.max())
    revenue, items = parts["revenue"].fillna(0.0), parts["items"].fillna(0)
    parts["revenue"] = revenue
    parts["aov"] = divide(revenue, parts["completed"].fillna(0))
    parts["avg_basket_items"] = divide(items, parts["completed"].fillna(0))
    parts["markdown_share"] = divide(parts["discounted"].fillna(0.0), revenue)
    returned = parts["returned"].fillna(0).where(requests_covered)
    parts["return_rate"] = divide(returned, items)
    parts["net_revenue_after_returns"] = revenue - parts["refunded"].fillna(0.0).where(
        refunds_covered
    )
    kpis = ["revenue", "aov", "avg_basket_items", "markdown_share", "return_rate"]
    grid.emit(parts, [*kpis, "net_revenue_after_returns"])


def delivery(grid: GridFrames) -> None:
    orders = grid.t["orders"].set_index("order_id")
    sh = grid.t["shipments"]
    placed = sh["order_id"].map(orders["placed_at"])
    channel = sh["order_id"].map(orders["channel"].astype(object))
    shipped = sh["shipped_at"].notna()
    s = per_day(sh[shipped], local_day(sh.loc[shipped, "shipped_at"]), channel[shipped])
    s = s.assign(hours=hours(placed[shipped], s["shipped_at"]))
    s = s[grid.within(s["day"])]
    g = group(s)["hours"].median().rename("order_to_shipment_hours").to_frame()
    grid.emit(g, ["order_to_shipment_hours"])

    delivered = sh["delivered_at"].notna()
    d = per_day(sh[delivered], local_day(sh.loc[delivered, "delivered_at"]), channel[delivered])
    d = d.assign(on_time=d["day"] <= pd.to_datetime(d["promised_date"]))
    d = d[grid.within(d["day"])]
    g = group(d)["on_time"].agg(["sum", "size"])
    g["on_time_delivery_rate"] = divide(g["sum"], g["size"])
    grid.emit(g, ["on_time_delivery_rate"])

    r = grid.t["returns"]
    restocked = r["restocked_at"].notna()
    channel = r["order_id"].map(orders["channel"].astype(object))
    r = per_day(r[restocked], local_day(r.loc[restocked, "restocked_at"]), channel[restocked])
    r = r.assign(hours=hours(r["received_at"], r["restocked_at"]))
    r = r[grid.within(r["day"])]
    g = group(r)["hours"].median().rename("return_restock_hours").to_frame()
    grid.emit(g, ["return_restock_hours"])


def service(grid: GridFrames) -> None:
    tk = grid.t["tickets"]
    tk = per_day(tk, local_day(tk["opened_at"]), tk["channel"].astype(object))
    tk = tk[grid.within(tk["day"])]
    within_sla = tk["first_response_at"].notna() & (
        hours(tk["opened_at"], tk["first_response_at"]) <= tk["sla_hours"]
    )
    tk = tk.assign(
        complaint=tk["kind"] == "complaint", sla=within_sla, social=tk["channel"] == "social"
    )
    g = group(tk).agg(
        service_tickets=("sla", "size"),
        complaints=("complaint", "sum"),
        sla=("sla", "sum"),
        social_inquiries=("social", "sum"),
    )
    g["service_sla_compliance"] = divide(g["sla"], g["service_tickets"])
    kpis = ["service_tickets", "complaints", "service_sla_compliance", "social_inquiries"]
    grid.emit(g, kpis)

    sv = grid.t["surveys"]
    sv = sv[sv["kind"] == "nps"]
    channel = sv["order_id"].map(grid.t["orders"].set_index("order_id")["channel"])
    sv = per_day(sv, local_day(sv["responded_at"]), channel.astype(object))
    sv = sv[grid.within(sv["day"])]
    points = np.where(sv["score"] >= 9, 100, np.where(sv["score"] <= 6, -100, 0))
    g = group(sv.assign(points=points))["points"].agg(["sum", "size"])
    g["nps"] = divide(g["sum"], g["size"])
    grid.emit(g, ["nps"])

    sc = grid.t["site_checks"]
    sc = per_day(sc, local_day(sc["checked_at"]), None)
    sc = sc[grid.within(sc["day"])]
    g = group(sc)["is_up"].agg(["sum", "size"])
    g["shop_availability"] = divide(g["sum"], g["size"])
    grid.emit(g, ["shop_availability"])

    inv = grid.t["invoices"]
    channel = inv["order_id"].map(grid.t["orders"].set_index("order_id")["channel"])
    inv = per_day(inv, pd.to_datetime(inv["due_date"]), channel.astype(object))
    inv = inv[grid.within(inv["day"])]
    paid = inv["paid_at"].notna() & (local_day(inv["paid_at"]) <= inv["day"])
    inv = inv.assign(paid_amount=inv["amount"].where(paid, 0.0))
    g = group(inv)[["paid_amount", "amount"]].sum()
    g["debt_collection_rate"] = divide(g["paid_amount"], g["amount"])
    grid.emit(g, ["debt_collection_rate"])


def purchases(grid: GridFrames) -> pd.DataFrame:
    """Completed orders of known customers, numbered per customer."""
    o = grid.t["orders"]
    p = o[o["status"].isin(["paid", "completed"]) & o["customer_id"].notna()]
    p = p.sort_values(["customer_id", "placed_at", "order_id"])
    by_customer = p.groupby("customer_id", sort=False)
    day = local_day(p["placed_at"])
    return pd.DataFrame(
        {
            "customer_id": p["customer_id"],
            "dim": p["channel"].astype(object),
            "day": day,
            "purchase_number": by_customer.cumcount() + 1,
            "first_day": day.groupby(p["customer_id"], sort=False).transform("min"),
            "next_day": local_day(by_customer["placed_at"].shift(-1)),
        }
    )


def customers(grid: GridFrames, p: pd.DataFrame) -> None:
    inside = p[grid.within(p["day"])]
    returning = inside[inside["first_day"] < inside["day"]]
    g = group(inside).agg(
        customers=("customer_id", "nunique"),
        new_customers=("purchase_number", lambda n: int((n == 1).sum())),
    )
    g["returning"] = group(returning)["customer_id"].nunique()
    g["returning_customer_share"] = divide(g["returning"].fillna(0), g["customers"])
    grid.emit(g, ["returning_customer_share", "new_customers"])

    first = p["day"].min()
    for kpi, k in (("active_customers", 1), ("loyal_customers", 3)):
        grid.emit(level(grid, trailing_spells(p, k), first, kpi), [kpi])
    gap = (p["day"] - p["first_day"]).dt.days / (p["purchase_number"] - 1)
    # Round half away from zero, as the engine's DuckDB ROUND does (numpy rounds to even).
    overdue = np.maximum(30, np.floor(1.5 * gap + 0.5))
    wait = np.where(p["purchase_number"] == 1, 90, overdue)
    year_later = p["day"] + pd.Timedelta(days=365)
    lost = pd.DataFrame(
        {
            "dim": p["dim"],
            "open": p["day"] + pd.to_timedelta(wait, unit="D"),
            "close": p["next_day"].fillna(year_later).clip(upper=year_later),
        }
    )
    kpi = "soon_to_be_lost_customers"
    grid.emit(level(grid, lost, first, kpi), [kpi])

    c = grid.t["customers"]
    subscribed = pd.DataFrame(
        {
            "dim": None,
            "open": local_day(c["email_opt_in_at"]),
            "close": local_day(c["email_opt_out_at"]),
        }
    )
    first = local_day(c["created_at"]).min()
    kpi = "newsletter_subscribers"
    grid.emit(level(grid, subscribed, first, kpi), [kpi])


def level(grid: GridFrames, spans: pd.DataFrame, first: pd.Timestamp, name: str) -> pd.DataFrame:
    """How many [open, close) spans cover each day, per dim, from the source's first day."""
    spans = spans[
        spans["open"].notna() & (spans["close"].isna() | (spans["close"] > spans["open"]))
    ]
    spans = spans.assign(dim=spans["dim"].astype(object).fillna("\0null"))
    changes = pd.concat(
        [
            pd.DataFrame({"day": spans["open"], "dim": spans["dim"], "delta": 1}),
            pd.DataFrame({"day": spans["close"], "dim": spans["dim"], "delta": -1}).dropna(),
        ]
    )
    changes = changes[changes["day"] <= grid.end]
    daily = changes.pivot_table(index="day", columns="dim", values="delta", aggfunc="sum")
    days = pd.date_range(min(daily.index.min(), grid.start), grid.end, freq="D")
    levels = daily.reindex(days, fill_value=0).fillna(0).cumsum()
    levels = levels.loc[max(grid.start, first) :]
    levels.index.name = "day"
    out = levels.stack().rename(name).reset_index()
    out["dim"] = out["dim"].replace({"\0null": None})
    return out.set_index(KEYS)


def trailing_spells(p: pd.DataFrame, k: int) -> pd.DataFrame:
    """Spells in which a customer has >= k purchases (per dim) in the trailing 365 days:
    purchases j..j+k-1 qualify from the day of the last until 365 days after the first."""
    p = p.sort_values(["customer_id", "dim", "day"])
    keys = [p["customer_id"], p["dim"]]
    opened = p["day"] if k == 1 else p.groupby(keys, sort=False)["day"].shift(-(k - 1))
    spans = pd.DataFrame(
        {"customer_id": p["customer_id"], "dim": p["dim"], "open": opened,
         "close": p["day"] + pd.Timedelta(days=365)}
    )  # fmt: skip
    spans = spans[spans["open"].notna() & (spans["open"] < spans["close"])]
    spans = spans.sort_values(["customer_id", "dim", "open", "close"])
    by_entity = spans.groupby(["customer_id", "dim"], sort=False, dropna=False)
    reach = by_entity["close"].cummax()
    before = reach.groupby([spans["customer_id"], spans["dim"]], sort=False, dropna=False).shift()
    spell = (before.isna() | (spans["open"] > before)).astype(int)
    spans = spans.assign(
        spell=spell.groupby([spans["customer_id"], spans["dim"]], dropna=False).cumsum()
    )
    merged = spans.groupby(["customer_id", "dim", "spell"], sort=False, dropna=False).agg(
        open=("open", "min"), close=("close", "max")
    )
    return merged.reset_index()[["dim", "open", "close"]]
