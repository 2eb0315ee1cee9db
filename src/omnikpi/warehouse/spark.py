"""Scale-out: the warehouse exported to Parquet and read by Spark through Ibis' pyspark backend.

The KPI engine runs unchanged on a `SparkEngine`; local dates use the Spark session time zone,
set to the configured zone (Ibis itself would leave it at UTC).

    >>> export_parquet(warehouse, Path("export"))  # doctest: +SKIP
    >>> with SparkEngine(Path("export")) as spark:  # doctest: +SKIP
    ...     query(["revenue"], "month", "2025-01-01", "2025-12-31", engine=spark)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow.parquet as pq

from omnikpi.errors import ConfigError, NotFound
from omnikpi.model import TABLES
from omnikpi.settings import DEFAULT_TIME_ZONE, validate_time_zone
from omnikpi.warehouse.duckdb import Warehouse
from omnikpi.warehouse.system import DATA_SETTINGS

#: Spark settings for a small local session: few shuffle partitions, no UI, loopback only.
SPARK_CONFIG = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.ansi.enabled": "false",
}


def export_parquet(warehouse: Warehouse, folder: Path) -> list[str]:
    """Write every table of the warehouse to `folder/<table>.parquet`; returns the names."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(warehouse.table_set()):
        target = folder / f"{name}.parquet"
        warehouse.run_sql(
            f"COPY (SELECT * FROM \"{name}\") TO '{_sql_path(target)}' (FORMAT parquet)"
        )
        written.append(name)
    return written


def _stored_time_zone(folder: Path) -> str:
    """The time zone of the exported warehouse's settings (default if it has none)."""
    path = folder / f"{DATA_SETTINGS.name}.parquet"
    if not path.exists():
        return DEFAULT_TIME_ZONE
    rows = pq.read_table(path, columns=["name", "value"]).to_pylist()
    stored = {row["name"]: row["value"] for row in rows}
    return str(stored.get("time_zone", DEFAULT_TIME_ZONE))


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


class SparkEngine:
    """Tables of a Parquet export, queried with Spark."""

    engine = "spark"

    def __init__(
        self,
        folder: Path,
        *,
        time_zone: str | None = None,
        master: str = "local[2]",
        session: Any = None,
    ) -> None:
        if not folder.is_dir():
            raise NotFound(f"no Parquet export at {folder} (write one with export_parquet)")
        self.stored_time_zone = _stored_time_zone(folder)
        self.time_zone = validate_time_zone(time_zone or self.stored_time_zone)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ConfigError(
                "pyspark is not installed (pip install 'omnikpi[spark]'; it needs Java 17)"
            ) from exc
        if session is None:
            builder = SparkSession.builder.master(master).appName("omnikpi")
            for key, value in SPARK_CONFIG.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
        self.session = session
        self.ibis = ibis.pyspark.connect(session)
        # Ibis sets the session to UTC on connect; local dates need the retailer's zone.
        session.conf.set("spark.sql.session.timeZone", self.time_zone)
        known = {t.name for t in TABLES}
        self._tables: dict[str, ir.Table] = {}
        for path in sorted(folder.glob("*.parquet")):
            name = path.stem
            if name in known or name.startswith("kpi_"):
                self._tables[name] = self.ibis.read_parquet(str(path), table_name=name)

    def table(self, name: str) -> ir.Table:
        if name not in self._tables:
            raise NotFound(f'the Parquet export has no table "{name}"')
        return self._tables[name]

    def has_table(self, name: str) -> bool:
        return name in self._tables

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        result: pd.DataFrame = self.ibis.execute(expr)
        return result

    def close(self) -> None:
        self.session.stop()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
