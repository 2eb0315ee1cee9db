"""How dashboards read KPIs: the KPI engine, behind a cache keyed by the data's version.

The services take any `KpiReader` — `omnikpi.kpi.KpiQuery` itself in tests and scripts.
The web app passes a `CachedKpiReader`: it uses the engine only when a result is not
cached yet, and keeps results per *data version* (the warehouse file's size and change
time), so a load, a rollup refresh or a target import makes every cached result stale at
once. Identical requests arriving together compute once; the others wait for that result.

The engine itself is shared by all requests (`SharedEngine`): one `KpiQuery` per data
version, so what it has learnt of the data (coverage, filter values, plans) is not read
again for every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar, cast

import pandas as pd

from omnikpi.errors import ConfigError
from omnikpi.kpi import Catalog, KpiQuery
from omnikpi.kpi.request import KpiRequest
from omnikpi.services.warehouse import read_warehouse
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from omnikpi.warehouse.duckdb import is_owned, read_version

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


def read_ahead(reader: KpiReader, requests: Sequence[KpiRequest]) -> None:
    """Answer `requests`, which a page is about to ask for one by one, in one pass over the
    warehouse when the reader keeps answers (a reader without a cache answers each when it
    is asked, so reading ahead would only read twice)."""
    if isinstance(reader, CachedKpiReader):
        reader.answer_many(requests)


def data_version(path: Path) -> tuple[int, ...]:
    """Size and change time of the warehouse file and its write-ahead log: any committed
    change to the data changes it. While this process writes the file (a load handed to
    the server), its readers keep the version the write began on until it ends
    (`omnikpi.warehouse.duckdb.read_version`)."""
    return read_version(path)


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

    def has(self, key: Hashable) -> bool:
        """Whether `key` is cached."""
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: object) -> None:
        """Cache `value` under `key` (the least recently used beyond the bound go)."""
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

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


@dataclass
class EngineLease:
    """The KPI engine of one data version, its open warehouse and how many requests use it
    now."""

    version: Hashable
    warehouse: Warehouse
    query: KpiQuery
    opened: ExitStack
    users: int = 0


class SharedEngine:
    """One KPI engine per data version, shared by the web app's requests.

    DuckDB lets a process write the warehouse file only while no other process has it
    open, so `omnikpi ingest` run beside `omnikpi serve` must find the file free between
    requests, as it did when every request opened the warehouse for itself. The engine
    therefore keeps the file open only while some request uses it (a `lease`); when the
    last one ends its connections are closed (`Warehouse.release`) but the `KpiQuery`
    and all it has learnt are kept, and the next lease opens the file again (a few
    milliseconds). While a lease is held the file cannot change, so the data version is
    read right after opening: if a load ran in between, the old engine is closed and a
    new one built. Concurrent requests share one open warehouse, each thread on its own
    DuckDB connection (see `Warehouse`). A server that owns the warehouse (`omnikpi
    serve`) is the file's only writer: its engine stays connected between leases (opening
    the connections again cost about 4 ms of a 60 ms uncached KPI detail) and is replaced
    when the data version moves on.

    >>> engines = SharedEngine(catalog, settings)  # doctest: +SKIP
    >>> with engines.lease() as engine:
    ...     engine.query.answer(request)
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        open_warehouse: Callable[[], AbstractContextManager[Warehouse]] | None = None,
        read_version: Callable[[], Hashable] | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        #: Opens the warehouse read-only (retried while another process writes it).
        self.open_warehouse = open_warehouse or partial(read_warehouse, settings)
        #: The version of the data on disk (see `data_version`).
        self.read_version = read_version or partial(data_version, settings.warehouse)
        #: How many engines were built (one per data version seen).
        self.built = 0
        self._current: EngineLease | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> EngineLease | None:
        """The engine of the latest data version seen (None before the first lease)."""
        return self._current

    @contextmanager
    def lease(self) -> Iterator[EngineLease]:
        """The engine of the data as it is now, open until the block ends."""
        engine = self._acquire()
        try:
            yield engine
        finally:
            self._release(engine)

    def close(self) -> None:
        """Close the engine (when the app stops; a later lease opens a new one)."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.opened.close()

    def _acquire(self) -> EngineLease:
        with self._lock:
            current = self._current
            if current is not None and not self._fresh(current):
                if current.users == 0:
                    current.opened.close()
                self._current = current = None  # a busy one closes when its last user ends
            if current is None:
                current = self._current = self._build()
            current.users += 1
            return current

    def _fresh(self, engine: EngineLease) -> bool:
        """Whether the engine reads the data as it is now. An engine in use keeps the file
        open, so only this process (a server owning the warehouse) can have changed it."""
        if engine.users:
            return self.read_version() == engine.version
        return self._reopened(engine)

    def _reopened(self, engine: EngineLease) -> bool:
        """Whether the idle engine's warehouse is open again, on the data it was built on."""
        try:
            engine.warehouse.reconnect()
        except ConfigError:  # another process is writing: its data will replace this one
            return False
        return self.read_version() == engine.version

    def _release(self, engine: EngineLease) -> None:
        with self._lock:
            engine.users -= 1
            if engine.users == 0 and engine is self._current:
                # The file is free for other processes' writes until the next lease; a
                # server owning it is its only writer, so its engine stays connected.
                if not is_owned(self.settings.warehouse):
                    engine.warehouse.release()
            elif engine.users == 0:  # replaced by the engine of newer data
                engine.opened.close()

    def _build(self) -> EngineLease:
        # Read before opening: a write committed in between gives the engine newer data
        # than its version says, and the next request, seeing the newer version, a new one.
        version = self.read_version()
        opened = ExitStack()
        warehouse = opened.enter_context(self.open_warehouse())
        try:
            query = KpiQuery(self.catalog, warehouse, self.settings)
        except BaseException:
            opened.close()
            raise
        self.built += 1
        return EngineLease(version, warehouse, query, opened)


class CachedKpiReader:
    """A KpiReader for one request: cached results, the shared engine used only on a miss.

    Use it as a context manager; it ends its lease of the engine if it took one.
    """

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        cache: ResultCache,
        engines: SharedEngine,
        version: Hashable,
    ) -> None:
        self._catalog = catalog
        self.settings = settings
        self.cache = cache
        self.version = version
        self._engines = engines
        self._stack = ExitStack()
        self._leased: EngineLease | None = None

    def __enter__(self) -> CachedKpiReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """End this request's lease of the engine, if it took one."""
        self._stack.close()
        self._leased = None

    @property
    def catalog(self) -> Catalog:
        """The KPI catalog."""
        return self._catalog

    @property
    def opened(self) -> bool:
        """Whether this request used the engine (some result was not cached)."""
        return self._leased is not None

    def _lease(self) -> EngineLease:
        if self._leased is None:
            self._leased = self._stack.enter_context(self._engines.lease())
        return self._leased

    def warehouse(self) -> Warehouse:
        """The warehouse, read-only, open until the request ends."""
        return self._lease().warehouse

    def engine(self) -> KpiQuery:
        """The shared KPI engine of the data's version."""
        return self._lease().query

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

    def answer_many(self, requests: Sequence[KpiRequest]) -> list[pd.DataFrame]:
        """`KpiQuery.answer_many`, cached: the requests not cached yet are answered in
        one pass over the warehouse (copies, so callers may change them)."""
        keys = [(self.version, "answer", r) for r in requests]
        missing = [r for r, k in zip(requests, keys, strict=True) if not self.cache.has(k)]
        if len(missing) > 1:
            for request, frame in zip(missing, self.engine().answer_many(missing), strict=True):
                self.cache.put((self.version, "answer", request), frame)
        return [self.answer(r) for r in requests]

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
