"""Every canonical table, in load order (referenced tables first)."""

from __future__ import annotations

from omnikpi.errors import NotFound
from omnikpi.model import commerce, digital, marketing, operations, service
from omnikpi.model.schema import Column as C
from omnikpi.model.schema import Table

SIMULATION_TRUTH = Table(
    name="simulation_truth",
    description=(
        "Ground truth planted by the simulator (true effect sizes and model parameters), "
        "so analyses can be checked against what really generated the data."
    ),
    primary_key=("key",),
    kind="system",
    group="simulation",
    columns=(
        C("key", "string", "What the value is, e.g. experiment.EXP-CHECKOUT.relative_lift."),
        C("value", "float", "True value."),
        C("unit", "string", "Unit of the value."),
        C("description", "string", "How it was planted and how to recover it."),
    ),
)

TABLES: tuple[Table, ...] = (
    *commerce.TABLES[:3],
    *marketing.TABLES[:1],
    *digital.TABLES[:1],
    *commerce.TABLES[3:],
    *digital.TABLES[1:],
    *marketing.TABLES[1:],
    *service.TABLES,
    *operations.TABLES,
    SIMULATION_TRUTH,
)

_BY_NAME = {table.name: table for table in TABLES}


def table(name: str) -> Table:
    """The canonical table called `name`.

    >>> table("orders").time_column
    'placed_at'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise NotFound(
            f'"{name}" is not a canonical table (choose one of: {", ".join(sorted(_BY_NAME))})'
        ) from None


def table_names(kind: str | None = None) -> tuple[str, ...]:
    """Names of the canonical tables, optionally of one kind (core, secondary, system)."""
    return tuple(t.name for t in TABLES if kind is None or t.kind == kind)
