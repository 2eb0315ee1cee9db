"""`omnikpi kpi ...` and `omnikpi targets ...` as a user runs them, on the golden retailer."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def shop(golden_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "golden.duckdb"
    shutil.copy(golden_path, copy)
    return copy


def test_list_by_tier_as_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("kpi", "list", "--tier", "cxo", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 10
    assert set(rows[0]) >= {"id", "name_en", "name_ko", "stage", "unit", "direction", "tiers"}
    assert {r["id"] for r in rows} >= {"revenue", "aov", "complaint_ratio"}
    assert run_cli("kpi", "list", "--stage", "delivery", "--format", "json") == 0
    stages = {k["stage"] for k in json.loads(capsys.readouterr().out)}
    assert stages == {"delivery"}


def test_show_prints_both_languages_and_sql(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("kpi", "show", "conversion_rate") == 0
    out = capsys.readouterr().out
    assert "Conversion rate (visit to purchase)" in out
    assert "방문 대비 구매 전환율" in out
    assert "ko: 주문이 있는 세션 / 세션" in out
    assert "FROM" in out
    assert "formula: (count" in out


def test_query_csv_matches_hand_computed_values(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run_cli(
            "kpi",
            "query",
            "revenue,orders",
            "--grain",
            "month",
            "--start",
            "2025-03-01",
            "--end",
            "2025-03-31",
            "--by",
            "channel",
            "--compare",
            "yoy",
            "--format",
            "csv",
            "--warehouse",
            str(shop),
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == [
        "kpi",
        "period_start",
        "channel",
        "value",
        "comparison_value",
        "change",
        "change_type",
        "target",
        "status",
        "base",
    ]
    found = {(r["kpi"], r["channel"]): (float(r["value"]), r["comparison_value"]) for r in rows}
    # March 2025 web: O6 27,000 + O7 22,000; March 2024 web: O1 10,000 (O3 cancelled)
    assert found[("revenue", "web")] == (49_000.0, "10000.0")
    assert found[("orders", "store")][0] == 2


def test_query_filters_and_table_output(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run_cli(
            "kpi",
            "query",
            "revenue,conversion_rate",
            "--grain",
            "month",
            "--start",
            "2025-03-01",
            "--end",
            "2025-03-31",
            "--filter",
            "channel=web",
            "--filter",
            "channel=app",
            "--warehouse",
            str(shop),
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "₩54,000" in out  # web 49,000 + app 5,000
    # every March session is web or app: purchases in SS6 SS7 SS9 SS10 of 7 sessions
    assert "57.1%" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revnue"], 'unknown KPI "revnue" (did you mean revenue'),
        (["revenue", "--by", "service_channel"], 'dimension "service_channel" is not allowed'),
        (["revenue", "--filter", "channel"], 'filter "channel" is not valid (allowed: DIM=VALUE'),
        (["revenue", "--compare", "lastyear"], 'compare "lastyear" is not valid'),
        (["revenue", "--start", "2025-02-30"], 'start "2025-02-30" is not valid (allowed: YYYY'),
        (["revenue", "--end", "9999-12-31"], 'end "9999-12-31" is not valid (allowed: a day from'),
        (["revenue", "--start", "0001-01-01"], "(allowed: a day from 1900-01-01 to 2999-12-31)"),
        (
            ["revenue", *("--by", "channel", "--by", "store", "--by", "member", "--by", "region")],
            "by asks for 4 dimensions (channel, store, member, region), more than the limit "
            "of 3 (OMNIKPI_MAX_BY): break down by fewer",
        ),
        (["revenue", "--filter", "channel=fax"], 'channel "fax" does not exist (closest'),
        (["revenue,,orders"], 'KPI list "revenue,,orders" is not valid'),
    ],
)
def test_query_errors_are_one_line(
    shop: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    base = {"--grain": "month", "--start": "2025-03-01", "--end": "2025-03-31"}
    for i, arg in enumerate(args):
        if arg in base and i + 1 < len(args):
            base[arg] = args[i + 1]
    positional = [
        a for i, a in enumerate(args) if a not in base and (i == 0 or args[i - 1] not in base)
    ]
    flat = [x for pair in base.items() for x in pair]
    assert run_cli("kpi", "query", *positional, *flat, "--warehouse", str(shop)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "\n" not in err


def test_a_query_over_the_cell_limit_is_refused_in_one_line_before_it_runs(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIKPI_MAX_CELLS", "60")
    args = ["kpi", "query", "revenue", "--grain", "day", "--warehouse", str(shop)]
    march = ["--start", "2025-03-01", "--end", "2025-03-31"]
    assert run_cli(*args, *march) == 0  # 31 days × 1 KPI
    capsys.readouterr()
    # 31 days × (the member filter's 2 values): 62 values, though March has fewer rows.
    member = ["--by", "member", "--filter", "member=member", "--filter", "member=non_member"]
    assert run_cli(*args, *march, *member) == 2
    err = capsys.readouterr().err.strip()
    assert "this request asks for up to 62 values (31 days × 1 KPI × 2 member values)" in err
    assert "more than the limit of 60 (OMNIKPI_MAX_CELLS): ask for a coarser grain" in err
    assert "\n" not in err


def test_targets_import_list_and_status(
    shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "kpi,grain,period_start,target\nrevenue,month,2025-03-01,80000\n", encoding="utf-8"
    )
    assert run_cli("targets", "import", str(targets), "--warehouse", str(shop)) == 0
    assert "Imported 1 targets" in capsys.readouterr().out
    assert run_cli("targets", "list", "--format", "json", "--warehouse", str(shop)) == 0
    assert json.loads(capsys.readouterr().out)[0]["target"] == 80000
    assert (
        run_cli(
            "kpi",
            "query",
            "revenue",
            "--grain",
            "month",
            "--start",
            "2025-03-01",
            "--end",
            "2025-03-31",
            "--format",
            "json",
            "--warehouse",
            str(shop),
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)[0]
    # 71,000 against 80,000 is 11% short: red.
    assert (row["target"], row["status"]) == (80000, "red")
    bad = tmp_path / "bad.csv"
    bad.write_text("kpi,grain,period_start,target\nrevenue,month,2025-03-02,1\n", encoding="utf-8")
    assert run_cli("targets", "import", str(bad), "--warehouse", str(shop)) == 2
    assert "bad.csv row 2" in capsys.readouterr().err


def test_refresh_builds_rollups(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("kpi", "refresh", "--warehouse", str(shop)) == 0
    assert "Rollups hold" in capsys.readouterr().out
    assert run_cli("warehouse", "info", "--warehouse", str(shop), "--format", "json") == 0
    tables = {t["table"]: t["rows"] for t in json.loads(capsys.readouterr().out)["tables"]}
    assert tables["kpi_rollups"] > 1000
