"""Customer insights through the service layer: the top customers by gross profit with
their profile against the rest and lookalike scores for the others (brief 002), and
product affinity — co-purchase rules and the next-best category per lifecycle segment.

Customer-level rows (the list of top customers, the lookalike scores) go through the audited
guard `omnikpi.services.audit.customer_level` (analysts and admins; everyone else gets
ActionDenied, HTTP 403, and the refusal is audited). Aggregates (the top-vs-rest profile,
co-purchase rules, next-best categories) are for every role; for roles without
customer-level access a cell describing fewer than `Settings.min_cell_customers`
customers is withheld (the rule of `omnikpi.services.suppression`, applied by its
`suppress`) and its `suppressed` column says why.

A window is written `12m`, `2y`, `90d` (ending on the data's latest day) or
`YYYY-MM-DD..YYYY-MM-DD`; the default is the last 12 months, so that the lookalike model
has customers' history before the window to learn from (`--window 2y` is the brief's "last
two years" where the data reaches back far enough).

>>> result = top_customer_profile(settings, Actor.cli(), window="12m")  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from omnikpi.auth import Action, AppStateStore
from omnikpi.auth.audit import Actor
from omnikpi.customers.affinity import (
    BASES,
    LEVELS,
    RULE_COLUMNS,
    basket_items,
    co_purchase,
    next_best_categories,
)
from omnikpi.customers.profile import customer_features
from omnikpi.customers.segments import assign_segments
from omnikpi.customers.top import (
    NONE_LABEL,
    SCORE_COLUMNS,
    TopCustomers,
    Window,
    analyse_top_customers,
)
from omnikpi.errors import InvalidChoice
from omnikpi.kpi.periods import add_months
from omnikpi.services.audit import customer_level
from omnikpi.services.customers import data_through, segment_rules
from omnikpi.services.suppression import sees_customers, suppress
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings

__all__ = [
    "DEFAULT_WINDOW",
    "NONE_LABEL",
    "AffinityTable",
    "TopCustomerAnswer",
    "co_purchase_rules",
    "lookalike_list",
    "next_best_category",
    "parse_window",
    "top_customer_list",
    "top_customer_profile",
]

DEFAULT_WINDOW = "12m"
DEFAULT_SHARE = 0.2
#: The seed of the lookalike model's holdout split and trees (recorded in the answer).
DEFAULT_SEED = 0
_RELATIVE = re.compile(r"^(\d+)([dmy])$")


def parse_window(text: str | None, latest: date) -> Window:
    """The window `text` names, relative windows ending on `latest` (the data's last day).

    >>> parse_window("12m", date(2025, 12, 31))
    Window(start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31))
    >>> parse_window("2025-03-01..2025-05-31", date(2025, 12, 31)).days
    92
    """
    value = (text or DEFAULT_WINDOW).strip().lower()
    allowed = "12m, 2y, 90d or YYYY-MM-DD..YYYY-MM-DD"
    relative = _RELATIVE.match(value)
    if relative:
        count, unit = int(relative.group(1)), relative.group(2)
        if count < 1:
            raise InvalidChoice("window", value, allowed)
        if unit == "d":
            start = latest - timedelta(days=count - 1)
        else:
            start = add_months(latest, -count * (12 if unit == "y" else 1)) + timedelta(days=1)
        return Window(start, latest)
    first, dots, last = value.partition("..")
    if not dots:
        raise InvalidChoice("window", value, allowed)
    try:
        window = Window(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError:
        raise InvalidChoice("window", value, allowed) from None
    if window.end > latest:
        raise InvalidChoice("window", value, f"ending ≤ {latest.isoformat()}")
    return window


@dataclass(frozen=True)
class TopCustomerAnswer:
    """An answer about the top customers: the window, the share, the headline figures,
    rows with `columns`, and for roles without customer-level access the smallest cell
    shown and how many cells were withheld."""

    window: Window
    share: float
    summary: dict[str, Any]
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    minimum: int | None = None
    withheld: int = 0


@dataclass(frozen=True)
class AffinityTable:
    """Co-purchase rules or next-best categories: rows with `columns`, the window, what a
    basket is, and what was withheld."""

    window: Window
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    minimum: int | None = None
    withheld: int = 0


def _analyse(
    settings: Settings, window: str | None, share: float, lookalikes: bool, seed: int
) -> TopCustomers:
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        span = parse_window(window, data_through(warehouse))
        return analyse_top_customers(
            warehouse, span, share=share, seed=seed, windows=rules.windows, lookalikes=lookalikes
        )


def _summary(analysis: TopCustomers, visible: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "window_start": analysis.window.start,
        "window_end": analysis.window.end,
        "share": analysis.share,
        "buyers": analysis.buyers,
        "top_customers": analysis.top_count,
        "top_gross_profit_share": analysis.top_gross_profit_share,
        "gross_profit_threshold": analysis.threshold if visible else None,
        "lines_without_cost": analysis.lines_without_cost,
    }
    if analysis.model is not None:
        summary.update(
            holdout_auc=analysis.model.holdout_auc,
            training_customers=analysis.model.training_customers,
            holdout_customers=analysis.model.holdout_customers,
            seed=analysis.model.seed,
        )
    return summary


# -- aggregates ------------------------------------------------------------------------------
def top_customer_profile(
    settings: Settings,
    actor: Actor,
    *,
    window: str | None = None,
    share: float = DEFAULT_SHARE,
) -> TopCustomerAnswer:
    """The top `share` of the window's buyers by gross profit against the rest: per facet
    (channel, category, region, acquisition channel, first channel, tenure, membership)
    and value, the customers and share of each group and the difference. For roles without
    customer-level access, a group count below the threshold is withheld with its share and
    the difference, as is the gross-profit threshold when the top group is that small."""
    analysis = _analyse(settings, window, share, False, DEFAULT_SEED)
    frame = analysis.profile
    minimum = settings.min_cell_customers
    visible = sees_customers(actor.role) or analysis.top_count >= minimum
    withheld = 0
    if not sees_customers(actor.role) and not frame.empty:
        frame, withheld = _suppress_profile(frame, minimum)
    return TopCustomerAnswer(
        window=analysis.window,
        share=share,
        summary=_summary(analysis, visible),
        columns=tuple(frame.columns),
        rows=_rows(frame),
        minimum=None if sees_customers(actor.role) else minimum,
        withheld=withheld,
    )


def _suppress_profile(frame: pd.DataFrame, minimum: int) -> tuple[pd.DataFrame, int]:
    """Profile cells of fewer than `minimum` customers withheld, per group (top, rest):
    the count, its share and the difference; complementary cells within a facet too (the
    single-valued facets add up to the group's size)."""
    result = frame.copy()
    reasons = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for group in ("top", "rest"):
        work = pd.DataFrame(
            {
                "kpi": group,
                "period_start": frame["facet"],
                "item": frame["value"],
                "value": frame[f"{group}_customers"],
                "population": frame[f"{group}_customers"].where(frame[f"{group}_customers"] > 0),
            }
        )
        checked = suppress(work, minimum, ["item"])
        hidden = checked["suppressed"].notna()
        for column in (f"{group}_customers", f"{group}_share", "difference"):
            result[column] = result[column].astype(object).where(~hidden, None)
        reasons = reasons.where(reasons.notna() | ~hidden, checked["suppressed"])
    result["suppressed"] = reasons
    return result, int(reasons.notna().sum())


def co_purchase_rules(
    settings: Settings,
    actor: Actor,
    *,
    level: str = "category",
    basis: str = "order",
    min_support: float = 0.01,
    min_baskets: int = 1,
    window: str | None = None,
    limit: int | None = None,
) -> AffinityTable:
    """Co-purchase rules between categories or products (`level`) over orders or
    customers (`basis`) of the window: support, confidence, lift (see
    `omnikpi.customers.affinity`), highest lift first. For roles without customer-level
    access a rule behind fewer than the threshold's customers is withheld."""
    chosen_level = _choice("level", level, LEVELS)
    chosen_basis = _choice("basis", basis, BASES)
    with read_warehouse(settings) as warehouse:
        span = parse_window(window, data_through(warehouse))
        items = basket_items(warehouse, span.start, span.end, chosen_level, chosen_basis)
        frame = warehouse.execute(co_purchase(items, min_support, min_baskets))
        counted = warehouse.execute(items.aggregate(baskets=items.basket.nunique()))
        baskets = int(counted["baskets"].iloc[0])
        products = warehouse.table("products")
        names = warehouse.execute(products.select("product_id", "name"))
    if limit is not None:
        frame = frame.head(limit)
    withheld = 0
    minimum = settings.min_cell_customers
    columns = [c for c in RULE_COLUMNS if c != "customers"]
    if chosen_level == "product":  # names beside the ids, for reading
        named = dict(zip(names["product_id"].astype(str), names["name"], strict=True))
        frame = frame.assign(
            antecedent_name=frame["antecedent"].map(named),
            consequent_name=frame["consequent"].map(named),
        )
        columns[2:2] = ["antecedent_name", "consequent_name"]
    if sees_customers(actor.role):
        frame = frame[columns]
    else:
        frame, withheld = _suppress_counted(
            frame,
            minimum,
            ("both_baskets", "support", "confidence", "lift"),
        )
        frame = frame[[*columns, "suppressed"]]
    summary = {"level": chosen_level, "basis": chosen_basis, "baskets": baskets}
    summary["min_support"] = min_support
    return AffinityTable(
        span,
        tuple(frame.columns),
        _rows(frame),
        summary,
        None if sees_customers(actor.role) else minimum,
        withheld,
    )


def next_best_category(
    settings: Settings,
    actor: Actor,
    *,
    min_support: float = 0.01,
    rank_by: str = "confidence",
    window: str | None = None,
    top: int | None = 3,
) -> AffinityTable:
    """Per lifecycle segment (at the window's end), the categories that are its customers'
    next best — of the categories they have not bought, the one with the highest
    confidence (or lift) of a customer-basis rule with lift above 1 from one they have — with
    how many customers of the segment have it as theirs; the first `top` per segment. For
    roles without customer-level access a cell of fewer than the threshold's customers is
    withheld (and the sibling that would give it back)."""
    ranking = _choice("rank-by", rank_by, ("confidence", "lift"))
    rules_in_effect = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        span = parse_window(window, data_through(warehouse))
        items = basket_items(warehouse, span.start, span.end, "category", "customer")
        rules = warehouse.execute(co_purchase(items, min_support))
        bought = warehouse.execute(items.select(customer_id="basket", category="item"))
        features = customer_features(warehouse, span.end, rules_in_effect.windows)
        segmented = assign_segments(features, rules_in_effect)
        segments = warehouse.execute(segmented.select("customer_id", "segment"))
    table = next_best_categories(bought, segments, rules, ranking)
    if top is not None:
        table = table[table["rank"] <= top].reset_index(drop=True)
    withheld = 0
    minimum = settings.min_cell_customers
    if not sees_customers(actor.role) and not table.empty:
        table, withheld = _suppress_next_best(table, minimum)
    summary = {"rank_by": ranking, "min_support": min_support, "rules": len(rules)}
    return AffinityTable(
        span,
        tuple(table.columns),
        _rows(table),
        summary,
        None if sees_customers(actor.role) else minimum,
        withheld,
    )


def _suppress_counted(
    frame: pd.DataFrame, minimum: int, parts: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """Rows whose `customers` is below `minimum` withheld (their `parts` become None):
    small cells only, rules do not add up to a total shown elsewhere."""
    work = pd.DataFrame(
        {
            "kpi": "rule",
            "period_start": "window",
            "value": frame["customers"],
            "population": frame["customers"],
        },
        index=frame.index,
    )
    checked = suppress(work, minimum, [])
    hidden = checked["suppressed"].notna()
    result = frame.copy()
    for column in parts:
        result[column] = result[column].astype(object).where(~hidden, None)
    result["suppressed"] = checked["suppressed"]
    return result, int(hidden.sum())


def _suppress_next_best(table: pd.DataFrame, minimum: int) -> tuple[pd.DataFrame, int]:
    work = pd.DataFrame(
        {
            "kpi": "customers",
            "period_start": table["segment"],
            "category": table["category"],
            "value": table["customers"],
            "population": table["customers"],
        },
        index=table.index,
    )
    checked = suppress(work, minimum, ["category"])
    small_segment = table["segment_customers"] < minimum
    reasons = checked["suppressed"].where(~small_segment, "small_cell")
    hidden = reasons.notna()
    result = table.copy()
    for column in ("customers", "share", "confidence", "lift"):
        result[column] = result[column].astype(object).where(~hidden, None)
    result["segment_customers"] = (
        result["segment_customers"].astype(object).where(~small_segment, None)
    )
    result["suppressed"] = reasons
    return result, int(hidden.sum())


# -- customer-level --------------------------------------------------------------------------
TOP_LIST_COLUMNS = (
    "rank",
    "customer_id",
    "gross_profit",
    "orders",
    "revenue",
    "window_channels",
    "window_categories",
)


def top_customer_list(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    window: str | None = None,
    share: float = DEFAULT_SHARE,
    limit: int | None = None,
) -> TopCustomerAnswer:
    """The top `share` of the window's buyers by gross profit, most profitable first (at
    most `limit`), for analysts and admins; audited with the rows returned."""
    subject = f"top customers share={share} window={window or DEFAULT_WINDOW}"
    with customer_level(store, actor, Action.VIEW_CUSTOMER_LEVEL, subject) as access:
        analysis = _analyse(settings, window, share, False, DEFAULT_SEED)
        frame = analysis.ranked[analysis.ranked["is_top"]]
        if limit is not None:
            frame = frame.head(limit)
        access.rows(len(frame))
    return TopCustomerAnswer(
        analysis.window,
        share,
        _summary(analysis, True),
        TOP_LIST_COLUMNS,
        _rows(frame[list(TOP_LIST_COLUMNS)]),
    )


def lookalike_list(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    window: str | None = None,
    share: float = DEFAULT_SHARE,
    limit: int | None = 1000,
    seed: int = DEFAULT_SEED,
) -> TopCustomerAnswer:
    """The customers who are not top, highest lookalike score first (at most `limit`),
    with the model's holdout AUC in the summary; for analysts and admins, audited."""
    subject = f"lookalikes share={share} window={window or DEFAULT_WINDOW}"
    with customer_level(store, actor, Action.VIEW_CUSTOMER_LEVEL, subject) as access:
        analysis = _analyse(settings, window, share, True, seed)
        frame = analysis.scores
        if limit is not None:
            frame = frame.head(limit)
        access.rows(len(frame))
    return TopCustomerAnswer(
        analysis.window,
        share,
        _summary(analysis, True),
        SCORE_COLUMNS,
        _rows(frame[list(SCORE_COLUMNS)]),
    )


# -- shaping ---------------------------------------------------------------------------------
def _choice(name: str, value: str, allowed: Sequence[str]) -> Any:
    if value not in allowed:
        raise InvalidChoice(name, value, ", ".join(allowed))
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (None for missing, numbers as int/float)."""
    rows: list[dict[str, Any]] = []
    for record in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for name, value in record.items():
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                row[str(name)] = None
            elif isinstance(value, np.generic):
                row[str(name)] = value.item()
            else:
                row[str(name)] = value
        rows.append(row)
    return rows
