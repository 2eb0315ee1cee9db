"""The analysts' customer views through the service layer: customer 360, lifecycle
segments over time and their transitions, RFM groups and acquisition cohorts.

Customer-level rows (one customer's 360, lists of customers) go through the audited guard
`omnikpi.services.audit.customer_level` (analysts and admins; everyone else gets
ActionDenied, HTTP 403, and the refusal is audited). Aggregates (segment sizes,
transitions, RFM groups, cohorts) are for every role; for roles without customer-level
access a cell of fewer than `Settings.min_cell_customers` customers is withheld, with the
complementary cells that would give it back (the rule of `omnikpi.services.suppression`,
applied by its `suppress`), and the `suppressed` column says why.

The persisted `customer_profiles` table is rebuilt in full after each load that changed
its input tables, once it exists (`omnikpi customers refresh` builds it): segments depend
on the date, so every customer's profile moves with each new day of data, not only the
customers the load touched.

>>> table = segment_sizes(settings, Actor.cli(), SegmentQuery())  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from omnikpi.auth import Action, AppStateStore, UserRole
from omnikpi.auth.audit import Actor
from omnikpi.customers.cohorts import COHORT_BY, cohort_counts, cohort_metrics
from omnikpi.customers.profile import customer_features, customer_profiles, day_end
from omnikpi.customers.rfm import rfm_group_sizes, rfm_scores
from omnikpi.customers.segments import (
    NOT_YET,
    SegmentRules,
    assign_segments,
    load_segment_rules,
    month_ends,
    segment_transitions,
)
from omnikpi.customers.segments import segment_sizes as count_segments
from omnikpi.errors import InvalidChoice, NotFound, RefreshFailed
from omnikpi.model.derived import CUSTOMER_PROFILES
from omnikpi.services.audit import customer_level
from omnikpi.services.reader import ResultCache, data_version
from omnikpi.services.suppression import sees_customers, suppress
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Tables, Warehouse

__all__ = [
    "COHORT_BY",
    "MAX_RECENT_ORDERS",
    "NOT_YET",
    "PROFILE_INPUTS",
    "SEGMENT_BY",
    "CustomerTable",
    "ProfileRefresh",
    "cohorts",
    "customer_profile",
    "list_customers",
    "refresh_customer_profiles",
    "refresh_profiles_after_change",
    "rfm_groups",
    "segment_rules",
    "segment_sizes",
    "segment_transition_matrix",
]

#: What segment sizes can be split by: option value → profile column.
SEGMENT_BY = {
    "acquisition_channel": "acquisition_channel",
    "first_channel": "first_channel",
    "region": "region",
    "home_store": "home_store_id",
    "member": "is_member",
}
#: Canonical tables the profiles read: a load changing one of them rebuilds them.
PROFILE_INPUTS = frozenset(
    {
        "customers",
        "orders",
        "order_lines",
        "products",
        "sessions",
        "events",
        "tickets",
        "shipments",
        "reviews",
        "surveys",
        "loyalty_ledger",
        "customer_scores",
    }
)
#: Most months segment sizes go back by default.
DEFAULT_MONTHS = 13

#: Customers' segments per date, kept per data version and rules (see `_segmented`).
_SEGMENTS = ResultCache(max_entries=48)
#: Most orders the customer 360 lists.
MAX_RECENT_ORDERS = 200


@dataclass(frozen=True)
class CustomerTable:
    """An answer: rows with `columns`, the date it describes, and for roles without
    customer-level access how many cells were withheld (`suppressed` column per row)."""

    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    as_of: date
    minimum: int | None = None
    withheld: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def segment_rules(settings: Settings) -> SegmentRules:
    """The segment rules in effect: packaged, overridden by the settings' folders."""
    return load_segment_rules(settings.segment_dirs)


#: The tables whose latest local day is the data's "today" (the default date described).
THROUGH_TABLES = {"orders": "placed_at", "sessions": "started_at", "tickets": "opened_at"}


def data_through(tables: Tables) -> date:
    """The latest local day with orders, visits or service tickets: the default `as_of`
    (the data's today, not the wall clock's)."""
    days: list[date] = []
    for name, column in THROUGH_TABLES.items():
        if tables.has_table(name):
            latest = tables.execute(tables.table(name)[column].max().date().name("day"))
            if latest is not None and not pd.isna(latest):
                days.append(pd.Timestamp(latest).date())
    if not days:
        raise NotFound("the warehouse has no orders yet (load some with `omnikpi ingest`)")
    last_day: date = max(days)
    return last_day


def _as_of(tables: Tables, as_of: date | None) -> date:
    latest = data_through(tables)
    if as_of is None:
        return latest
    if as_of > latest:
        raise InvalidChoice("as-of", as_of.isoformat(), f"≤ {latest.isoformat()}")
    return as_of


# -- aggregates ------------------------------------------------------------------------------
def segment_sizes(
    settings: Settings,
    actor: Actor,
    *,
    as_of: date | None = None,
    since: date | None = None,
    by: str | None = None,
) -> CustomerTable:
    """Customers per lifecycle segment at each month end from `since` (default: a year
    before `as_of`) to `as_of` (default: the data's latest day, itself the last point when it
    is not a month end), optionally split `by` one of SEGMENT_BY."""
    column = _segment_by(by)
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        day = _as_of(warehouse, as_of)
        first = since or (pd.Timestamp(day) - pd.DateOffset(months=DEFAULT_MONTHS - 1)).date()
        if first > day:
            raise InvalidChoice("since", first.isoformat(), f"≤ {day.isoformat()}")
        ends = month_ends(first, day)
        segmented = _segmented(warehouse, ends, rules, column)
    if column:
        segmented = segmented.rename(columns={column: by})
    sizes = count_segments(segmented, rules.segment_ids, by)
    frame, withheld = _suppressed(
        sizes, settings, actor.role, ["segment", *([by] if by else [])], "as_of", ("share",)
    )
    return _table(frame, day, settings, actor.role, withheld)


def segment_transition_matrix(
    settings: Settings,
    actor: Actor,
    *,
    as_of: date | None = None,
    start: date | None = None,
    months: int = 1,
) -> CustomerTable:
    """How customers moved between lifecycle segments from `start` (default: the month end
    before `as_of`) to `as_of`: counts and shares of each from-segment. With `months` > 1
    (and no `start`), one matrix for each of the last `months` month-to-month steps, each
    row naming its `from_date` and `to_date`."""
    if not 1 <= months <= 120:
        raise InvalidChoice("months", str(months), "1 to 120")
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        day = _as_of(warehouse, as_of)
        if start is not None:
            if start >= day:
                raise InvalidChoice("from", start.isoformat(), f"< {day.isoformat()}")
            dates = [start, day]
        else:
            first = (pd.Timestamp(day).replace(day=1) - pd.DateOffset(months=months)).date()
            dates = month_ends(first, day)[-(months + 1) :]
        segmented = _segmented(warehouse, dates, rules, None)
    steps = []
    for before, after in itertools.pairwise(dates):
        moved = segment_transitions(
            segmented[segmented["as_of"] == before],
            segmented[segmented["as_of"] == after],
            rules.segment_ids,
        )
        moved.insert(0, "to_date", after)
        moved.insert(0, "from_date", before)
        steps.append(moved)
    frame, withheld = _suppressed(
        pd.concat(steps, ignore_index=True),
        settings,
        actor.role,
        ["from_segment", "to_segment"],
        "to_date",
        ("share",),
    )
    return _table(frame, day, settings, actor.role, withheld)


def rfm_groups(settings: Settings, actor: Actor, *, as_of: date | None = None) -> CustomerTable:
    """Customers per named RFM group with their mean recency, orders and revenue."""
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        day = _as_of(warehouse, as_of)
        features = customer_features(warehouse, day, rules.windows)
        scored = warehouse.execute(
            rfm_scores(features, rules.rfm).select(
                "customer_id", "rfm_group", "days_since_last_order", "orders", "revenue"
            )
        )
    groups = rfm_group_sizes(scored, rules.rfm)
    groups.insert(0, "as_of", day)
    frame, withheld = _suppressed(
        groups,
        settings,
        actor.role,
        ["rfm_group"],
        "as_of",
        ("share", "recency_days", "orders", "revenue"),
    )
    return _table(frame, day, settings, actor.role, withheld)


def cohorts(
    settings: Settings,
    actor: Actor,
    *,
    as_of: date | None = None,
    since: date | None = None,
    by: str | None = None,
) -> CustomerTable:
    """Acquisition cohorts (first-order month) from `since`'s month: retention and revenue
    per customer by months since acquisition, optionally split `by` one of COHORT_BY."""
    if by is not None and by not in COHORT_BY:
        raise InvalidChoice("by", by, ", ".join(COHORT_BY))
    with read_warehouse(settings) as warehouse:
        day = _as_of(warehouse, as_of)
        counts = warehouse.execute(cohort_counts(warehouse, day, by))
    table = cohort_metrics(counts, day)
    if since is not None:
        table = table[table["cohort"] >= since.replace(day=1)].reset_index(drop=True)
    if sees_customers(actor.role):
        return _table(table, day, settings, actor.role, 0)
    frame, withheld = _suppress_cohorts(table, settings.min_cell_customers, by)
    return _table(frame, day, settings, actor.role, withheld)


# -- customer-level --------------------------------------------------------------------------
def customer_profile(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    customer_id: str,
    *,
    as_of: date | None = None,
    orders: int = 0,
) -> dict[str, Any]:
    """One customer's 360 (CUSTOMER_PROFILES columns) as of `as_of` (default: the latest
    order day), for analysts and admins; audited. NotFound for an unknown customer.

    With `orders` > 0, also `recent_orders`: the customer's latest `orders` orders placed
    by the end of `as_of` (newest first: order_id, placed_at, channel, store_id, status,
    net_amount, items), read in the same audited access."""
    if not 0 <= orders <= MAX_RECENT_ORDERS:
        raise InvalidChoice("orders", str(orders), f"0 to {MAX_RECENT_ORDERS}")
    with customer_level(
        store, actor, Action.VIEW_CUSTOMER_LEVEL, f"customer {customer_id}", detail="customer 360"
    ) as access:
        frame = _profiles(settings, as_of, customer_ids=[customer_id])
        if frame.empty:
            access.rows(0)
            raise NotFound(f'no customer "{customer_id}" (as of the date asked, if one was)')
        profile = _plain(frame.iloc[0].to_dict())
        if orders:
            profile["recent_orders"] = _recent_orders(settings, customer_id, profile, orders)
        access.rows(1 + len(profile.get("recent_orders", ())))
        return profile


def _recent_orders(
    settings: Settings, customer_id: str, profile: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    with read_warehouse(settings) as warehouse:
        if not warehouse.has_table("orders"):
            return []
        end = day_end(pd.Timestamp(profile["as_of"]).date(), warehouse.time_zone)
        lines = warehouse.has_table("order_lines")
        items = (
            "(SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.order_id)"
            if lines
            else "NULL"
        )
        frame = warehouse.fetch_frame(
            "SELECT o.order_id, o.placed_at, o.channel, o.store_id, o.status, "
            f"CAST(o.net_amount AS DOUBLE) AS net_amount, {items} AS items "
            "FROM orders o WHERE o.customer_id = ? AND o.placed_at < ? "
            "ORDER BY o.placed_at DESC, o.order_id DESC LIMIT ?",
            [customer_id, end, limit],
        )
    return [_plain(row) for row in frame.to_dict("records")]


def list_customers(
    settings: Settings,
    store: AppStateStore,
    actor: Actor,
    *,
    segment: str | None = None,
    rfm_group: str | None = None,
    as_of: date | None = None,
    limit: int = 100,
) -> CustomerTable:
    """Customers of a lifecycle segment and/or RFM group, highest revenue first (at most
    `limit`), for analysts and admins; audited with the rows returned."""
    rules = segment_rules(settings)
    if segment is not None and segment not in rules.segment_ids:
        raise InvalidChoice("segment", segment, ", ".join(rules.segment_ids))
    groups = list(dict.fromkeys(g.id for g in rules.rfm.groups))
    if rfm_group is not None and rfm_group not in groups:
        raise InvalidChoice("rfm group", rfm_group, ", ".join(groups))
    subject = "customers" + "".join(
        f" {name}={value}" for name, value in (("segment", segment), ("rfm", rfm_group)) if value
    )
    with customer_level(store, actor, Action.VIEW_CUSTOMER_LEVEL, subject) as access:
        frame = _profiles(settings, as_of)
        if segment is not None:
            frame = frame[frame["segment"] == segment]
        if rfm_group is not None:
            frame = frame[frame["rfm_group"] == rfm_group]
        frame = frame.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(limit)
        access.rows(len(frame))
    columns = (
        "customer_id",
        "segment",
        "rfm_group",
        "orders",
        "revenue",
        "days_since_last_order",
        "is_member",
        "clv",
        "p_alive",
    )
    day = frame["as_of"].iloc[0] if len(frame) else (as_of or date.min)
    rows = [_plain({c: row[c] for c in columns}) for _, row in frame.iterrows()]
    return CustomerTable(columns, rows, pd.Timestamp(day).date())


def _profiles(
    settings: Settings, as_of: date | None, customer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Profiles as of `as_of`: from the persisted table when it describes that date with
    the same segment rules, else computed."""
    rules = segment_rules(settings)
    with read_warehouse(settings) as warehouse:
        day = _as_of(warehouse, as_of)
        expr = None
        if _stored(warehouse) == (day, rules.fingerprint):
            expr = warehouse.table(CUSTOMER_PROFILES.name)
        if expr is None:
            expr = customer_profiles(warehouse, day, rules)
        if customer_ids is not None:
            expr = expr.filter(expr.customer_id.isin(list(customer_ids)))
        return warehouse.execute(expr)


def _stored(warehouse: Warehouse) -> tuple[date, str] | None:
    """The date and rules fingerprint of the stored profiles (None: none stored)."""
    if not warehouse.has_table(CUSTOMER_PROFILES.name):
        return None
    row = warehouse.fetch_row(f'SELECT max(as_of), max(rules) FROM "{CUSTOMER_PROFILES.name}"')
    if row is None or row[0] is None:
        return None
    return pd.Timestamp(row[0]).date(), str(row[1])


# -- the persisted table ---------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileRefresh:
    """A rebuild of `customer_profiles`: rows written, the date, seconds it took."""

    rows: int
    as_of: date
    seconds: float


def refresh_customer_profiles(
    warehouse: Warehouse, settings: Settings, as_of: date | None = None
) -> ProfileRefresh:
    """Rebuild `customer_profiles` in full as of `as_of` (default: the data's latest day),
    in one transaction (readers see the old table or the new one)."""
    started = time.perf_counter()
    day = _as_of(warehouse, as_of)
    rules = segment_rules(settings)
    arrow = warehouse.ibis.to_pyarrow(customer_profiles(warehouse, day, rules))
    with warehouse.transaction():
        warehouse.run_sql(f'DROP TABLE IF EXISTS "{CUSTOMER_PROFILES.name}"')
        warehouse.create_tables([CUSTOMER_PROFILES])
        rows = warehouse.append(CUSTOMER_PROFILES.name, arrow, CUSTOMER_PROFILES)
    return ProfileRefresh(rows, day, time.perf_counter() - started)


def refresh_profiles_after_change(
    warehouse: Warehouse, settings: Settings, changed: Iterable[str]
) -> ProfileRefresh | None:
    """After a load (or a forget) that changed `changed` tables: rebuild the profiles if
    the warehouse keeps them and one of their inputs changed (None: nothing to do)."""
    if not warehouse.has_table(CUSTOMER_PROFILES.name) or not PROFILE_INPUTS & set(changed):
        return None
    try:
        return refresh_customer_profiles(warehouse, settings)
    except Exception as exc:  # the data stays loaded; said, not swallowed
        # Stale rows could keep a forgotten customer's id: none is better than stale.
        warehouse.run_sql(f'DROP TABLE IF EXISTS "{CUSTOMER_PROFILES.name}"')
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RefreshFailed(
            f"the customer profiles could not be rebuilt ({reason}) and were dropped; the "
            "data is loaded and `omnikpi customers refresh` builds them again"
        ) from exc


# -- shaping and suppression -----------------------------------------------------------------
def _segment_by(by: str | None) -> str | None:
    if by is None:
        return None
    if by not in SEGMENT_BY:
        raise InvalidChoice("by", by, ", ".join(SEGMENT_BY))
    return SEGMENT_BY[by]


def _segmented(
    warehouse: Warehouse, ends: Sequence[date], rules: SegmentRules, column: str | None
) -> pd.DataFrame:
    """Each customer's segment (and `column`) at each of `ends`. A date's rows are kept for
    the data's version and the rules (`_SEGMENTS`), so the segment page's sizes over 13
    month ends and its transitions between the last two compute each date once; the dates
    not kept are computed in one query."""
    if str(warehouse.path) == ":memory:":
        return _segment_rows(warehouse, ends, rules, column)
    version = (str(warehouse.path), data_version(warehouse.path), rules.fingerprint, column)
    found: dict[date, pd.DataFrame] = {}
    missing = [day for day in dict.fromkeys(ends) if not _SEGMENTS.has((version, day))]
    if missing:
        computed = _segment_rows(warehouse, missing, rules, column)
        for day in missing:
            found[day] = computed[computed["as_of"] == day].reset_index(drop=True)
            _SEGMENTS.put((version, day), found[day])
    for day in ends:  # kept ones (computed again should one have been dropped meanwhile)
        if day not in found:
            found[day] = _SEGMENTS.get_or_compute(
                (version, day), functools.partial(_segment_rows, warehouse, [day], rules, column)
            )
    return pd.concat([found[day] for day in dict.fromkeys(ends)], ignore_index=True)


def _segment_rows(
    warehouse: Warehouse, ends: Sequence[date], rules: SegmentRules, column: str | None
) -> pd.DataFrame:
    features = customer_features(warehouse, ends, rules.windows)
    segmented = assign_segments(features, rules)
    columns = ["customer_id", "as_of", "segment", *([column] if column else [])]
    frame = warehouse.execute(segmented.select(*columns))
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    if column:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "(none)")
        frame[column] = frame[column].astype(str)
    return frame


def _suppressed(
    frame: pd.DataFrame,
    settings: Settings,
    role: UserRole | None,
    dimensions: Sequence[str],
    period: str,
    parts: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """`frame` (a `customers` count per cell) with small and complementary cells withheld
    for `role` (the count and `parts` become None, `suppressed` says why); unchanged for
    roles with customer-level access. Empty cells reveal no one and are shown."""
    if sees_customers(role) or frame.empty:
        return frame, 0
    work = frame.copy()
    work["kpi"] = "customers"
    work["period_start"] = work[period]
    work["value"] = work["customers"]
    work["population"] = work["customers"].where(work["customers"] > 0)
    checked = suppress(work, settings.min_cell_customers, list(dimensions))
    withheld = checked["suppressed"].notna()
    result = frame.copy()
    for column in ("customers", *parts):
        result[column] = result[column].astype(object).where(~withheld, None)
    result["suppressed"] = checked["suppressed"]
    return result, int(withheld.sum())


def _suppress_cohorts(
    table: pd.DataFrame, minimum: int, by: str | None
) -> tuple[pd.DataFrame, int]:
    """Cohort cells withheld for roles without customer-level access: a cohort (or its
    split) of fewer than `minimum` customers entirely; a month's active customers,
    retention and revenue where fewer than `minimum` ordered; the cumulative revenue from
    the first withheld month on (it would give that month back)."""
    dims = [by] if by else []
    work = table.copy()
    work["kpi"] = "size"
    work["period_start"] = work["cohort"]
    work["value"] = work["cohort_customers"]
    work["population"] = work["cohort_customers"]
    sizes = suppress(work[work["months_since"] == 0], minimum, dims)
    key = ["cohort", *dims]
    hidden = {tuple(row) for row in sizes.loc[sizes["suppressed"].notna(), key].to_numpy()}
    whole = pd.Series([tuple(row) in hidden for row in table[key].to_numpy()], index=table.index)
    work["kpi"] = "active:" + work["months_since"].astype(str)
    work["value"] = work["active_customers"]
    work["population"] = work["active_customers"].where(work["active_customers"] > 0)
    active = suppress(work, minimum, dims)
    month = active["suppressed"].notna() | whole
    result = table.copy()
    for column in ("active_customers", "retention", "revenue", "revenue_per_customer"):
        result[column] = result[column].astype(object).where(~month, None)
    later = month.astype(int).groupby([table[k] for k in key]).cumsum() > 0
    cumulative = result["cumulative_revenue_per_customer"].astype(object)
    result["cumulative_revenue_per_customer"] = cumulative.where(~later, None)
    result["cohort_customers"] = result["cohort_customers"].astype(object).where(~whole, None)
    result["suppressed"] = [
        "small_cell" if w else reason for w, reason in zip(whole, active["suppressed"], strict=True)
    ]
    return result, int(month.sum())


def _table(
    frame: pd.DataFrame, day: date, settings: Settings, role: UserRole | None, withheld: int
) -> CustomerTable:
    minimum = None if sees_customers(role) else settings.min_cell_customers
    rows = [_plain(row) for row in frame.to_dict(orient="records")]
    return CustomerTable(tuple(str(c) for c in frame.columns), rows, day, minimum, withheld)


def _plain(row: Mapping[Hashable, Any]) -> dict[str, Any]:
    """Values as plain Python: None for missing, dates as dates, numbers as numbers."""
    plain: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
            plain[str(name)] = None
        elif isinstance(value, pd.Timestamp):
            plain[str(name)] = value.to_pydatetime()
        elif hasattr(value, "item"):
            plain[str(name)] = value.item()
        else:
            plain[str(name)] = value
    return plain
