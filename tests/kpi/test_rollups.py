"""Rollups answer exactly what direct computation answers, are used for dashboards, and
refresh incrementally."""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from omnikpi.kpi import load_catalog
from omnikpi.kpi.atoms import Atom, atoms_of
from omnikpi.kpi.compute import Computer
from omnikpi.kpi.engine import KpiQuery
from omnikpi.kpi.rollups import refresh_changes, refresh_rollups
from omnikpi.kpi.scope import Scope
from omnikpi.model import table
from omnikpi.warehouse import Warehouse
from tests.kpi.golden_data import kst

#: Query shapes dashboards use: months, weeks, days; total, by and filtered by one dimension.
SHAPES = [
    ("month", "2025-01-01", "2025-06-30", [], {}),
    ("week", "2025-03-03", "2025-03-30", ["channel"], {}),
    ("day", "2025-03-01", "2025-03-14", [], {"region": ["Seoul"]}),
    ("quarter", "2025-01-01", "2025-06-30", ["region"], {}),
    # Two values of a filter: rollups sum the values' rows into one total per period.
    ("month", "2025-01-01", "2025-03-31", [], {"channel": ["web", "app"]}),
]


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    assert isinstance(a, float | int)
    assert isinstance(b, float | int)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("grain", "start", "end", "by", "filters"),
    SHAPES,
    ids=[f"{s[0]}-{'-'.join(s[3])}-{'-'.join(s[4])}" for s in SHAPES],
)
def test_rollups_equal_direct_computation_for_every_kpi(
    sim_path: Path,
    grain: str,
    start: str,
    end: str,
    by: list[str],
    filters: dict[str, list[str]],
) -> None:
    """A rollup answer equals the direct one, and most of the KPIs compared were answered
    from rollups alone: every atom they read came from the rollup reader and none was
    computed from raw rows (else the test would compare direct with direct)."""
    catalog = load_catalog()
    order = ["day", "week", "month", "quarter", "year"]
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        direct = KpiQuery(catalog, warehouse, rollups=False)
        rolled = KpiQuery(catalog, warehouse, rollups=True)
        assert rolled.reader is not None
        assert rolled.reader.available
        served, computed = _watch_atom_paths(rolled)
        kpis = [
            k
            for k in catalog.kpis
            if {*by, *filters} <= direct.dimensions(k)
            and catalog.get(k).min_grain.order <= order.index(grain)
        ]
        a = direct.run(kpis, grain, start, end, by=by, filters=filters)
        b = rolled.run(kpis, grain, start, end, by=by, filters=filters)
        from_rollups = {
            k
            for k in kpis
            if {x.key for x in atoms_of(rolled.planner.plan(k))} <= served - computed
        }
    keys = [
        c for c in a.columns if c not in ("value", "comparison_value", "change", "target", "status")
    ]
    merged = a.merge(b, on=keys, how="outer", suffixes=("_direct", "_rollup"))
    for row in merged.itertuples(index=False):
        assert _same(row.value_direct, row.value_rollup), row
    assert len(kpis) > 60
    assert merged["value_direct"].notna().sum() > 200
    # Two values of a filter are summed only for atoms whose values add up (a third of
    # the KPIs read the rest directly); every other shape reads over 90% from rollups.
    assert len(from_rollups) > len(kpis) / 2, sorted(set(kpis) - from_rollups)
    compared = merged[merged["kpi"].isin(from_rollups) & merged["value_direct"].notna()]
    assert len(compared) > 150


def _watch_atom_paths(query: KpiQuery) -> tuple[set[str], set[str]]:
    """Keys of the atoms `query` reads from rollups and of those it computes from raw rows,
    filled in as it runs (its reader and computer are wrapped, their answers unchanged)."""
    served: set[str] = set()
    computed: set[str] = set()
    reader, computer = query.reader, query.computer
    assert reader is not None
    read_many, compute = reader.read_many, computer.compute

    def read_from_rollups(requests: Sequence[tuple[Sequence[Atom], Scope]]) -> list[pd.DataFrame]:
        served.update(atom.key for atoms, _ in requests for atom in atoms)
        return read_many(requests)

    def compute_directly(atoms: Sequence[Atom], scope: Scope) -> pd.DataFrame:
        computed.update(atom.key for atom in atoms)
        return compute(atoms, scope)

    reader.read_many = read_from_rollups  # type: ignore[method-assign]
    computer.compute = compute_directly  # type: ignore[method-assign]
    return served, computed


def test_dashboards_read_rollups_not_raw_tables(
    sim_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = load_catalog()
    cxo = [k.id for k in catalog.select(tier="cxo")]

    def refuse(self: Computer, atoms: list[object], scope: object) -> pd.DataFrame:
        if atoms:
            raise AssertionError(f"computed directly: {atoms}")
        return pd.DataFrame(columns=["period_start"])

    monkeypatch.setattr(Computer, "compute", refuse)
    monkeypatch.setattr(Computer, "coverage", lambda *a: (_ for _ in ()).throw(AssertionError))
    with Warehouse.open(sim_path, read_only=True) as warehouse:
        result = KpiQuery(catalog, warehouse).run(
            cxo, "month", "2024-12-01", "2025-11-30", compare="yoy"
        )
    assert result["value"].notna().sum() > 100


def test_incremental_refresh_after_new_data(golden_rolled_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        # Rows of periods that end before the new data are kept; quarters and years that
        # contain 2025-03-12 are rebuilt.
        unchanged = (
            "SELECT count(*), sum(value) FROM kpi_rollups WHERE period_start < "
            "'2025-03-01' AND grain IN ('day', 'week', 'month')"
        )
        before = warehouse.fetch_row(unchanged)
        # A new completed web order on 2025-03-12 for customer C4.
        order = dict(
            order_id="O12",
            customer_id="C4",
            channel="web",
            store_id=None,
            session_id=None,
            placed_at=kst("2025-03-12 10:00"),
            status="completed",
            status_changed_at=kst("2025-03-12 10:00"),
            payment_method="card",
            fulfilment="delivery",
            currency="KRW",
            **{
                f"{k}_amount": Decimal(v)
                for k, v in (
                    ("gross", 8000),
                    ("discount", 0),
                    ("net", 8000),
                    ("shipping", 0),
                    ("tax", 727),
                    ("total", 8000),
                )
            },
        )
        line = dict(
            order_id="O12",
            line_number=1,
            product_id="P1",
            quantity=1,
            unit_price=Decimal(8000),
            discount_amount=Decimal(0),
            net_amount=Decimal(8000),
            unit_cost=Decimal(2000),
        )
        for name, row in (("orders", order), ("order_lines", line)):
            schema = table(name).arrow_schema()
            warehouse.append(name, pa.Table.from_pylist([row], schema=schema))
        refresh_rollups(warehouse, catalog, since=date(2025, 3, 12))
        assert warehouse.fetch_row(unchanged) == before
        kpis = ["revenue", "orders", "active_customers", "purchasing_customers"]
        rolled = KpiQuery(catalog, warehouse).run(kpis, "quarter", "2025-01-01", "2025-03-31")
        direct = KpiQuery(catalog, warehouse, rollups=False).run(
            kpis, "quarter", "2025-01-01", "2025-03-31"
        )
    # Q1 2025: revenue 17,000 + 71,000 + 8,000; orders 2 + 6 + 1; active C1 C2 C3 C4;
    # purchasing customers C1 C3 (Feb), C1 C2 C3 C4 (Mar) -> 4
    assert rolled["value"].tolist() == direct["value"].tolist() == [96_000, 9, 4, 4]


def _add_order(warehouse: Warehouse, order_id: str, placed: str, net: int) -> None:
    order = dict(
        order_id=order_id,
        customer_id="C4",
        channel="web",
        store_id=None,
        session_id=None,
        placed_at=kst(placed),
        status="completed",
        status_changed_at=kst(placed),
        payment_method="card",
        fulfilment="delivery",
        currency="KRW",
        gross_amount=Decimal(net),
        discount_amount=Decimal(0),
        net_amount=Decimal(net),
        shipping_amount=Decimal(0),
        tax_amount=Decimal(round(net / 11)),
        total_amount=Decimal(net),
    )
    line = dict(
        order_id=order_id,
        line_number=1,
        product_id="P1",
        quantity=1,
        unit_price=Decimal(net),
        discount_amount=Decimal(0),
        net_amount=Decimal(net),
        unit_cost=Decimal(2000),
    )
    for name, row in (("orders", order), ("order_lines", line)):
        warehouse.append(name, pa.Table.from_pylist([row], schema=table(name).arrow_schema()))


def test_changed_tables_refresh_rollups_or_are_read_directly(
    golden_path: Path, golden_rolled_path: Path, tmp_path: Path
) -> None:
    """A load records the tables it changed in the warehouse; until their rollups are
    refreshed the reader computes their atoms directly, and a refresh clears the record."""
    catalog = load_catalog()
    plain = tmp_path / "plain.duckdb"
    shutil.copy(golden_path, plain)
    with Warehouse.open(plain) as warehouse:
        warehouse.mark_changed({"orders": date(2025, 3, 12)}, "b0")
        assert refresh_changes(warehouse, catalog) is None  # no rollups yet: nothing
        assert not warehouse.has_table("kpi_rollups")
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built

    def refreshed_at(warehouse: Warehouse) -> dict[str, int]:
        rows = warehouse.fetch_rows("SELECT atom, epoch_us(refreshed_at) FROM kpi_rollup_state")
        return {str(atom): int(at) for atom, at in rows}

    with Warehouse.open(path) as warehouse:
        assert warehouse.changed_tables() == {}
        refreshed = refreshed_at(warehouse)
        _add_order(warehouse, "O12", "2025-03-12 10:00", 8000)
        warehouse.mark_changed(
            {"orders": date(2025, 3, 12), "order_lines": date(2025, 3, 12)}, "b1"
        )
        report = refresh_changes(warehouse, catalog)
        assert report is not None
        assert report.since == date(2025, 3, 12)
        after = refreshed_at(warehouse)
        # Only atoms reading orders or order lines were rebuilt; visits were not.
        rebuilt = {k for k in after if after[k] != refreshed[k]}
        assert rebuilt
        assert rebuilt != set(after)
        assert warehouse.changed_tables() == {}
        revenue = KpiQuery(catalog, warehouse).run(
            ["revenue", "visits"], "month", "2025-03-01", "2025-03-31"
        )
        assert revenue["value"].tolist() == [79_000, 7]
        # Changed but not yet refreshed: answers stay right (computed directly).
        _add_order(warehouse, "O13", "2025-03-13 10:00", 2000)
        warehouse.mark_changed(
            {"orders": date(2025, 3, 13), "order_lines": date(2025, 3, 13)}, "b2"
        )
        engine = KpiQuery(catalog, warehouse)
        assert engine.reader is not None
        assert engine.reader.stale == {"orders", "order_lines"}
        assert engine.run(["revenue"], "month", "2025-03-01", "2025-03-31")["value"].tolist() == [
            81_000
        ]
        refresh_rollups(warehouse, catalog, since=date(2025, 3, 13))
        assert warehouse.changed_tables() == {}


def test_a_build_batches_atoms_by_source_and_the_grains_they_are_stored_for(
    golden: Warehouse,
) -> None:
    """Day-only sums apart from per-period distinct counts (which take every grain), so a
    sum is not grouped five times over; distinct counts of one expression together and
    apart from the rest; funnels of one unit together."""
    from omnikpi.kpi.compute import counted_value
    from omnikpi.kpi.kinds import kind_of
    from omnikpi.kpi.rollups import _batches, _grains, catalog_atoms

    catalog = load_catalog()
    computer = KpiQuery(catalog, golden, rollups=False).computer
    atoms = catalog_atoms(catalog)
    batches = _batches(computer, atoms)
    assert sorted(a.key for b in batches for a in b) == sorted(a.key for a in atoms)
    for batch in batches:
        if computer.settable(batch[0]):
            assert len({(a.source, a.text("time"), _grains(a)) for a in batch}) == 1
            distinct = [a for a in batch if kind_of(a).counts_distinct]
            assert distinct == [] or counted_value(batch) is not None
        elif kind_of(batch[0]).batch_key is None:
            assert len(batch) == 1
    purchases = [b for b in batches if computer.settable(b[0]) and b[0].source == "purchases"]
    # Sums by day; customers, and customers or else orders, counted per period.
    assert sorted(len(_grains(b[0])) for b in purchases) == [1, 5, 5]
    assert sorted(str(counted_value(b)) for b in purchases) == [
        "None",
        "coalesce(customer_id, order_id)",
        "customer_id",
    ]
    funnels = [b for b in batches if b[0].kind == "funnel"]
    assert len(funnels) == 1
    assert len(funnels[0]) == sum(a.kind == "funnel" for a in atoms)


def _rollup_rows(warehouse: Warehouse) -> list[tuple[object, ...]]:
    return warehouse.fetch_rows(
        "SELECT atom, grain, period_start, dimension, dimension_value, part, round(value, 6) "
        "FROM kpi_rollups ORDER BY ALL"
    )


def test_a_refresh_from_a_day_leaves_the_rollups_a_full_build_makes(
    golden_rolled_path: Path, tmp_path: Path
) -> None:
    """A refresh reads each source only from the earliest day its atoms' periods from the
    change read, and groups a day apart from its year: every stored row (every atom, grain,
    dimension value) still equals a build from scratch."""
    from omnikpi.kpi.rollups import _reads

    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        _add_order(warehouse, "O21", "2025-03-12 10:00", 8_000)
        since = date(2025, 3, 12)
        engine = KpiQuery(catalog, warehouse, rollups=False)
        from omnikpi.kpi.rollups import catalog_atoms

        atoms = [a for a in catalog_atoms(catalog) if engine.coverage(a) is not None]
        reads = _reads(engine.computer, atoms, set(), since, date(2025, 3, 31))
        # Purchases are read from their year's start or before (distinct customers of
        # 2025; active customers look back a year), not in full, though their level of
        # customers reads every earlier row: that atom builds its source apart.
        assert reads["purchases"][1].start <= date(2025, 1, 1)
        assert reads["purchases"][1].start > date(2023, 1, 1)
        assert any(a.kind == "level" and a.source == "purchases" for a in atoms)
        refresh_rollups(warehouse, catalog, since=since)
        refreshed = _rollup_rows(warehouse)
        refresh_rollups(warehouse, catalog)
        built = _rollup_rows(warehouse)
    # A trailing count whose window emptied for a dimension value (a store with no buyer
    # in a year) is 0 in a build over all history and absent after a refresh that reads
    # only the last year: both read as 0. Every other row is the same.
    assert [r for r in refreshed if r[-1] != 0] == [r for r in built if r[-1] != 0]
    kinds = {a.key: a.kind for a in atoms}
    assert {kinds[r[0]] for r in set(built) - set(refreshed)} <= {"trailing_count"}
    assert not set(refreshed) - set(built)
    assert len(refreshed) > 1_000


def test_rollup_rows_are_stored_in_the_order_the_reader_selects_them_by(
    golden_rolled_path: Path, tmp_path: Path
) -> None:
    """A build stores its rows by dimension, grain and period (so reading one dimension's
    periods skips the other row groups), and so does a refresh of a day after it: the
    rows it adds are in that order after the rows kept."""
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)
    order = "SELECT dimension, grain, period_start FROM kpi_rollups ORDER BY rowid"
    with Warehouse.open(path) as warehouse:
        stored = warehouse.fetch_rows(order)
        assert len(stored) > 1000
        assert stored == sorted(stored)
        last = warehouse.fetch_value("SELECT max(period_start) FROM kpi_rollups")
        refresh_rollups(warehouse, load_catalog(), since=last)
        added = warehouse.fetch_rows(
            f"{order.removesuffix(' ORDER BY rowid')} WHERE rowid >= {len(stored)} ORDER BY rowid"
        )
    assert added
    assert added == sorted(added)
    assert {d for d, _, _ in added} > {""}


def test_a_refresh_runs_the_sql_the_last_one_compiled(
    golden_rolled_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL a build compiles is kept in the warehouse, so the next refresh (another
    process: another warehouse object) builds no query, also after tables no KPI reads
    were written (a demo's users and targets come after its build); SQL of another
    catalog, or of tables whose columns changed, is not used."""
    from omnikpi.kpi import compute
    from omnikpi.kpi.rollup_store import compile_fingerprint

    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        built = _rollup_rows(warehouse)
        stored = warehouse.fetch_value("SELECT count(*) FROM kpi_compiled_sql")
        first = compile_fingerprint(warehouse, catalog)
        warehouse.run_sql("CREATE TABLE notes_of_the_team (note VARCHAR)")
        assert compile_fingerprint(warehouse, catalog) == first
    assert stored > 50

    def no_compiling(*args: object) -> None:
        raise AssertionError("a query was compiled again")

    with monkeypatch.context() as patched:
        patched.setattr(compute, "compile_shape", no_compiling)
        patched.setattr(compute, "compile_plain", no_compiling)
        with Warehouse.open(path) as warehouse:
            refresh_rollups(warehouse, catalog)
            assert _rollup_rows(warehouse) == built
    # A catalog whose sources differ compiles its own SQL (the stored SQL is of the other).
    from omnikpi.kpi.catalog import _load

    changed = _load.__wrapped__(())
    spec = changed.sources["purchases"]
    changed.sources["purchases"] = spec.model_copy(update={"description": "changed"})
    compiled: list[object] = []
    original = compute.compile_shape

    def counted(*args: object, **kwargs: object) -> object:
        compiled.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compute, "compile_shape", counted)
    with Warehouse.open(path) as warehouse:
        refresh_rollups(warehouse, changed)
        assert _rollup_rows(warehouse) == built
    assert compiled
    # A table the catalog reads with another column: its SQL is not the stored one's.
    with Warehouse.open(path) as warehouse:
        before = compile_fingerprint(warehouse, catalog)
        warehouse.run_sql("ALTER TABLE orders ADD COLUMN gift_wrap BOOLEAN")
        assert compile_fingerprint(warehouse, catalog) != before


def test_a_failed_refresh_is_recorded_and_its_kpis_are_read_directly(
    golden_rolled_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that fails keeps the changes marked (the reader computes those atoms
    directly), records what failed, and says how to finish; the next success clears it."""
    from omnikpi.errors import RefreshFailed
    from omnikpi.kpi import rollups
    from omnikpi.kpi.rollup_store import refresh_failure

    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        assert refresh_failure(warehouse) is None
        _add_order(warehouse, "O31", "2025-03-12 10:00", 8_000)
        warehouse.mark_changed({"orders": date(2025, 3, 12), "order_lines": None}, "b1")
        build = rollups._build

        def broken(*args: object, **kwargs: object) -> object:
            raise ValueError("year 0 is out of range")

        monkeypatch.setattr(rollups, "_build", broken)
        with pytest.raises(RefreshFailed, match=r"orders.*year 0 is out of range.*kpi refresh"):
            refresh_changes(warehouse, catalog)
        failure = refresh_failure(warehouse)
        assert failure is not None
        assert failure[1:] == ("order_lines, orders", "year 0 is out of range")
        assert set(warehouse.changed_tables()) == {"orders", "order_lines"}
        kpis = ["revenue", "orders"]
        read = KpiQuery(catalog, warehouse).run(kpis, "month", "2025-03-01", "2025-03-31")
        assert read["value"].tolist() == [79_000, 7]
        monkeypatch.setattr(rollups, "_build", build)
        assert refresh_changes(warehouse, catalog) is not None
        assert refresh_failure(warehouse) is None
        assert warehouse.changed_tables() == {}
        again = KpiQuery(catalog, warehouse).run(kpis, "month", "2025-03-01", "2025-03-31")
        assert again["value"].tolist() == [79_000, 7]


def test_a_changed_table_with_later_days_is_read_to_its_new_last_day(
    golden_rolled_path: Path, tmp_path: Path
) -> None:
    """The rollups keep the coverage of each source as of their refresh; a load of a day
    after it (not yet refreshed) is read directly, not reported as a day without data."""
    path = tmp_path / "golden.duckdb"
    shutil.copy(golden_rolled_path, path)  # rollups built
    catalog = load_catalog()
    with Warehouse.open(path) as warehouse:
        last = KpiQuery(catalog, warehouse).data_through()
        later = last + timedelta(days=40)
        _add_order(warehouse, "O41", f"{later} 10:00", 5_000)
        warehouse.mark_changed({"orders": later, "order_lines": later}, "b1")
        read = KpiQuery(catalog, warehouse).run(["revenue", "orders"], "day", later, later)
    assert read["value"].tolist() == [5_000, 1]
