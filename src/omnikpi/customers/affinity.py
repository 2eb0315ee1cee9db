"""Product affinity: which categories (or products) are bought together, and the next-best
category for the customers of each lifecycle segment.

A **basket** is either one order (`basis="order"`: bought in the same order) or one
customer's purchases over the window (`basis="customer"`: bought by the same customer, in
any of their orders). Over the N baskets, for items A and B:

- support(A, B) = baskets with both / N = P(A and B);
- confidence(A → B) = baskets with both / baskets with A = P(B | A);
- lift(A, B) = P(A and B) / (P(A) P(B)) = support(A, B) / (support(A) support(B)):
  1 is independence, above 1 bought together more often than chance, below 1 less.

Only completed orders count (status `paid` or `completed`, as the KPI catalog's revenue),
of known customers for the customer basis. A pair is kept when its support is at least
`min_support` and both items were bought in at least `min_baskets` baskets together (a
lift of two baskets is noise). Rules are directed (A → B and B → A are two rows: the
confidence differs, the support and lift are the same).

The **next-best category** of a customer is, of the categories they have not bought, the
one with the highest confidence (or lift) of a customer-basis rule from a category they have
bought, among rules with lift above 1; a segment's next-best categories are those counted
over its customers (the first is the one most of them should be offered).

>>> rules = co_purchase(basket_items(warehouse, start, end, "category", "order"), 0.01)
... # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import ibis.expr.types as ir
import pandas as pd

from omnikpi.customers.profile import day_end
from omnikpi.customers.top import COMPLETED_STATUSES
from omnikpi.errors import InvalidChoice
from omnikpi.warehouse import Tables

__all__ = [
    "BASES",
    "LEVELS",
    "NEXT_BEST_COLUMNS",
    "RULE_COLUMNS",
    "Basis",
    "Level",
    "basket_items",
    "co_purchase",
    "next_best_categories",
]

Level = Literal["category", "product"]
Basis = Literal["order", "customer"]
LEVELS: tuple[Level, ...] = ("category", "product")
BASES: tuple[Basis, ...] = ("order", "customer")
RankBy = Literal["confidence", "lift"]
#: The columns of a rule table, in order.
RULE_COLUMNS = (
    "antecedent",
    "consequent",
    "baskets",
    "antecedent_baskets",
    "consequent_baskets",
    "both_baskets",
    "support",
    "antecedent_support",
    "consequent_support",
    "confidence",
    "lift",
    "customers",
)

#: The columns of the next-best categories, in order.
NEXT_BEST_COLUMNS = (
    "segment",
    "rank",
    "category",
    "customers",
    "segment_customers",
    "share",
    "confidence",
    "lift",
)


def basket_items(
    tables: Tables, start: date, end: date, level: Level = "category", basis: Basis = "order"
) -> ir.Table:
    """The distinct (basket, item, customer_id) rows of completed orders placed on local
    days `start`..`end`: `basket` is the order id or the customer id (`basis`), `item` the
    product's category or the product id (`level`), `customer_id` who bought it (null for
    an order of an unknown customer)."""
    if level not in LEVELS:
        raise InvalidChoice("level", str(level), ", ".join(LEVELS))
    if basis not in BASES:
        raise InvalidChoice("basis", str(basis), ", ".join(BASES))
    zone = tables.time_zone
    orders = tables.table("orders")
    orders = orders.filter(
        orders.status.isin(COMPLETED_STATUSES),
        orders.placed_at >= day_end(start - timedelta(days=1), zone),
        orders.placed_at < day_end(end, zone),
    )
    if basis == "customer":
        orders = orders.filter(orders.customer_id.notnull())
    lines = tables.table("order_lines")
    sold = orders.select("order_id", "customer_id").join(
        lines.select("order_id", "product_id"), "order_id"
    )
    if level == "category":
        products = tables.table("products").select("product_id", "category")
        sold = sold.join(products, "product_id")
        item = sold.category
    else:
        item = sold.product_id
    basket = sold.order_id if basis == "order" else sold.customer_id
    items = sold.select(
        basket=basket.cast("string"),
        item=item.cast("string"),
        customer_id=sold.customer_id.cast("string"),
    )
    return items.filter(items.item.notnull()).distinct()


def co_purchase(items: ir.Table, min_support: float = 0.01, min_baskets: int = 1) -> ir.Table:
    """Directed co-purchase rules A → B of `items` (basket, item[, customer_id]): support,
    confidence and lift (module docstring), for pairs with support ≥ `min_support` and at
    least `min_baskets` baskets with both; columns RULE_COLUMNS, highest lift first.
    `customers` counts who is behind the baskets with both (distinct known customers, and
    each order of an unknown customer as one): what small-cell suppression reads."""
    if not 0 <= min_support <= 1:
        raise InvalidChoice("min-support", str(min_support), "between 0 and 1, e.g. 0.01")
    if min_baskets < 1:
        raise InvalidChoice("min-baskets", str(min_baskets), "1 or more")
    total = items.aggregate(baskets=items.basket.nunique())
    singles = items.group_by("item").aggregate(item_baskets=items.count())
    left = items.rename(antecedent="item")
    right = items.rename(basket_b="basket", consequent="item")
    pairs = left.join(
        right, (left.basket == right.basket_b) & (left.antecedent != right.consequent)
    )
    if "customer_id" in items.columns:
        known = pairs.customer_id.nunique() + pairs.count(where=pairs.customer_id.isnull())
    else:
        known = pairs.basket.nunique()
    both = pairs.group_by("antecedent", "consequent").aggregate(
        both_baskets=pairs.count(), customers=known
    )
    both = both.cross_join(total)
    both = both.filter(
        both.both_baskets >= min_baskets,
        both.both_baskets / both.baskets.cast("float64") >= min_support,
    )
    a = singles.rename(antecedent="item", antecedent_baskets="item_baskets")
    b = singles.rename(consequent="item", consequent_baskets="item_baskets")
    rules = both.join(a, "antecedent").join(b, "consequent")
    n = rules.baskets.cast("float64")
    support = rules.both_baskets / n
    rules = rules.mutate(
        support=support,
        antecedent_support=rules.antecedent_baskets / n,
        consequent_support=rules.consequent_baskets / n,
        confidence=rules.both_baskets / rules.antecedent_baskets.cast("float64"),
        lift=support / ((rules.antecedent_baskets / n) * (rules.consequent_baskets / n)),
    )
    return rules.select(*RULE_COLUMNS).order_by(
        [rules.lift.desc(), rules.both_baskets.desc(), "antecedent", "consequent"]
    )


def next_best_categories(
    bought: pd.DataFrame,
    segments: pd.DataFrame,
    rules: pd.DataFrame,
    rank_by: RankBy = "confidence",
) -> pd.DataFrame:
    """Per segment, the categories that are its customers' next best (module docstring):
    how many of the segment's customers have it as their next best (`customers`), that
    share of the segment's customers (`share`, of `segment_customers`), and the mean
    confidence and lift of the rules that chose it; `rank` 1 is the segment's next-best
    category. Customers without a purchase or without a rule of lift above 1 to a category
    they lack get none (they are in `segment_customers` only).

    `bought`: (customer_id, category) pairs; `segments`: (customer_id, segment); `rules`:
    customer-basis category rules (`co_purchase` columns).
    """
    if rank_by not in ("confidence", "lift"):
        raise InvalidChoice("rank-by", str(rank_by), "confidence, lift")
    sizes = segments.groupby("segment").size().rename("segment_customers")
    useful = rules[rules["lift"] > 1][["antecedent", "consequent", "confidence", "lift"]]
    candidates = bought.merge(useful, left_on="category", right_on="antecedent")
    owned = set(zip(bought["customer_id"], bought["category"], strict=True))
    lacking = [
        (c, k) not in owned
        for c, k in zip(candidates["customer_id"], candidates["consequent"], strict=True)
    ]
    candidates = candidates.loc[pd.Series(lacking, index=candidates.index, dtype=bool)]
    other = "lift" if rank_by == "confidence" else "confidence"
    candidates = candidates.sort_values(
        ["customer_id", rank_by, other, "consequent"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    best = candidates.drop_duplicates("customer_id", keep="first")
    best = best.merge(segments[["customer_id", "segment"]], on="customer_id")
    if best.empty:
        return pd.DataFrame(columns=list(NEXT_BEST_COLUMNS))
    table = (
        best.groupby(["segment", "consequent"])
        .agg(
            customers=("customer_id", "size"),
            confidence=("confidence", "mean"),
            lift=("lift", "mean"),
        )
        .reset_index()
        .rename(columns={"consequent": "category"})
    )
    table = table.merge(sizes, left_on="segment", right_index=True)
    table["share"] = table["customers"] / table["segment_customers"]
    table = table.sort_values(
        ["segment", "customers", rank_by, "category"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    table["rank"] = table.groupby("segment").cumcount() + 1
    return table[list(NEXT_BEST_COLUMNS)].reset_index(drop=True)
