"""A seeded omnichannel beauty retailer with planted ground truth, for demos, tests, benches."""

from omnikpi.simulate.config import SimulationConfig
from omnikpi.simulate.runner import (
    FileSink,
    Sink,
    WarehouseSink,
    build_warehouse,
    run,
    simulate,
)

__all__ = [
    "FileSink",
    "SimulationConfig",
    "Sink",
    "WarehouseSink",
    "build_warehouse",
    "run",
    "simulate",
]
