"""How dashboards read KPIs: the KPI engine, behind a cache keyed by the data's version.

The services take any `KpiReader` — `omnikpi.kpi.KpiQuery` itself in tests and scripts.
The web app passes a `CachedKpiReader`: it opens the warehouse only when a result is not
cached yet, and keeps results per *data version* (the warehouse file's size and change
time), so a load, a rollup refresh or a target import makes every cached result stale at
once. Identical requests arriving together compute once; the others wait for that result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Protocol, TypeVar, cast

import pandas as pd

from omnikpi.kpi import Catalog, KpiQuery
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse

T = TypeVar("T")
Filters = Mapping[str, Sequence[str]]


class KpiReader(Protocol):
    """What the dashboard services read KPIs through (`KpiQuery` is one)."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def settings(self) -> Settings: ...

    def answer(self, request: KpiRequest) -> pd.DataFrame: ...

    def dimensions(self, kpi_id: str) -> set[str]: ...

    def data_through(self) -> date: ...

    def missing_tables(self, kpi_id: str) -> tuple[str, ...]: ...


def data_version(path: Path) -> tuple[int, ...]:
    """Size and change time of the warehouse file and its write-ahead log: any committed
    change to the data changes it."""
    parts: list[int] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            parts += [0, 0]
        else:
            parts += [stat.st_mtime_ns, stat.st_size]
    return tuple(parts)


class ResultCache:
    """A bounded, thread-safe LRU of results; one computation per key at a time."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._pending: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of `key`, else `compute()` (once, while others wait)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return cast(T, self._entries[key])
            pending = self._pending.setdefault(key, threading.Lock())
        with pending:
            with self._lock:
                if key in self._entries:
                    return cast(T, self._entries[key])
            try:
                value = compute()
                with self._lock:
                    self._entries[key] = value
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
            finally:
                with self._lock:
                    self._pending.pop(key, None)
        return value

    def clear(self) -> None:
        """Forget every cached result."""
        with self._lock:
            self._entries.clear()


@contextmanager
def open_reader(
    settings: Settings, catalog: Catalog, *, rollups: bool = True
) -> Iterator[KpiQuery]:
    """The KPI engine on the settings' warehouse, read-only, for one command (with
    `rollups=False` every atom is computed from the raw tables)."""
    with read_warehouse(settings) as warehouse:
        yield KpiQuery(catalog, warehouse, settings, rollups)


class CachedKpiReader:
    """A KpiReader for one request: cached results, the warehouse opened only on a miss.

    Use it as a context manager; it closes the warehouse if it had to open it.
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        cache: ResultCache,
        open_warehouse: Callable[[], AbstractContextManager[Warehouse]],
        version: Hashable,
    ) -> None:
        self._catalog = catalog
        self.settings = settings
        self.cache = cache
        self.version = version
        self._open_warehouse = open_warehouse
        self._stack = ExitStack()
        self._warehouse: Warehouse | None = None
        self._engine: KpiQuery | None = None

    def __enter__(self) -> CachedKpiReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the warehouse if this request opened it."""
        self._stack.close()
        self._warehouse = None
        self._engine = None

    @property
    def catalog(self) -> Catalog:
        """The KPI catalog."""
        return self._catalog

    @property
    def opened(self) -> bool:
        """Whether this request had to open the warehouse (some result was not cached)."""
        return self._warehouse is not None

    def warehouse(self) -> Warehouse:
        """The warehouse, opened read-only on first use."""
        if self._warehouse is None:
            self._warehouse = self._stack.enter_context(self._open_warehouse())
        return self._warehouse

    def engine(self) -> KpiQuery:
        """The KPI engine on the warehouse, built on first use."""
        if self._engine is None:
            self._engine = KpiQuery(self._catalog, self.warehouse(), self.settings)
        return self._engine

    def remember(self, name: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, cached for this data version under `name` (e.g. a rendered part of
        a page that depends only on the data and the view)."""
        return self.cache.get_or_compute((self.version, name), compute)

    def read(self, name: Hashable, compute: Callable[[Warehouse], T]) -> T:
        """`compute(warehouse)`, cached for this data version under `name`."""
        return self.cache.get_or_compute((self.version, name), lambda: compute(self.warehouse()))

    def answer(self, request: KpiRequest) -> pd.DataFrame:
        """`KpiQuery.answer`, cached (a copy, so callers may change it)."""
        frame = self.cache.get_or_compute(
            (self.version, "answer", request), lambda: self.engine().answer(request)
        )
        return frame.copy()

    def dimensions(self, kpi_id: str) -> set[str]:
        """`KpiQuery.dimensions`, cached."""
        found = self.cache.get_or_compute(
            (self.version, "dimensions", kpi_id),
            lambda: frozenset(self.engine().dimensions(kpi_id)),
        )
        return set(found)

    def missing_tables(self, kpi_id: str) -> tuple[str, ...]:
        """`KpiQuery.missing_tables`, cached."""
        return self.cache.get_or_compute(
            (self.version, "missing_tables", kpi_id),
            lambda: self.engine().missing_tables(kpi_id),
        )

    def data_through(self) -> date:
        """`KpiQuery.data_through`, cached."""
        return self.cache.get_or_compute(
            (self.version, "data_through"), lambda: self.engine().data_through()
        )
