"""Targets: CSV import with clear errors, RAG status, targets in query results."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnikpi.errors import DataError
from omnikpi.kpi import load_catalog, query
from omnikpi.kpi.targets import import_targets, read_targets, status
from omnikpi.warehouse import Warehouse
from tests.conftest import run_cli
from tests.kpi.conftest import pick

HEADER = "kpi,grain,period_start,target,dimension,tolerance\n"


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "targets.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (100.0, 100.0, "up", "green"),
        (96.0, 100.0, "up", "amber"),  # within 5% below
        (94.9, 100.0, "up", "red"),
        (0.9, 1.0, "down", "green"),
        (1.04, 1.0, "down", "amber"),
        (1.06, 1.0, "down", "red"),
        (-12.0, -10.0, "up", "red"),  # NPS below a negative target: 20% short
        (None, 1.0, "up", None),
        (1.0, None, "up", None),
    ],
)
def test_status(
    value: float | None, target: float | None, direction: str, expected: str | None
) -> None:
    assert status(value, target, direction, 0.05) == expected


def test_import_and_query_with_status(
    golden_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIKPI_MIN_BASE", "0")  # the golden shop's 7 visits may be rated
    path = _csv(
        tmp_path,
        "revenue,month,2025-03-01,70000,,\n"
        "revenue,month,2025-03-01,50000,channel=web,\n"
        "conversion_rate,month,2025-03-01,60%,,0.1\n"
        "orders,month,2025-02-01,3,,\n",
    )
    rows = read_targets(path, load_catalog())
    assert [r.target for r in rows] == [70000, 50000, 0.6, 3]
    with Warehouse.open(golden_copy) as warehouse:
        assert import_targets(warehouse, rows) == 4
        # Importing again replaces, it does not add.
        assert import_targets(warehouse, rows[:1]) == 1
        assert warehouse.row_counts(["kpi_targets"]) == {"kpi_targets": 4}
        result = query(
            ["revenue", "conversion_rate", "orders"],
            "month",
            "2025-02-01",
            "2025-03-31",
            warehouse=warehouse,
        )
        by_channel = query(
            ["revenue"], "month", "2025-03-01", "2025-03-31", by=["channel"], warehouse=warehouse
        )
    # revenue 71,000 vs 70,000: green. conversion 4/7 = 57.1% vs 60% with a 10% band: amber.
    assert pick(result, "revenue", "2025-03-01", "target") == 70000
    assert pick(result, "revenue", "2025-03-01", "status") == "green"
    assert pick(result, "conversion_rate", "2025-03-01", "status") == "amber"
    # February: 2 orders vs 3, more than 5% short: red. No target: no status.
    assert pick(result, "orders", "2025-02-01", "status") == "red"
    assert pick(result, "orders", "2025-03-01", "status") is None
    # web revenue 49,000 vs 50,000 (2% short): amber; other channels have no target.
    assert pick(by_channel, "revenue", "2025-03-01", "status", channel="web") == "amber"
    assert pick(by_channel, "revenue", "2025-03-01", "status", channel="store") is None


def test_a_period_cut_short_is_held_to_the_part_of_its_target_elapsed(
    golden_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """March to the 3rd: revenue (a sum) is held to 3/31 of March's target; a rate keeps its
    target; unique visitors (a distinct count) keep the target but get no status until
    March is complete."""
    monkeypatch.setenv("OMNIKPI_MIN_BASE", "0")  # rate the golden shop's few visits
    path = _csv(
        tmp_path,
        "revenue,month,2025-03-01,70000,,\n"
        "conversion_rate,month,2025-03-01,60%,,0.1\n"
        "unique_visitors,month,2025-03-01,5,,\n",
    )
    ids = ["revenue", "conversion_rate", "unique_visitors"]
    with Warehouse.open(golden_copy) as warehouse:
        import_targets(warehouse, read_targets(path, load_catalog()))
        partial = query(ids, "month", "2025-03-01", "2025-03-03", warehouse=warehouse)
        whole = query(ids, "month", "2025-03-01", "2025-03-31", warehouse=warehouse)
    paced = round(70000 * 3 / 31)  # 6,774.19: money paced stays whole
    assert pick(partial, "revenue", "2025-03-01", "target") == paced
    revenue = pick(partial, "revenue", "2025-03-01")
    assert pick(partial, "revenue", "2025-03-01", "status") == status(revenue, paced, "up", 0.05)
    assert pick(partial, "conversion_rate", "2025-03-01", "target") == pytest.approx(0.6)
    assert pick(partial, "conversion_rate", "2025-03-01", "status") is not None
    assert pick(partial, "unique_visitors", "2025-03-01", "target") == 5
    assert pick(partial, "unique_visitors", "2025-03-01", "status") is None
    # the whole month: the whole target, every status
    assert pick(whole, "revenue", "2025-03-01", "target") == 70000
    assert all(pick(whole, kpi, "2025-03-01", "status") is not None for kpi in ids)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("revenu,month,2025-03-01,1,,", 'row 2: column "kpi" value "revenu" is not a KPI id'),
        ("revenue,fortnight,2025-03-01,1,,", 'column "grain" value "fortnight"'),
        ("revenue,month,2025-03-15,1,,", "is not the first day of a month (use 2025-03-01)"),
        ("revenue,week,2025-03-05,1,,", "(use 2025-03-03)"),
        ("revenue,month,2025-13-01,1,,", "is not a date in the form YYYY-MM-DD"),
        ("revenue,month,2025-03-01,lots,,", 'column "target" value "lots" is not a number'),
        (
            "revenue,month,2025-03-01,1,service_channel=phone,",
            "is not name=value with a dimension of revenue",
        ),
    ],
)
def test_bad_rows_name_file_row_column_and_fix(tmp_path: Path, row: str, message: str) -> None:
    path = _csv(tmp_path, row + "\n")
    with pytest.raises(DataError) as info:
        read_targets(path, load_catalog())
    assert str(info.value).startswith("targets.csv row 2:")
    assert message in str(info.value)


def test_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("kpi,period,target\nrevenue,2025-03-01,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing column.*grain, period_start"):
        read_targets(path, load_catalog())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "csat,month,2025-03-01,1.05,,",
            'column "target" value "1.05" is outside the bounds of csat [0, 1] '
            "(percents are fractions: write 0.95 or 95%)",
        ),
        (
            "conversion_rate,month,2025-03-01,105%,,",
            'column "target" value "105%" is outside the bounds of conversion_rate [0, 1] '
            "(percents are fractions: write 0.95 or 95%)",
        ),
        (
            "nps,month,2025-03-01,150,,",
            'column "target" value "150" is outside the bounds of nps [-100, 100] '
            "(use a value from -100 to 100)",
        ),
        (
            "revenue,month,2025-03-01,-5000,channel=web,",
            'column "target" value "-5000" is outside the bounds of revenue [0, ∞) '
            "(use a value of at least 0)",
        ),
        (
            "avg_margin,month,2025-03-01,1.2,,",
            'column "target" value "1.2" is outside the bounds of avg_margin (-∞, 1] '
            "(percents are fractions: write 0.95 or 95%)",
        ),
    ],
)
def test_targets_outside_the_kpis_bounds_are_refused(
    tmp_path: Path, row: str, message: str
) -> None:
    path = _csv(tmp_path, row + "\n")
    with pytest.raises(DataError) as info:
        read_targets(path, load_catalog())
    assert str(info.value) == f"targets.csv row 2: {message}"


def test_targets_on_the_bounds_are_accepted(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "csat,month,2025-03-01,100%,,\n"
        "nps,month,2025-03-01,-100,,\n"
        "revenue,month,2025-03-01,0,,\n"
        "gross_profit,month,2025-03-01,-5000,,\n"  # profit has no bounds
        "subscriber_growth_rate,month,2025-03-01,250%,,\n",  # growth: at least -100%
    )
    assert [r.target for r in read_targets(path, load_catalog())] == [1.0, -100, 0, -5000, 2.5]


def test_cli_import_refuses_a_file_with_a_target_outside_the_bounds(
    golden_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Row 2 is valid, row 3 is not: the whole file is checked before anything is written.
    path = _csv(tmp_path, "revenue,month,2025-03-01,70000,,\ncsat,month,2025-03-01,1.05,,\n")
    assert run_cli("targets", "import", str(path), "--warehouse", str(golden_copy)) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        'Error: targets.csv row 3: column "target" value "1.05" is outside the bounds of csat '
        "[0, 1] (percents are fractions: write 0.95 or 95%)"
    )
    with Warehouse.open(golden_copy, read_only=True) as warehouse:
        assert not warehouse.has_table("kpi_targets")
