"""The service layer: the one way in for the CLI, the JSON API and the pages.

A request is parsed and checked once (`KpiRequest`), permissions are enforced here
(`omnikpi.auth` tiers), the domain packages do the work (KPI engine, ingestion, simulator)
and the answer comes back as small dataclasses the interfaces only render. See
docs/services.md for how a request flows.

The names below are imported on first use (PEP 562): importing one service, or the CLI,
does not import the KPI engine, Ibis and FastAPI with every other one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnikpi.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from omnikpi.kpi import Catalog, Grain, KpiQuery, KpiSpec, load_catalog
    from omnikpi.kpi.explain import Explanation
    from omnikpi.kpi.periods import (
        COMPARISONS,
        Comparison,
        check_comparison,
        comparisons_at,
        period_end,
        period_start,
    )
    from omnikpi.kpi.request import (
        MAX_SPAN_DAYS,
        KpiRequest,
        check_range,
        parse_compare,
        parse_day,
        parse_filters,
        parse_grain,
        parse_ids,
    )
    from omnikpi.kpi.rollups import RollupReport
    from omnikpi.kpi.spec import MEMBER_ROLES, STAGES, ChangeType
    from omnikpi.services.access import (
        check_kpi_visible,
        default_tier,
        tier_kpis,
        tiers_of,
        visible_kpis,
    )
    from omnikpi.services.breakdown import (
        CHANNEL_DIMENSIONS,
        Breakdown,
        allowed_dimensions,
        build_breakdown,
        channel_dimension,
        channel_dimensions,
    )
    from omnikpi.services.cards import (
        Change,
        KpiCard,
        Point,
        Share,
        build_cards,
        change_tone,
    )
    from omnikpi.services.choices import FilterChoices, load_filter_choices
    from omnikpi.services.dashboard import (
        JOURNEY_STAGES,
        Dashboard,
        StageGroup,
        build_dashboard,
        comparisons_for,
        tier_grain,
    )
    from omnikpi.services.data_status import (
        VOLUME_TABLES,
        DataStatus,
        TableExtract,
        TableStatus,
        read_data_status,
        rows_by_period,
        table_volume,
        warehouse_status,
    )
    from omnikpi.services.definition import describe_kpi, kpi_definition, list_kpis
    from omnikpi.services.demo import DemoWarehouse, build_demo, demo_users
    from omnikpi.services.detail import KpiDetail, build_kpi_detail
    from omnikpi.services.errors import KpiDenied
    from omnikpi.services.explorer import (
        RACE_STEPS,
        UNTIERED,
        CatalogFacets,
        CatalogPage,
        CatalogSearch,
        search_catalog,
    )
    from omnikpi.services.export import write_csv
    from omnikpi.services.periods import (
        DEFAULT_PERIODS,
        default_range,
        latest_complete_end,
        periods_back,
    )
    from omnikpi.services.query import (
        STATUSES,
        KpiResult,
        KpiRow,
        Status,
        change_between,
        query_kpis,
        share_dimension,
    )
    from omnikpi.services.reader import (
        CachedKpiReader,
        KpiReader,
        ResultCache,
        data_version,
        open_reader,
    )
    from omnikpi.services.rollups import rebuild_rollups
    from omnikpi.services.series import KpiSeries, applicable_filters, view_series
    from omnikpi.services.simulation import simulate_files
    from omnikpi.services.targets import TARGET_COLUMNS, import_target_file, list_targets
    from omnikpi.services.warehouse import (
        SETTING_NAMES,
        TableInfo,
        WarehouseBusy,
        WarehouseInfo,
        data_settings,
        read_warehouse,
        set_data_setting,
        warehouse_info,
        write_warehouse,
    )
    from omnikpi.simulate import SimulationConfig

#: The module each exported name is imported from.
_MODULES: dict[str, tuple[str, ...]] = {
    "omnikpi.kpi": ("Catalog", "Grain", "KpiQuery", "KpiSpec", "load_catalog"),
    "omnikpi.kpi.explain": ("Explanation",),
    "omnikpi.kpi.periods": (
        "COMPARISONS",
        "Comparison",
        "check_comparison",
        "comparisons_at",
        "period_end",
        "period_start",
    ),
    "omnikpi.kpi.request": (
        "MAX_SPAN_DAYS",
        "KpiRequest",
        "check_range",
        "parse_compare",
        "parse_day",
        "parse_filters",
        "parse_grain",
        "parse_ids",
    ),
    "omnikpi.kpi.rollups": ("RollupReport",),
    "omnikpi.kpi.spec": ("MEMBER_ROLES", "STAGES", "ChangeType"),
    "omnikpi.services.access": (
        "check_kpi_visible",
        "default_tier",
        "tier_kpis",
        "tiers_of",
        "visible_kpis",
    ),
    "omnikpi.services.breakdown": (
        "CHANNEL_DIMENSIONS",
        "Breakdown",
        "allowed_dimensions",
        "build_breakdown",
        "channel_dimension",
        "channel_dimensions",
    ),
    "omnikpi.services.cards": ("Change", "KpiCard", "Point", "Share", "build_cards", "change_tone"),
    "omnikpi.services.choices": ("FilterChoices", "load_filter_choices"),
    "omnikpi.services.dashboard": (
        "JOURNEY_STAGES",
        "Dashboard",
        "StageGroup",
        "build_dashboard",
        "comparisons_for",
        "tier_grain",
    ),
    "omnikpi.services.data_status": (
        "VOLUME_TABLES",
        "DataStatus",
        "TableExtract",
        "TableStatus",
        "read_data_status",
        "rows_by_period",
        "table_volume",
        "warehouse_status",
    ),
    "omnikpi.services.definition": ("describe_kpi", "kpi_definition", "list_kpis"),
    "omnikpi.services.demo": ("DemoWarehouse", "build_demo", "demo_users"),
    "omnikpi.services.detail": ("KpiDetail", "build_kpi_detail"),
    "omnikpi.services.errors": ("KpiDenied",),
    "omnikpi.services.explorer": (
        "RACE_STEPS",
        "UNTIERED",
        "CatalogFacets",
        "CatalogPage",
        "CatalogSearch",
        "search_catalog",
    ),
    "omnikpi.services.export": ("write_csv",),
    "omnikpi.services.periods": (
        "DEFAULT_PERIODS",
        "default_range",
        "latest_complete_end",
        "periods_back",
    ),
    "omnikpi.services.query": (
        "STATUSES",
        "KpiResult",
        "KpiRow",
        "Status",
        "change_between",
        "query_kpis",
        "share_dimension",
    ),
    "omnikpi.services.reader": (
        "CachedKpiReader",
        "KpiReader",
        "ResultCache",
        "data_version",
        "open_reader",
    ),
    "omnikpi.services.rollups": ("rebuild_rollups",),
    "omnikpi.services.series": ("KpiSeries", "applicable_filters", "view_series"),
    "omnikpi.services.simulation": ("simulate_files",),
    "omnikpi.services.targets": ("TARGET_COLUMNS", "import_target_file", "list_targets"),
    "omnikpi.services.warehouse": (
        "SETTING_NAMES",
        "TableInfo",
        "WarehouseBusy",
        "WarehouseInfo",
        "data_settings",
        "read_warehouse",
        "set_data_setting",
        "warehouse_info",
        "write_warehouse",
    ),
    "omnikpi.simulate": ("SimulationConfig",),
}
if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, _MODULES)


__all__ = [
    "CHANNEL_DIMENSIONS",
    "COMPARISONS",
    "DEFAULT_PERIODS",
    "JOURNEY_STAGES",
    "MAX_SPAN_DAYS",
    "MEMBER_ROLES",
    "RACE_STEPS",
    "SETTING_NAMES",
    "STAGES",
    "STATUSES",
    "TARGET_COLUMNS",
    "UNTIERED",
    "VOLUME_TABLES",
    "Breakdown",
    "CachedKpiReader",
    "Catalog",
    "CatalogFacets",
    "CatalogPage",
    "CatalogSearch",
    "Change",
    "ChangeType",
    "Comparison",
    "Dashboard",
    "DataStatus",
    "DemoWarehouse",
    "Explanation",
    "FilterChoices",
    "Grain",
    "KpiCard",
    "KpiDenied",
    "KpiDetail",
    "KpiQuery",
    "KpiReader",
    "KpiRequest",
    "KpiResult",
    "KpiRow",
    "KpiSeries",
    "KpiSpec",
    "Point",
    "ResultCache",
    "RollupReport",
    "Share",
    "SimulationConfig",
    "StageGroup",
    "Status",
    "TableExtract",
    "TableInfo",
    "TableStatus",
    "WarehouseBusy",
    "WarehouseInfo",
    "allowed_dimensions",
    "applicable_filters",
    "build_breakdown",
    "build_cards",
    "build_dashboard",
    "build_demo",
    "build_kpi_detail",
    "change_between",
    "change_tone",
    "channel_dimension",
    "channel_dimensions",
    "check_comparison",
    "check_kpi_visible",
    "check_range",
    "comparisons_at",
    "comparisons_for",
    "data_settings",
    "data_version",
    "default_range",
    "default_tier",
    "demo_users",
    "describe_kpi",
    "import_target_file",
    "kpi_definition",
    "latest_complete_end",
    "list_kpis",
    "list_targets",
    "load_catalog",
    "load_filter_choices",
    "open_reader",
    "parse_compare",
    "parse_day",
    "parse_filters",
    "parse_grain",
    "parse_ids",
    "period_end",
    "period_start",
    "periods_back",
    "query_kpis",
    "read_data_status",
    "read_warehouse",
    "rebuild_rollups",
    "rows_by_period",
    "search_catalog",
    "set_data_setting",
    "share_dimension",
    "simulate_files",
    "table_volume",
    "tier_grain",
    "tier_kpis",
    "tiers_of",
    "view_series",
    "visible_kpis",
    "warehouse_info",
    "warehouse_status",
    "write_csv",
    "write_warehouse",
]
