"""Stock, market context, production and projects."""

from __future__ import annotations

from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

INVENTORY_SNAPSHOTS = Table(
    name="inventory_snapshots",
    description="Units on hand per product and location at the end of a local day.",
    primary_key=("snapshot_date", "product_id", "location_id"),
    time_column="snapshot_date",
    group="operations",
    columns=(
        C("snapshot_date", "date", "Local day."),
        C("product_id", "string", "Product.", references="products.product_id"),
        C("location_id", "string", "Store or distribution centre.", references="stores.store_id"),
        C("on_hand", "int", "Sellable units at the end of the day."),
    ),
)

COMPETITOR_PRICES = Table(
    name="competitor_prices",
    description="Observed shelf prices of the same products at competitors.",
    primary_key=("date", "product_id", "competitor"),
    time_column="date",
    kind="secondary",
    group="operations",
    columns=(
        C("date", "date", "Local day observed."),
        C("product_id", "string", "Product.", references="products.product_id"),
        C("competitor", "string", "Competitor."),
        C("price", "money", "Price observed."),
        C("currency", "string", "ISO 4217 currency."),
    ),
)

MARKET_SIZE = Table(
    name="market_size",
    description="Market revenue per month and category from market research.",
    primary_key=("month", "category"),
    time_column="month",
    kind="secondary",
    group="operations",
    columns=(
        C("month", "date", "First local day of the month."),
        C("category", "string", "Product category."),
        C("market_revenue", "money", "Revenue of the whole market."),
        C("currency", "string", "ISO 4217 currency."),
    ),
)

PRODUCTION_RUNS = Table(
    name="production_runs",
    description=(
        "Runs of the own factory lines: planned and run time, output, quality and labor, "
        "from which OEE and OLE are computed."
    ),
    primary_key=("run_id",),
    time_column="started_at",
    kind="secondary",
    group="operations",
    columns=(
        C("run_id", "string", "Run id."),
        C("line", "string", "Production line."),
        C("product_id", "string", "Product made.", references="products.product_id"),
        C("started_at", "timestamp", "Start (UTC)."),
        C("ended_at", "timestamp", "End (UTC)."),
        C("planned_minutes", "float", "Planned production time."),
        C("run_minutes", "float", "Time actually running."),
        C("ideal_cycle_seconds", "float", "Ideal seconds per unit."),
        C("units_started", "int", "Units started."),
        C("units_produced", "int", "Units produced."),
        C("units_good", "int", "Good units (after rework)."),
        C("units_good_first_pass", "int", "Units good without rework."),
        C("labor_hours_scheduled", "float", "Labor hours scheduled."),
        C("labor_hours_worked", "float", "Labor hours worked."),
        C("standard_labor_seconds", "float", "Standard labor seconds per unit."),
        C("incidents", "int", "Safety, environment and quality incidents."),
    ),
)

PROJECTS = Table(
    name="projects",
    description="Internal projects with budget and estimated hours.",
    primary_key=("project_id",),
    kind="secondary",
    group="operations",
    columns=(
        C("project_id", "string", "Project id."),
        C("name", "string", "Name."),
        C("kind", "string", "Kind, e.g. store opening, site relaunch."),
        C("start_date", "date", "Local start."),
        C("end_date", "date", "Planned local end."),
        C("budget", "money", "Budget."),
        C("estimated_hours", "float", "Estimated hours."),
        C("currency", "string", "ISO 4217 currency."),
    ),
)

PROJECT_LOGS = Table(
    name="project_logs",
    description="Daily project bookings: hours, actual cost, planned cost, earned value.",
    primary_key=("date", "project_id"),
    time_column="date",
    kind="secondary",
    group="operations",
    columns=(
        C("date", "date", "Local day."),
        C("project_id", "string", "Project.", references="projects.project_id"),
        C("hours", "float", "Hours worked."),
        C("estimated_hours", "float", "Hours planned for the day."),
        C("actual_cost", "money", "Cost booked."),
        C("planned_cost", "money", "Budgeted cost of the work scheduled."),
        C("earned_value", "money", "Budgeted cost of the work performed."),
        C("attributed_revenue", "money", "Revenue attributed to the project."),
    ),
)

TABLES = (
    INVENTORY_SNAPSHOTS,
    COMPETITOR_PRICES,
    MARKET_SIZE,
    PRODUCTION_RUNS,
    PROJECTS,
    PROJECT_LOGS,
)
