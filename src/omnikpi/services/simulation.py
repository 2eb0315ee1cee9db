"""A simulated retailer written to files (`omnikpi simulate`), for Spark and for loading."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from omnikpi.errors import ConfigError
from omnikpi.simulate import FileSink, SimulationConfig, run


def simulate_files(
    config: SimulationConfig,
    out: Path,
    file_format: Literal["parquet", "csv"],
    *,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Write every table of the simulated retailer to `out` (a folder of Parquet parts or
    a CSV file per table); refuses a folder with files unless `force`. Returns rows per
    table."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ConfigError(f"{out} is not empty (pass --force to replace its contents)")
        shutil.rmtree(out)
    return run(config, FileSink(out, file_format), progress)
