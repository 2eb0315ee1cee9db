"""The `attributed_revenue` table: attributed conversions and revenue per local day,
channel, campaign and online/store (`omnikpi.marketing.attributed`) over every order of
the warehouse by the warehouse's `attribution_model` setting (position-based unless
`omnikpi warehouse set attribution-model M` chose another), its journeys cut with the
default 30-day lookback and store orders included. Rewritten after each load that changed
orders or touches and when the model changes, before the KPI rollups refresh; the
catalog's `roas` reads it (no data until it has been written).

>>> write_attributed_revenue(warehouse)  # doctest: +SKIP
1523
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import ibis.expr.types as ir
import pandas as pd

from omnikpi.errors import DataError, OmnikpiError, RefreshFailed
from omnikpi.marketing.attributed import (
    DATA_DRIVEN_MODELS,
    ROAS_MODEL,
    attributed_per_day,
    data_driven_per_day,
    monthly_paths,
    monthly_shares,
)
from omnikpi.marketing.journeys import JourneySettings, journey_touches
from omnikpi.services.touch_sources import touch_sources
from omnikpi.warehouse import Warehouse

__all__ = [
    "ATTRIBUTED_REVENUE",
    "INPUT_TABLES",
    "ROAS_MODEL",
    "write_attributed_revenue",
    "write_attributed_revenue_after",
]

ATTRIBUTED_REVENUE = "attributed_revenue"
#: Tables journeys are built from: a load changing one of them rewrites the table.
INPUT_TABLES = frozenset({"orders", "sessions", "touchpoints", "messages"})


def write_attributed_revenue(warehouse: Warehouse, settings: JourneySettings | None = None) -> int:
    """Rewrite the table from every order's journey by the warehouse's attribution model
    and mark it changed for the rollups; returns its rows (0, and nothing written, when no
    order has a touch and the table held nothing either)."""
    chosen = settings or JourneySettings()
    model = warehouse.settings.attribution_model
    if not warehouse.has_table("orders"):
        return 0
    row = warehouse.fetch_row("SELECT epoch(min(placed_at)), epoch(max(placed_at)) FROM orders")
    if row is None or row[0] is None:
        return 0
    start = datetime.fromtimestamp(float(row[0]), tz=UTC)
    end = datetime.fromtimestamp(float(row[1]), tz=UTC) + timedelta(seconds=1)
    try:
        touches = journey_touches(touch_sources(warehouse), start, end, chosen)
    except DataError:  # no touch table at all: nothing to attribute
        return 0
    frame = _credit(warehouse, touches, model)
    if frame.empty and not _has_rows(warehouse):
        return 0  # nothing credited before or now: no table to write, nothing changed
    frame["model"] = model
    frame["lookback_days"] = float(chosen.lookback_days)
    with (
        warehouse.transaction(),
        warehouse.registered("_omnikpi_attributed_revenue", frame) as view,
    ):
        warehouse.run_sql(
            f"CREATE OR REPLACE TABLE {ATTRIBUTED_REVENUE} AS SELECT "
            "CAST(date AS DATE) AS date, CAST(channel AS VARCHAR) AS channel, "
            "CAST(campaign_id AS VARCHAR) AS campaign_id, CAST(offline AS BOOLEAN) AS offline, "
            "CAST(model AS VARCHAR) AS model, CAST(lookback_days AS DOUBLE) AS lookback_days, "
            "CAST(conversions AS DOUBLE) AS conversions, CAST(revenue AS DOUBLE) AS revenue "
            f'FROM "{view}"'
        )
        warehouse.mark_changed({ATTRIBUTED_REVENUE: None}, f"attribution-{uuid.uuid4().hex[:12]}")
    return len(frame)


def _credit(warehouse: Warehouse, touches: ir.Table, model: str) -> pd.DataFrame:
    """Credit per day, channel, campaign and online/store by `model`."""
    if model not in DATA_DRIVEN_MODELS:
        return warehouse.execute(attributed_per_day(touches, model))
    paths = warehouse.execute(monthly_paths(touches))
    shares = warehouse.execute(monthly_shares(touches))
    return data_driven_per_day(paths, shares, model)


def _has_rows(warehouse: Warehouse) -> bool:
    if not warehouse.has_table(ATTRIBUTED_REVENUE):
        return False
    return bool(warehouse.fetch_value(f"SELECT count(*) FROM {ATTRIBUTED_REVENUE}"))


def write_attributed_revenue_after(warehouse: Warehouse, changed: set[str]) -> int:
    """After a load that changed `changed` tables: rewrite the table when an input
    changed (0 otherwise); a failure is said (RefreshFailed), the data stays loaded."""
    if not changed & INPUT_TABLES:
        return 0
    try:
        return write_attributed_revenue(warehouse)
    except (OmnikpiError, ValueError) as exc:
        raise RefreshFailed(
            f"the attributed revenue could not be refreshed ({exc}); the data is loaded "
            "and the next load rewrites it"
        ) from exc
