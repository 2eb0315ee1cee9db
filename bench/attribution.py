"""Attribution benchmark: exact Markov (removal effect, order 1 and 2) and exact Shapley on
simulated journeys over 10 channels, against the `marketing-attribution-models` package
(DP6's MAM, installed by this script into its own venv, default /tmp/attr-bench-venv) on
the same journeys in the same run (issue 24: 1M journeys under 10 s, faster than the
baseline, equal shares where the baseline is exact).

omnikpi's time includes aggregating the journeys to distinct paths. MAM's Markov is exact
(it inverts I − Q), so the channels' removal effects and shares are compared to 1e-6. Its
Shapley plays another game (a channel set is worth the conversions of the journeys with
exactly that set, per observed set), so it is timed and shown, not compared; omnikpi's
Shapley is checked against its closed form Σ_T w(T)/|T| computed independently here.

    .venv/bin/python bench/attribution.py --journeys 1000000 [--record]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import machine
from omnikpi.marketing.attribution import Attribution, AttributionSettings, attribute
from omnikpi.marketing.paths import NO_TOUCH, JourneyPaths, aggregate_journeys
from results import publish

CHANNELS = (
    "affiliate", "direct", "display", "email", "push", "referral", "search", "sms", "social",
    "video",
)  # fmt: skip
#: Each channel's pull on conversion (logit), its share of first touches and of later ones.
LIFT = np.array([0.3, 0.5, -0.2, 0.6, 0.1, 0.2, 0.7, 0.0, -0.1, 0.15])
FIRST = np.array([6, 10, 14, 8, 3, 5, 22, 2, 20, 10], dtype=float)
LATER = np.array([5, 18, 8, 14, 6, 4, 20, 4, 12, 9], dtype=float)
MAX_TOUCHES = 12
TOLERANCE = 1e-6

BASELINE = r"""
import json, sys, time
import numpy as np, polars as pl
from mam import MAM

data = np.load(sys.argv[1])
names = np.array([str(c) for c in data["channels"]], dtype=object)
touches, converted, value = data["touches"], data["converted"], data["value"]
paths = [" > ".join(names[row[row >= 0]]) for row in touches]
frame = pl.DataFrame({
    "journey_id": [str(i) for i in range(len(paths))],
    "path": paths,
    "times": [" > ".join(["0"] * (p.count(" > ") + 1)) for p in paths],
    "converted": converted,
    "value": value,
})
times = {}
started = time.perf_counter()
mam = MAM(frame, format_type="journey", channels_colname="path",
          journey_with_conv_colname="converted", user_id_colname="journey_id",
          time_till_conv_colname="times", conversion_value_colname="value")
times["prepare"] = time.perf_counter() - started
started = time.perf_counter()
markov = mam.run_markov()
times["markov"] = time.perf_counter() - started
effects = {str(k): float(v) for k, v in
           markov.metadata["removal_effect"]["removal_effect"].to_dict().items()}
started = time.perf_counter()
shapley = mam.run_shapley(max_size=len(names), value_column="conversions").to_dict()
times["shapley"] = time.perf_counter() - started
credit = {str(c): float(a) for c, a in zip(shapley["channels"], shapley["attribution"])}
print(json.dumps({"times": times, "removal_effects": effects, "shapley": credit}))
"""


def simulate(journeys: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Journeys of 1 + Geometric touches (mean 3, at most 12): first channel by FIRST,
    later ones by LATER (a third of them repeat the previous channel); a journey converts
    with probability logistic(−3 + Σ LIFT of its distinct channels); revenue lognormal."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(rng.geometric(1 / 3, journeys), MAX_TOUCHES)
    touches = rng.choice(len(CHANNELS), size=(journeys, MAX_TOUCHES), p=LATER / LATER.sum())
    touches[:, 0] = rng.choice(len(CHANNELS), size=journeys, p=FIRST / FIRST.sum())
    repeat = rng.random((journeys, MAX_TOUCHES)) < 1 / 3
    for column in range(1, MAX_TOUCHES):
        touches[:, column] = np.where(repeat[:, column], touches[:, column - 1], touches[:, column])
    touches[np.arange(MAX_TOUCHES)[None, :] >= lengths[:, None]] = NO_TOUCH
    touched = np.zeros((journeys, len(CHANNELS)), dtype=bool)
    for column in range(MAX_TOUCHES):
        present = touches[:, column] >= 0
        touched[np.flatnonzero(present), touches[present, column]] = True
    logit = -3.0 + touched @ LIFT
    converted = rng.random(journeys) < 1 / (1 + np.exp(-logit))
    value = np.where(converted, np.round(rng.lognormal(4.0, 0.6, journeys), 2), 0.0)
    return touches.astype(np.int64), converted, value


@dataclass
class OurRun:
    """omnikpi's timings and results on the journeys."""

    paths: JourneyPaths
    times: dict[str, float]
    results: dict[str, Attribution]

    @property
    def total(self) -> float:
        return self.times["aggregate"] + self.times["markov"] + self.times["shapley"]

    def credit(self, name: str) -> dict[str, float]:
        return {c.channel: c.conversions for c in self.results[name].channels}

    def shares(self, name: str) -> dict[str, float]:
        return {c.channel: c.share for c in self.results[name].channels}


def run_ours(touches: np.ndarray, converted: np.ndarray, value: np.ndarray) -> OurRun:
    """Aggregate to distinct paths, then Markov of order 1 and 2 and Shapley, each timed."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    paths = aggregate_journeys(CHANNELS, touches, converted, value)
    times["aggregate"] = time.perf_counter() - started
    results = {}
    for name, model, order in (("markov", "markov", 1), ("markov_order_2", "markov", 2),
                               ("shapley", "shapley", 1)):  # fmt: skip
        started = time.perf_counter()
        results[name] = attribute(paths, model, AttributionSettings(order=order))
        times[name] = time.perf_counter() - started
    return OurRun(paths, times, results)


def shapley_closed_form(paths: JourneyPaths) -> dict[str, float]:
    """Σ over paths of conversions / number of distinct channels, per channel."""
    credit = dict.fromkeys(paths.channels, 0.0)
    for row, conversions in zip(paths.touches, paths.conversions, strict=True):
        distinct = {int(code) for code in row if code >= 0}
        for code in distinct:
            credit[paths.channels[code]] += float(conversions) / len(distinct)
    return credit


def ensure_baseline(venv: Path) -> Path:
    """The venv's python with marketing-attribution-models installed (made on first use)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = subprocess.run([str(python), "-c", "import mam"], capture_output=True)
    if check.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "marketing_attribution_models"], check=True
        )
    return python


def baseline_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version as v; "
         "print(v('marketing_attribution_models'), v('polars'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    mam, polars = done.stdout.split()
    return f"marketing-attribution-models {mam} (polars {polars})"


def run_baseline(
    python: Path, touches: np.ndarray, converted: np.ndarray, value: np.ndarray
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "journeys.npz"
        np.savez(
            data, touches=touches, converted=converted, value=value, channels=np.array(CHANNELS)
        )
        script = Path(folder) / "baseline.py"
        script.write_text(BASELINE)
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), str(script), str(data)], check=True, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def shares(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    return {k: v / total for k, v in values.items()}


def report(
    args: argparse.Namespace, ours: OurRun, baseline: dict[str, Any] | None, notes: str
) -> str:
    """The RESULTS.md section: times, per-channel results side by side, the checks."""
    times, markov = ours.times, ours.results["markov"]
    effects = markov.removal_effects or {}
    shapley, closed = ours.credit("shapley"), shapley_closed_form(ours.paths)
    base_times: dict[str, float] = dict(baseline["times"]) if baseline else {}
    base_effects: dict[str, float] = dict(baseline["removal_effects"]) if baseline else {}
    base_shares = shares(base_effects) if base_effects else {}
    base_shapley: dict[str, float] = dict(baseline["shapley"]) if baseline else {}

    base_total = f"{sum(base_times.values()):.2f}" if base_times else "—"

    def base(step: str) -> str:
        return f"{base_times[step]:.2f}" if step in base_times else "—"

    def cell(values: dict[str, float], channel: str, pattern: str) -> str:
        return format(values[channel], pattern) if channel in values else "—"

    lines = [
        "## Attribution", "", notes, "",
        "| step | omnikpi (s) | baseline (s) |",
        "| --- | ---: | ---: |",
        f"| aggregate {args.journeys:,} journeys to {len(ours.paths):,} distinct paths "
        f"(baseline: read the journeys) | {times['aggregate']:.2f} | {base('prepare')} |",
        f"| Markov order 1, exact: removal effects of {len(CHANNELS)} channels | "
        f"{times['markov']:.3f} | {base('markov')} |",
        f"| Shapley, exact over 2^{len(CHANNELS)} coalitions | {times['shapley']:.3f} | "
        f"{base('shapley')} (another game) |",
        f"| **total** | **{ours.total:.2f}** | **{base_total}** |",
        f"| Markov order 2 ({ours.results['markov_order_2'].details['states']:.0f} states), "
        f"not in the total | {times['markov_order_2']:.2f} | — |",
        "",
        "| channel | removal effect | Markov share | baseline share | Markov order 2 share "
        "| Shapley conversions | baseline Shapley |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    second = ours.shares("markov_order_2")
    lines += [
        f"| {c} | {effects[c]:.6f} | {ours.shares('markov')[c]:.6f} | "
        f"{cell(base_shares, c, '.6f')} | {second[c]:.6f} | {shapley[c]:,.1f} | "
        f"{cell(base_shapley, c, ',.1f')} |"
        for c in CHANNELS
    ]
    checks = []
    if base_shares:
        gap = max(abs(ours.shares("markov")[c] - base_shares[c]) for c in CHANNELS)
        effect_gap = max(abs(effects[c] - base_effects[c]) for c in CHANNELS)
        verdict = "equal" if max(gap, effect_gap) <= TOLERANCE else "NOT equal"
        checks.append(
            f"Markov against the baseline: {verdict} to {TOLERANCE:g} (largest difference: "
            f"shares {gap:.1e}, removal effects {effect_gap:.1e})"
        )
        checks.append(
            f"omnikpi {sum(base_times.values()) / ours.total:,.0f}× faster than the baseline "
            f"in total ({ours.total:.2f} s against {sum(base_times.values()):.2f} s)"
        )
    shapley_gap = max(abs(shapley[c] - closed[c]) for c in CHANNELS)
    checks.append(
        f"Shapley against its closed form Σ_T w(T)/|T| (computed separately): largest "
        f"difference {shapley_gap:.1e} conversions"
    )
    worst = max(
        max(
            abs(sum(c.conversions for c in r.channels) - r.total_conversions),
            abs(sum(c.revenue or 0.0 for c in r.channels) - (r.total_revenue or 0.0)),
        )
        for r in ours.results.values()
    )
    checks.append(
        f"every model sums to the totals ({markov.total_conversions:,.0f} conversions, revenue "
        f"{markov.total_revenue or 0:,.2f}) within {worst:.1e}"
    )
    checks.append(f"aim under 10 s: {'met' if ours.total < 10 else 'NOT met'} ({ours.total:.2f} s)")
    return "\n".join([*lines, "", *(f"- {check}" for check in checks)]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--venv", type=Path, default=Path("/tmp/attr-bench-venv"))
    parser.add_argument("--no-baseline", action="store_true", help="omnikpi only")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    started = time.perf_counter()
    touches, converted, value = simulate(args.journeys, args.seed)
    simulated = time.perf_counter() - started
    ours = run_ours(touches, converted, value)
    baseline = None
    version = "not run (--no-baseline)"
    if not args.no_baseline:
        try:
            python = ensure_baseline(args.venv)
            version = baseline_version(python)
            baseline = run_baseline(python, touches, converted, value)
        except subprocess.CalledProcessError as error:
            version = f"failed ({error}): {(error.stderr or '')[-300:]}"
    load_after = os.getloadavg()
    notes = (
        f"`bench/attribution.py --journeys {args.journeys:,}`, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, shared with other developers; "
        f"load average {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} "
        f"before, {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} after. "
        f"Journeys: {args.journeys:,} over {len(CHANNELS)} channels, simulated with numpy "
        f"(seed {args.seed}, {simulated:.1f} s, not timed): 1 + geometric touches (mean 3, "
        f"at most {MAX_TOUCHES}), a third repeating the previous channel, conversion "
        f"logistic in the channels touched ({converted.mean():.1%} convert), lognormal "
        f"revenue. Baseline: {version}, in its own venv ({args.venv}), the same journeys in "
        "the same run, one row per journey as its `journey` format reads them: `run_markov()` "
        "(exact: it inverts I − Q; self-transitions dropped, which changes no removal effect "
        'of order 1) and `run_shapley(max_size=10, value_column="conversions")`, whose game '
        "differs from omnikpi's (a set is worth the conversions of journeys with exactly that "
        "set; omnikpi: with a subset of it; that game is not monotone, hence its negative "
        "credits), so its Shapley is timed and shown, not compared. "
        "Both with OPENBLAS_NUM_THREADS=1."
    )
    publish(report(args, ours, baseline, notes), args.record)


if __name__ == "__main__":
    main()
