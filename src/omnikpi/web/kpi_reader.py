"""The KPI reader of a request: cached results, the app's shared engine used only on a miss.

Results are kept per data version (see `omnikpi.services.reader`), so a request whose
answers are all cached never touches the warehouse; one that needs the engine leases the
app's `SharedEngine` (one per data version, its file open only while requests use it) for
the rest of the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import HTTPConnection

from omnikpi.services import (
    CachedKpiReader,
    FilterChoices,
    data_version,
    load_filter_choices,
)
from omnikpi.web.context import web_context


@contextmanager
def kpi_reader(connection: HTTPConnection) -> Iterator[CachedKpiReader]:
    """The request's KpiReader; ends its lease of the engine afterwards if it took one."""
    context = web_context(connection)
    settings = context.settings
    reader = CachedKpiReader(
        context.catalog,
        settings,
        context.results,
        context.engines,
        data_version(settings.warehouse),
    )
    with reader:
        yield reader


def filter_choices(reader: CachedKpiReader) -> FilterChoices:
    """The stores and regions the filters offer, cached for the data version."""
    return reader.read(
        "filter_choices", lambda warehouse: load_filter_choices(reader.catalog, warehouse)
    )
