"""Top customers and lookalikes (brief 002): the most profitable share of customers over a
window, their profile against the rest, and a lookalike score for everyone else.

Definitions:
- **window**: local days `start`..`end`, both included (in the warehouse's time zone);
- **gross profit** is the KPI catalog's (`gross_profit = revenue - cogs` over completed
  orders): per order line of an order with status `paid` or `completed`, net amount minus
  quantity x unit cost; lines without a unit cost are left out (and counted, so the
  answer can say so);
- **the top customers** are the first `ceil(share x n)` of the n customers who completed an
  order in the window, ranked by gross profit (highest first, ties by customer id), and only
  those with a positive gross profit; the rest are the other customers who bought in it;
- **the profile** compares the two groups by the share of each group's customers having a
  value: channels and categories bought in the window (a customer can have several, so
  those shares need not add up to 1), and region, acquisition channel, first channel,
  tenure band and membership (tier) at the window's end from the customer 360
  (`omnikpi.customers.profile.customer_features`); `difference` = top share - rest share;
- **the lookalike model** learns "becomes a top customer in the window" from the customer
  360 as of the day before the window starts (nothing of the window leaks into the
  features) for the customers signed up by then, checks it on a stratified, seeded holdout
  (AUC), and scores the customers who are not top with their 360 as of the window's end:
  the probability that a customer with that history becomes a top customer over a window
  like this one.

>>> analysis = analyse_top_customers(warehouse, Window(date(2024, 1, 1), date(2025, 12, 31)))
... # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from omnikpi.customers.profile import customer_features, day_end
from omnikpi.customers.segments import Windows
from omnikpi.errors import DataError, InvalidChoice
from omnikpi.warehouse import Tables

__all__ = [
    "COMPLETED_STATUSES",
    "PROFILE_FACETS",
    "TENURE_BANDS",
    "LookalikeModel",
    "TopCustomers",
    "Window",
    "analyse_top_customers",
    "fit_lookalike",
    "lookalike_features",
    "score_lookalikes",
    "tenure_band",
    "top_customers",
    "top_profile",
    "window_gross_profit",
]

#: Order statuses whose lines count (the KPI catalog's `is_completed`).
COMPLETED_STATUSES = ("paid", "completed")
#: The profile's facets: name → column of the per-customer frame; list facets hold
#: comma-separated values (one customer, several channels).
PROFILE_FACETS: dict[str, str] = {
    "channel": "window_channels",
    "category": "window_categories",
    "region": "region",
    "acquisition_channel": "acquisition_channel",
    "first_channel": "first_channel",
    "tenure": "tenure",
    "membership": "membership",
}
LIST_FACETS = frozenset({"channel", "category"})
#: Tenure bands at the window's end: (label, days signed up below which it applies).
TENURE_BANDS: tuple[tuple[str, float], ...] = (
    ("under 6 months", 183),
    ("6-12 months", 365),
    ("1-2 years", 730),
    ("2-3 years", 1095),
    ("3 years and more", math.inf),
)
NONE_LABEL = "(none)"
#: The columns of the profile, in order.
PROFILE_COLUMNS = (
    "facet",
    "value",
    "top_customers",
    "top_share",
    "rest_customers",
    "rest_share",
    "difference",
)
#: Share of the training customers the AUC is measured on.
HOLDOUT_SHARE = 0.25
#: Inverse strength of the logistic regression's ridge penalty (smaller: stronger).
REGULARISATION = 0.1
#: Fewest top and other customers each part (training, holdout) needs.
MIN_CLASS = 5


@dataclass(frozen=True)
class Window:
    """Local days `start`..`end`, both included.

    >>> Window(date(2025, 1, 1), date(2025, 12, 31)).days
    365
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidChoice("window", f"{self.start}..{self.end}", "start ≤ end")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def window_gross_profit(tables: Tables, window: Window) -> ir.Table:
    """Per customer who completed an order in `window`: orders, revenue, gross profit
    (module docstring), order lines without a unit cost, and the channels and categories
    bought in the window (sorted, comma-separated)."""
    zone = tables.time_zone
    start, end = day_end(window.start - timedelta(days=1), zone), day_end(window.end, zone)
    orders = tables.table("orders")
    orders = orders.filter(
        orders.customer_id.notnull(),
        orders.status.isin(COMPLETED_STATUSES),
        orders.placed_at >= start,
        orders.placed_at < end,
    )
    lines = tables.table("order_lines")
    products = tables.table("products").select("product_id", "category")
    sold = orders.select("order_id", "customer_id", "channel").join(lines, "order_id")
    sold = sold.left_join(products, "product_id").drop("product_id_right")
    profit = sold.net_amount - sold.quantity * sold.unit_cost
    per_line = sold.group_by("customer_id").aggregate(
        gross_profit=profit.sum().cast("float64"),
        lines_without_cost=sold.count(where=sold.unit_cost.isnull()),
    )
    per_order = orders.group_by("customer_id").aggregate(
        orders=orders.count(), revenue=orders.net_amount.sum().cast("float64")
    )
    channels = _listed(orders, "channel", "window_channels")
    categories = _listed(sold.filter(sold.category.notnull()), "category", "window_categories")
    joined = per_order.left_join(per_line, "customer_id").drop("customer_id_right")
    for part in (channels, categories):
        joined = joined.left_join(part, "customer_id").drop("customer_id_right")
    return joined.mutate(
        gross_profit=joined.gross_profit.fill_null(0.0),
        lines_without_cost=joined.lines_without_cost.fill_null(0),
    )


def _listed(table: ir.Table, column: str, name: str) -> ir.Table:
    distinct = table.select("customer_id", _value=table[column].cast("string")).distinct()
    return distinct.group_by("customer_id").aggregate(
        **{name: distinct._value.group_concat(",", order_by=distinct._value)}
    )


def top_customers(profit: pd.DataFrame, share: float = 0.2) -> pd.DataFrame:
    """`profit` (customer_id, gross_profit) ranked by gross profit, highest first (ties by
    customer id), with `rank` (1 = most profitable) and `is_top`: the first
    ceil(share x n) customers, of those with a positive gross profit.

    >>> frame = pd.DataFrame({"customer_id": list("abcde"), "gross_profit": [5, 9, 1, 9, 0]})
    >>> top_customers(frame, 0.2)[["customer_id", "is_top"]].values.tolist()[:2]
    [['b', True], ['d', False]]
    """
    if not 0 < share < 1:
        raise InvalidChoice("share", str(share), "between 0 and 1, e.g. 0.2")
    ranked = profit.sort_values(
        ["gross_profit", "customer_id"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    cut = math.ceil(share * len(ranked) - 1e-9)
    ranked["is_top"] = (ranked["rank"] <= cut) & (ranked["gross_profit"] > 0)
    return ranked


def tenure_band(days_signed_up: pd.Series) -> pd.Series:
    """The tenure band (TENURE_BANDS) of each number of days since signing up.

    >>> tenure_band(pd.Series([10, 200, 400, 800, 2000])).tolist()[1:3]
    ['6-12 months', '1-2 years']
    """
    labels = [label for label, _ in TENURE_BANDS]
    edges = [-math.inf, *(limit for _, limit in TENURE_BANDS)]
    banded = pd.cut(days_signed_up, bins=edges, labels=labels, right=False)
    return banded.astype(object).where(banded.notna(), NONE_LABEL)


def top_profile(
    customers: pd.DataFrame, facets: Sequence[str] = tuple(PROFILE_FACETS)
) -> pd.DataFrame:
    """The top customers against the rest: per facet and value, how many customers of
    each group have it and which share of their group that is, and `difference` = top share
    - rest share (positive: the value is over-represented among the top customers).

    `customers` has `is_top` and the facets' columns (PROFILE_FACETS); list facets hold
    comma-separated values, missing values count as "(none)". Rows are sorted by facet,
    then by the largest absolute difference.

    >>> regions = ["Seoul", "Seoul", "Busan"]
    >>> frame = pd.DataFrame({"is_top": [True, False, False], "region": regions})
    >>> top_profile(frame, ["region"])[["value", "top_share", "rest_share"]].values.tolist()
    [['Busan', 0.0, 0.5], ['Seoul', 1.0, 0.5]]
    """
    top_count = int(customers["is_top"].sum())
    rest_count = int((~customers["is_top"]).sum())
    parts: list[pd.DataFrame] = []
    for facet in facets:
        column = PROFILE_FACETS[facet]
        values = customers[column].astype(object).where(customers[column].notna(), NONE_LABEL)
        values = values.astype(str)
        if facet in LIST_FACETS:
            values = values.str.split(",")
        long = pd.DataFrame({"is_top": customers["is_top"].to_numpy(), "value": values.to_numpy()})
        if facet in LIST_FACETS:
            long = long.explode("value")
        counts = long.groupby(["value", "is_top"]).size().unstack("is_top", fill_value=0)
        counts = counts.reindex(columns=[True, False], fill_value=0)
        part = pd.DataFrame(
            {
                "facet": facet,
                "value": counts.index.astype(str),
                "top_customers": counts[True].to_numpy(),
                "rest_customers": counts[False].to_numpy(),
            }
        )
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(PROFILE_COLUMNS))
    profile = pd.concat(parts, ignore_index=True)
    profile["top_share"] = profile["top_customers"] / top_count if top_count else np.nan
    profile["rest_share"] = profile["rest_customers"] / rest_count if rest_count else np.nan
    profile["difference"] = profile["top_share"] - profile["rest_share"]
    order = {facet: i for i, facet in enumerate(facets)}
    profile["_facet"] = profile["facet"].map(order)
    profile["_size"] = -profile["difference"].abs().fillna(0)
    profile = profile.sort_values(["_facet", "_size", "value"], kind="mergesort")
    return profile[list(PROFILE_COLUMNS)].reset_index(drop=True)


# -- lookalikes ------------------------------------------------------------------------------
#: Numeric 360 features the lookalike model reads (missing stays missing: the model
#: handles it).
NUMERIC_FEATURES = (
    "orders",
    "revenue",
    "gross_profit",
    "average_order_value",
    "days_since_signup",
    "days_since_first_order",
    "days_since_last_order",
    "orders_window",
    "revenue_window",
    "visits",
    "visits_recent",
    "tickets",
    "complaints",
    "late_deliveries",
    "reviews",
    "average_rating",
    "last_nps_score",
    "points_balance",
)
FLAG_FEATURES = (
    "is_member",
    "cart_abandoned",
    "detractor_recent",
    "email_consent",
    "sms_consent",
    "push_consent",
)
#: Not the member tier: the data holds only the current tier, which a top customer of the
#: window may have earned in it (it would leak the label into the features).
CATEGORICAL_FEATURES = ("region", "acquisition_channel", "first_channel")
LIST_FEATURES = ("channels", "categories")


def lookalike_features(features: pd.DataFrame) -> pd.DataFrame:
    """The model matrix of customer 360 rows (`customer_features` columns), indexed by
    customer id: numeric features as floats (missing kept as NaN), flags as 0/1, one
    indicator column per value of the categorical features and per channel and category
    ever bought.

    >>> frame = pd.DataFrame({"customer_id": ["a"], "region": ["Seoul"], "orders": [2]})
    >>> lookalike_features(frame).columns.tolist()
    ['orders', 'region=Seoul']
    """
    matrix = pd.DataFrame(index=pd.Index(features["customer_id"].astype(str), name="customer_id"))
    for name in NUMERIC_FEATURES:
        if name in features.columns:
            matrix[name] = (
                pd.to_numeric(features[name], errors="coerce").astype("float64").to_numpy()
            )
    for name in FLAG_FEATURES:
        if name in features.columns:
            matrix[name] = features[name].fillna(False).astype("float64").to_numpy()
    indicators: list[pd.DataFrame] = []
    for name in CATEGORICAL_FEATURES:
        if name in features.columns:
            values = features[name].astype(object).where(features[name].notna(), NONE_LABEL)
            dummies = pd.get_dummies(values.astype(str), prefix=name, prefix_sep="=")
            indicators.append(dummies.set_index(matrix.index))
    for name in LIST_FEATURES:
        if name in features.columns:
            listed = features[name].fillna("").astype(str)
            dummies = listed.str.get_dummies(sep=",")
            dummies = dummies.drop(columns=[c for c in dummies.columns if not c])
            dummies = dummies.add_prefix(f"{name}=")
            indicators.append(dummies.set_index(matrix.index))
    for part in indicators:
        matrix = matrix.join(part.astype("float64"))
    return matrix


@dataclass(frozen=True)
class LookalikeModel:
    """A fitted lookalike classifier, the feature columns it reads, and how it did on the
    holdout (AUC: 0.5 is chance, 1 perfect)."""

    classifier: Any
    columns: tuple[str, ...]
    holdout_auc: float
    training_customers: int
    holdout_customers: int
    top_share_trained: float
    seed: int


def fit_lookalike(
    matrix: pd.DataFrame, labels: pd.Series | np.ndarray, *, seed: int = 0
) -> LookalikeModel:
    """Fit a ridge-penalised logistic regression (scikit-learn; missing values take the
    training median plus a "was missing" indicator, features are standardised) of
    `labels` (1 = top customer) on `matrix`, on a stratified split seeded by `seed`, and
    measure its AUC on the held-out HOLDOUT_SHARE. A linear model is stable on the few
    thousand customers a retailer's history before a window holds; on the simulated
    retailer gradient-boosted trees did no better.

    DataError when either class has too few customers to split and measure.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels, dtype=int)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if (
        min(positives, negatives) * HOLDOUT_SHARE < MIN_CLASS
        or min(positives, negatives) < 2 * MIN_CLASS
    ):
        raise DataError(
            f"too few customers to learn lookalikes ({positives} who became top customers, "
            f"{negatives} who did not, among those signed up before the window; each needs at "
            f"least {math.ceil(MIN_CLASS / HOLDOUT_SHARE)}): choose a later or longer window"
        )
    x = matrix.to_numpy(dtype="float64")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=HOLDOUT_SHARE, stratify=y, random_state=seed
    )
    classifier = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=REGULARISATION, max_iter=2000),
    )
    classifier.fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, classifier.predict_proba(x_test)[:, 1]))
    return LookalikeModel(
        classifier=classifier,
        columns=tuple(str(c) for c in matrix.columns),
        holdout_auc=auc,
        training_customers=len(y_train),
        holdout_customers=len(y_test),
        top_share_trained=positives / len(y),
        seed=seed,
    )


def score_lookalikes(model: LookalikeModel, matrix: pd.DataFrame) -> pd.Series:
    """Each customer's lookalike score (the model's probability of becoming a top
    customer), indexed like `matrix`; columns the model never saw are dropped and the ones
    it read but `matrix` lacks are 0 (no such channel, category or value)."""
    aligned = matrix.reindex(columns=list(model.columns), fill_value=0.0)
    scores = model.classifier.predict_proba(aligned.to_numpy(dtype="float64"))[:, 1]
    return pd.Series(scores, index=matrix.index, name="lookalike_score")


# -- the whole analysis ----------------------------------------------------------------------
@dataclass(frozen=True)
class TopCustomers:
    """The analysis of one window: every buyer ranked (`ranked`), the profile of the top
    group against the rest, the lookalike model and the scores of the customers who are not
    top (highest first)."""

    window: Window
    share: float
    ranked: pd.DataFrame
    profile: pd.DataFrame
    model: LookalikeModel | None
    scores: pd.DataFrame
    lines_without_cost: int

    @property
    def buyers(self) -> int:
        return len(self.ranked)

    @property
    def top_count(self) -> int:
        return int(self.ranked["is_top"].sum())

    @property
    def top_gross_profit_share(self) -> float | None:
        """The top customers' share of the window's gross profit of all buyers."""
        total = float(self.ranked["gross_profit"].sum())
        if total <= 0:
            return None
        return float(self.ranked.loc[self.ranked["is_top"], "gross_profit"].sum()) / total

    @property
    def threshold(self) -> float | None:
        """The lowest gross profit of a top customer."""
        top = self.ranked.loc[self.ranked["is_top"], "gross_profit"]
        return float(top.min()) if len(top) else None


def analyse_top_customers(
    tables: Tables,
    window: Window,
    *,
    share: float = 0.2,
    seed: int = 0,
    windows: Windows = Windows(),
    lookalikes: bool = True,
) -> TopCustomers:
    """Top customers of `window`, their profile and the lookalike scores of the others
    (module docstring). `lookalikes=False` skips the model (profile only)."""
    profit = tables.execute(window_gross_profit(tables, window))
    ranked = top_customers(profit, share)
    at_end = tables.execute(customer_features(tables, window.end, windows))
    described = ranked.merge(
        at_end.drop(columns=["gross_profit", "orders", "revenue"]), on="customer_id", how="left"
    )
    described["tenure"] = tenure_band(described["days_since_signup"])
    described["membership"] = np.where(
        described["is_member"].fillna(False).astype(bool),
        "member: " + described["member_tier"].fillna("no tier").astype(str),
        "non-member",
    )
    profile = top_profile(described)
    model: LookalikeModel | None = None
    scores = pd.DataFrame(columns=list(SCORE_COLUMNS))
    if lookalikes:
        # In customer order: the seeded split must not depend on the order rows come in.
        before = tables.execute(
            customer_features(tables, window.start - timedelta(days=1), windows)
        ).sort_values("customer_id", ignore_index=True)
        top_ids = set(ranked.loc[ranked["is_top"], "customer_id"].astype(str))
        labels = before["customer_id"].astype(str).isin(top_ids).astype(int)
        model = fit_lookalike(lookalike_features(before), labels, seed=seed)
        others = at_end[~at_end["customer_id"].astype(str).isin(top_ids)]
        scored = score_lookalikes(model, lookalike_features(others))
        scores = _scores_table(others, scored, ranked)
    return TopCustomers(
        window=window,
        share=share,
        ranked=ranked,
        profile=profile,
        model=model,
        scores=scores,
        lines_without_cost=int(ranked["lines_without_cost"].sum()) if len(ranked) else 0,
    )


SCORE_COLUMNS = (
    "customer_id",
    "lookalike_score",
    "window_gross_profit",
    "orders",
    "region",
    "is_member",
    "days_since_last_order",
)


def _scores_table(others: pd.DataFrame, scored: pd.Series, ranked: pd.DataFrame) -> pd.DataFrame:
    frame = others.assign(customer_id=others["customer_id"].astype(str)).set_index("customer_id")
    frame["lookalike_score"] = scored
    profit = ranked.assign(customer_id=ranked["customer_id"].astype(str)).set_index("customer_id")
    frame["window_gross_profit"] = profit["gross_profit"].reindex(frame.index).fillna(0.0)
    frame = frame.reset_index()
    frame["days_since_last_order"] = frame["days_since_last_order"].astype("Int64")
    frame = frame.sort_values(
        ["lookalike_score", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    return frame[list(SCORE_COLUMNS)].reset_index(drop=True)
