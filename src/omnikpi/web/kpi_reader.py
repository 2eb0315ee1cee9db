"""The KPI reader of a request: cached results, the warehouse opened only on a miss.

Results are kept per data version (see `omnikpi.services.reader`), so a request whose
answers are all cached never opens the warehouse; one that needs the engine opens it
read-only for the rest of the request, as every other page does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from starlette.requests import HTTPConnection

from omnikpi.services import (
    CachedKpiReader,
    FilterChoices,
    data_version,
    load_filter_choices,
    read_warehouse,
)
from omnikpi.web.context import web_context


@contextmanager
def kpi_reader(connection: HTTPConnection) -> Iterator[CachedKpiReader]:
    """The request's KpiReader; closes the warehouse afterwards if it was opened."""
    context = web_context(connection)
    settings = context.settings
    reader = CachedKpiReader(
        context.catalog,
        settings,
        context.results,
        partial(read_warehouse, settings),
        data_version(settings.warehouse),
    )
    with reader:
        yield reader


def filter_choices(reader: CachedKpiReader) -> FilterChoices:
    """The stores and regions the filters offer, cached for the data version."""
    return reader.read(
        "filter_choices", lambda warehouse: load_filter_choices(reader.catalog, warehouse)
    )
