"""Dashboard services shared by the web pages and the JSON API: the executive scorecard,
the stage dashboard, "my KPIs", the KPI detail and the catalog explorer.

Pure functions over a `KpiReader` (the KPI engine, or its cached form in the web app) and
the catalog, returning small dataclasses; who may see which KPI follows
`omnikpi.auth.TIERS`.
"""

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
    SAME_DAY_LAST_WEEK,
    Change,
    ComparisonSpec,
    KpiCard,
    Point,
    Share,
    Status,
    build_cards,
    change_tone,
    previous_period,
    relative_change,
    share_dimension,
    year_ago,
)
from omnikpi.services.dashboard import (
    JOURNEY_STAGES,
    Dashboard,
    StageGroup,
    build_dashboard,
    comparisons_for,
    tier_grain,
)
from omnikpi.services.detail import KpiDetail, build_kpi_detail
from omnikpi.services.errors import InvalidChoice, KpiDenied
from omnikpi.services.explorer import (
    RACE_STEPS,
    UNTIERED,
    CatalogFacets,
    CatalogPage,
    CatalogSearch,
    search_catalog,
)
from omnikpi.services.periods import (
    DEFAULT_PERIODS,
    PERIODS_PER_YEAR,
    default_range,
    latest_complete_end,
    periods_back,
)
from omnikpi.services.reader import (
    CachedKpiReader,
    KpiReader,
    ResultCache,
    data_version,
)
from omnikpi.services.series import KpiSeries, SeriesRow, query_series, series_csv

__all__ = [
    "CHANNEL_DIMENSIONS",
    "DEFAULT_PERIODS",
    "JOURNEY_STAGES",
    "PERIODS_PER_YEAR",
    "RACE_STEPS",
    "SAME_DAY_LAST_WEEK",
    "UNTIERED",
    "Breakdown",
    "CachedKpiReader",
    "CatalogFacets",
    "CatalogPage",
    "CatalogSearch",
    "Change",
    "ComparisonSpec",
    "Dashboard",
    "InvalidChoice",
    "KpiCard",
    "KpiDenied",
    "KpiDetail",
    "KpiReader",
    "KpiSeries",
    "Point",
    "ResultCache",
    "SeriesRow",
    "Share",
    "StageGroup",
    "Status",
    "allowed_dimensions",
    "build_breakdown",
    "build_cards",
    "build_dashboard",
    "build_kpi_detail",
    "change_tone",
    "channel_dimension",
    "channel_dimensions",
    "check_kpi_visible",
    "comparisons_for",
    "data_version",
    "default_range",
    "default_tier",
    "latest_complete_end",
    "periods_back",
    "previous_period",
    "query_series",
    "relative_change",
    "search_catalog",
    "series_csv",
    "share_dimension",
    "tier_grain",
    "tier_kpis",
    "tiers_of",
    "visible_kpis",
    "year_ago",
]
