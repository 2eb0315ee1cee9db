"""A load killed at any point leaves either the warehouse as it was or the new rows with
their load record and their rollups marked stale; no KPI is ever read from a stale rollup,
and the next load finishes the refresh.

Each round loads a few new orders in a child process that kills itself (SIGKILL) at one
phase: inside the load's transaction before it commits, while it commits, or after the
commit while the rollups refresh.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from omnikpi.kpi import load_catalog
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.periods import Grain
from omnikpi.services import ingest as ingest_service
from omnikpi.services.rollups import rebuild_rollups
from omnikpi.settings import Settings
from omnikpi.warehouse import Warehouse
from tests.ingest.conftest import options, write
from tests.ingest.test_bounds import ORDERS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: The bounds tests' orders mapping, with the channel read from the file.
MAPPING = copy.deepcopy(ORDERS)
MAPPING["tables"]["orders"]["columns"]["channel"] = "channel"
FIRST_DAY = date(2025, 10, 1)
#: The child: load one file through the service layer, killing itself at `phase`.
CHILD = textwrap.dedent(
    """
    import os, random, signal, sys, threading
    from contextlib import contextmanager
    from pathlib import Path

    from omnikpi.ingest import pipeline
    from omnikpi.kpi import rollups
    from omnikpi.services import ingest
    from omnikpi.settings import Settings
    from omnikpi.warehouse import Warehouse
    from tests.ingest.conftest import options

    warehouse, mapping, data, phase, seed = sys.argv[1:6]
    chance = random.Random(int(seed))

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    record_load = pipeline.record_load
    committing = []

    def recorded(*args, **kwargs):
        record_load(*args, **kwargs)
        if phase == "before-commit":
            die()
        committing.append(True)

    pipeline.record_load = recorded
    transaction = Warehouse.transaction

    @contextmanager
    def killed_while_committing(self):
        with transaction(self):
            yield
            if phase == "commit" and committing:
                # COMMIT runs right after this: the kill lands before, during or after it.
                threading.Timer(chance.uniform(0, 0.02), die).start()

    Warehouse.transaction = killed_while_committing
    build = rollups._build
    builds = []
    kill_at = chance.randint(1, 4)

    def building(*args, **kwargs):
        builds.append(True)
        if phase == "refresh" and len(builds) >= kill_at:
            die()
        return build(*args, **kwargs)

    rollups._build = building
    record_state = rollups.record_state

    def recording(*args, **kwargs):
        # A refresh of few batches is killed inside its own transaction instead.
        if phase == "refresh":
            die()
        return record_state(*args, **kwargs)

    rollups.record_state = recording
    ingest.ingest_files(Settings(warehouse=Path(warehouse)), Path(mapping), [Path(data)], options())
    print("finished")
    """
)


def _orders_file(
    folder: Path, round_: int, chance: random.Random, orders: int = 3
) -> tuple[Path, list[str]]:
    ids = [f"R{round_}-{i}" for i in range(orders)]
    lines = ["id,channel,placed,amount"]
    for order_id in ids:
        day = FIRST_DAY + timedelta(days=chance.randint(0, 100))
        channel = chance.choice(["web", "app", "store"])
        lines.append(
            f"{order_id},{channel},{day} 1{chance.randint(0, 9)}:00,{chance.randint(1, 90)}000"
        )
    return write(folder / f"orders_{round_}.csv", "\n".join(lines) + "\n"), ids


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(a: object, b: object) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    assert isinstance(a, int | float)
    assert isinstance(b, int | float)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _check(settings: Settings, loaded: dict[str, list[str]]) -> set[str]:
    """The warehouse opens; every committed load has its record; every KPI read through the
    rollups equals its direct computation. Returns the files whose rows are in."""
    catalog = load_catalog()
    with Warehouse.open(settings.warehouse) as warehouse:
        present = {row[0] for row in warehouse.fetch_rows("SELECT order_id FROM orders")}
        recorded = {
            row[0]
            for row in warehouse.fetch_rows("SELECT source FROM load_log WHERE status = 'loaded'")
        }
        committed = set()
        for name, ids in loaded.items():
            found = [i in present for i in ids]
            # A load's rows are all in or all out, and in exactly when its record is.
            assert all(found) or not any(found), name
            assert all(found) == any(name in source for source in recorded), name
            if all(found):
                committed.add(name)
        end = FIRST_DAY + timedelta(days=120)
        for grain, start in ((Grain.MONTH, FIRST_DAY), (Grain.DAY, end - timedelta(days=45))):
            kpis = sorted(k for k, v in catalog.kpis.items() if v.min_grain.order <= grain.order)
            rolled = KpiQuery(catalog, warehouse).run(kpis, grain, start, end)
            direct = KpiQuery(catalog, warehouse, rollups=False).run(kpis, grain, start, end)
            pairs = list(zip(rolled["value"], direct["value"], strict=True))
            differing = [
                (k, p, a, b)
                for k, p, (a, b) in zip(rolled["kpi"], rolled["period_start"], pairs, strict=True)
                if not _same(a, b)
            ]
            assert not differing, differing[:5]
            assert sum(not _missing(b) for _, b in pairs) > 20
    return committed


#: Loads killed in each phase (each a new process at a random moment of it).
KILLS_PER_PHASE = 4


def test_a_load_killed_at_any_phase_never_leaves_a_stale_kpi(tmp_path: Path) -> None:
    chance = random.Random(20)
    settings = Settings(warehouse=tmp_path / "shop.duckdb")
    mapping = write(tmp_path / "shop.yaml", yaml.safe_dump(MAPPING))
    child = write(tmp_path / "child.py", CHILD)
    first, ids = _orders_file(tmp_path, 0, chance, orders=200)
    ingest_service.ingest_files(settings, mapping, [first], options())
    rebuild_rollups(settings, load_catalog())
    loaded = {first.name: ids}
    phases = ["before-commit", "commit", "refresh"] * KILLS_PER_PHASE
    outcomes: dict[str, int] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_, phase in enumerate(phases, start=1):
        data, ids = _orders_file(tmp_path, round_, chance)
        loaded[data.name] = ids
        run = subprocess.run(
            [sys.executable, str(child), str(settings.warehouse), str(mapping), str(data), phase,
             str(round_)],
            capture_output=True, text=True, env=env, timeout=600, cwd=ROOT,
        )  # fmt: skip
        assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
        committed = _check(settings, loaded)
        outcome = f"{phase}:{'in' if data.name in committed else 'out'}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # Killed before its commit a load is gone; killed while refreshing it is in (with its
    # rollups marked stale and the KPIs read directly).
    assert outcomes.get("before-commit:in", 0) == 0, json.dumps(outcomes)
    assert outcomes["refresh:in"] == KILLS_PER_PHASE, json.dumps(outcomes)
    # The next load finishes every refresh left undone.
    last, ids = _orders_file(tmp_path, len(phases) + 1, chance)
    loaded[last.name] = ids
    result = ingest_service.ingest_files(settings, mapping, [last], options())
    assert result.rollups is not None
    _check(settings, loaded)
    with Warehouse.open(settings.warehouse, read_only=True) as warehouse:
        assert warehouse.changed_tables() == {}
