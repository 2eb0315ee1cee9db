"""The warehouse's own tables: its data settings and the journal of changed tables."""

from __future__ import annotations

from omnikpi.model import Column, Table

DATA_SETTINGS = Table(
    name="warehouse_settings",
    description="Settings that describe the data: reporting time zone, currency, "
    "fiscal-year start, attribution model behind ROAS (set with `omnikpi warehouse set`).",
    primary_key=("name",),
    kind="system",
    group="warehouse",
    columns=(
        Column("name", "string", "time_zone, currency, fiscal_year_start or attribution_model."),
        Column("value", "string", "The setting's value."),
        Column("updated_at", "timestamp", "When it was last set."),
    ),
)
TABLE_CHANGES = Table(
    name="table_changes",
    description="Canonical tables changed since what depends on them (KPI rollups) was "
    "last refreshed; written in the same transaction as the change.",
    primary_key=("table_name", "batch_id"),
    kind="system",
    group="warehouse",
    columns=(
        Column("table_name", "string", "Canonical table that changed."),
        Column("since", "date", "Earliest local date of the change; null = any.", nullable=True),
        Column("batch_id", "string", "The load (or other writer) that changed it."),
        Column("recorded_at", "timestamp", "When the change was committed."),
    ),
)
SYSTEM_TABLES = (DATA_SETTINGS, TABLE_CHANGES)
