"""`omnikpi attribution --model M --paths FILE.csv`: the hand-checked example of
tests/marketing/test_attribution.py through the CLI as JSON and as a table, and every bad
input as one line naming the file, row, column and fix, exit 2."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.marketing.journey_data import write_warehouse

PATHS_CSV = """path,conversions,non_conversions,value
search > email > direct,2,1,200
search > direct,1,2,60
email,1,1,40
direct > search,0,2,0
search > email,1,0,50
"""


@pytest.fixture
def paths_file(tmp_path: Path) -> Path:
    file = tmp_path / "paths.csv"
    file.write_text(PATHS_CSV, encoding="utf-8")
    return file


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert run_cli("attribution", *args, "--format", "json") == 0
    return dict(json.loads(capsys.readouterr().out))


def by_channel(document: dict[str, object], column: str) -> dict[str, float]:
    rows = document["channels"]
    assert isinstance(rows, list)
    return {row["channel"]: row[column] for row in rows}


def test_markov_json(paths_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "--model", "markov", "--paths", str(paths_file))
    assert (document["model"], document["settings"]) == ("markov", {"order": 1})
    assert (document["total_conversions"], document["total_revenue"]) == (5.0, 350.0)
    # removal effects worked out by hand in tests/marketing/test_attribution.py
    effects = {"search": F(77, 120), "email": F(71, 110), "direct": F(89, 135)}
    assert by_channel(document, "removal_effect") == {
        k: pytest.approx(float(v), abs=1e-12) for k, v in effects.items()
    }
    total = sum(effects.values())
    assert by_channel(document, "conversions") == {
        k: pytest.approx(float(5 * v / total), abs=1e-12) for k, v in effects.items()
    }
    assert sum(by_channel(document, "revenue").values()) == pytest.approx(350.0)
    rows = document["channels"]
    assert isinstance(rows, list)
    assert [row["channel"] for row in rows] == ["direct", "email", "search"]  # largest first


def test_rule_based_models_json(paths_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "--model", "first", "--paths", str(paths_file))
    assert by_channel(first, "conversions") == {"search": 4.0, "email": 1.0, "direct": 0.0}
    assert by_channel(first, "revenue") == {"search": 310.0, "email": 40.0, "direct": 0.0}
    position = run_json(
        capsys, "--model", "position", "--first", "0.3", "--last", "0.3", "--paths", str(paths_file)
    )
    assert position["settings"] == {"first_weight": 0.3, "last_weight": 0.3}
    # p1 ×2: .3/.4/.3; p2 and p5 split 1/2; p3 email 1
    assert by_channel(position, "conversions") == {
        "search": pytest.approx(1.6), "email": pytest.approx(2.3), "direct": pytest.approx(1.1)
    }  # fmt: skip
    shapley = run_json(capsys, "--model", "shapley", "--paths", str(paths_file))
    expected = {"search": 5 / 3, "email": 13 / 6, "direct": 7 / 6}  # as linear: no repeats
    assert by_channel(shapley, "conversions") == {k: pytest.approx(v) for k, v in expected.items()}


def test_time_decay_with_days_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "timed.csv"
    file.write_text("path,conversions,non_conversions,days\na > b,10,3,14 > 0\n", encoding="utf-8")
    document = run_json(capsys, "--model", "time_decay", "--paths", str(file))
    # half-life 7 days: weights 1/4 and 1 → 2 and 8 of 10 conversions; no value → no revenue
    assert by_channel(document, "conversions") == {"a": pytest.approx(2.0), "b": pytest.approx(8.0)}
    assert document["total_revenue"] is None
    rows = document["channels"]
    assert isinstance(rows, list)
    assert "revenue" not in rows[0]


def test_table(paths_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run_cli("attribution", "--model", "last", "--paths", str(paths_file)) == 0
    out = capsys.readouterr().out
    assert "Attribution: last" in out
    lines = [line for line in out.splitlines() if "direct" in line or "email" in line]
    assert lines[0].split("│")[1:5] == [" direct  ", " 3.00        ", " 60.0% ", " 260.00  "]
    assert "total: conversions 5.00, revenue 350.00" in out


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            "path,conversions\na,1\n",
            (),
            "paths.csv: missing column(s) non_conversions (needed: path, conversions, "
            "non_conversions; optional: value, days)",
        ),
        (
            "path,conversions,non_conversions\na,1,2\nb,x,2\n",
            (),
            'paths.csv row 3: column "conversions" value "x" is not a number (give a count ≥ 0)',
        ),
        (
            "path,conversions,non_conversions\na > > b,1,2\n",
            (),
            'paths.csv row 2: column "path" value "a > > b" has an empty channel',
        ),
        (
            "path,conversions,non_conversions\na,1.5,2\n",
            (),
            'paths.csv row 2: column "conversions" value "1.5" is not a whole number ≥ 0',
        ),
        (
            "path,conversions,non_conversions,value\na,1,2,\n",
            (),
            'paths.csv row 2: column "value" value "" is empty',
        ),
        (
            "path,conversions,non_conversions,days\na > b,1,2,3\n",
            ("--model", "time_decay"),
            'paths.csv row 2: column "days" value "3" has 1 touch times for 2 touches',
        ),
        (
            "path,conversions,non_conversions\na > b,1,2\n",
            ("--model", "time_decay"),
            "time decay needs each touch's days before the conversion",
        ),
        (
            "path,conversions,non_conversions\na > b,1,2\n",
            ("--model", "markov", "--order", "9"),
            "Markov order 9 is not valid (allowed: 1 to 6)",
        ),
        (
            "path,conversions,non_conversions\na > b,1,2\n",
            ("--model", "u_shaped"),
            '--model "u_shaped" is not valid (allowed: first, last, last_non_direct',
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    file = tmp_path / "paths.csv"
    file.write_text(content, encoding="utf-8")
    capsys.readouterr()
    model = () if "--model" in args else ("--model", "linear")
    assert run_cli("attribution", *model, *args, "--paths", str(file)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_no_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    missing = tmp_path / "nope.csv"
    assert run_cli("attribution", "--model", "linear", "--paths", str(missing)) == 2
    assert f"paths file {missing} does not exist" in capsys.readouterr().err
    absent = tmp_path / "none.duckdb"
    assert run_cli("attribution", "--model", "linear", "--warehouse", str(absent)) == 2
    err = capsys.readouterr().err
    assert str(absent) in err
    assert len(err.strip().splitlines()) == 1
    assert run_cli("attribution") == 2
    assert "give --model" in capsys.readouterr().err


# -- the warehouse's journeys (tests/marketing/journey_data.py, March 2025, lookback 7) --


@pytest.fixture(scope="module")
def journey_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_warehouse(tmp_path_factory.mktemp("journeys") / "journeys.duckdb"))


MARCH = ("--start", "2025-03-01", "--end", "2025-03-31", "--lookback-days", "7")


def test_model_on_the_warehouse(journey_warehouse: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "--model", "last", *MARCH, "--warehouse", journey_warehouse)
    # Last touches: O1 email (100), O2 and O4 direct (50 + 30), O5 referral (40), O9 search.
    assert by_channel(document, "revenue") == {
        "email": 100.0,
        "direct": 80.0,
        "search": 60.0,
        "referral": 40.0,
        "display": 0.0,
        "organic_search": 0.0,
        "social": 0.0,
    }
    online = run_json(
        capsys, "--model", "last", *MARCH, "--online-only", "--warehouse", journey_warehouse
    )
    assert by_channel(online, "revenue")["direct"] == 30.0  # the store order O2 is out


def test_journeys_and_offline_commands(
    journey_warehouse: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ("--warehouse", journey_warehouse, "--format", "json")
    assert run_cli("attribution", "journeys", "--top", "1", *MARCH, *args) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["top_paths"] == [
        {"path": "direct", "journeys": 2, "conversions": 2, "conversion_rate": 1.0, "revenue": 80.0}
    ]
    assert document["time_to_convert"]["median_days"] == pytest.approx(2.0)
    assert run_cli("attribution", "offline", *MARCH, *args) == 0
    offline = json.loads(capsys.readouterr().out)
    assert (offline["store_orders"], offline["matched_orders"]) == (3, 1)
    assert offline["matched_revenue_share"] == pytest.approx(1 / 3)
    assert run_cli("attribution", "journeys", *MARCH, "--warehouse", journey_warehouse) == 0
    table = capsys.readouterr().out
    assert "display > search > email" in table
    assert "journeys 8 (5 converting)" in table
    assert "median 2.0 days, p90 3.2 days" in table
