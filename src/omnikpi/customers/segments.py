"""Lifecycle segments (brief 003): rules declared in YAML, one segment per customer at a
date, segment sizes at month ends and the month-to-month transition matrix.

The packaged rules are `segments.yaml` beside this module (read it for the defaults and
the precedence between segments); YAML files in the folders of `Settings.segment_dirs`
(OMNIKPI_SEGMENTS, `--segments`) override them, in the way the KPI catalog's folders
override the packaged catalog. A rule that does not parse or names an unknown feature is a
ConfigError naming the file and the segment.

>>> rules = load_segment_rules()
>>> [s.id for s in rules.ordered()][:3]
['negative_experience', 'hero', 'new']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnikpi.customers.rfm import RfmConfig
from omnikpi.errors import ConfigError
from omnikpi.kpi.expressions import Expression
from omnikpi.model.derived import CUSTOMER_PROFILES

__all__ = [
    "PACKAGED_RULES",
    "SegmentRule",
    "SegmentRules",
    "Windows",
    "assign_segments",
    "load_segment_rules",
    "month_ends",
    "segment_sizes",
    "segment_transitions",
]

PACKAGED_RULES = Path(__file__).with_name("segments.yaml")
#: The from-state of customers who signed up after the earlier month end.
NOT_YET = "(not yet a customer)"


@dataclass(frozen=True)
class Windows:
    """The windows and thresholds the features are computed with (segments.yaml
    `parameters`)."""

    recent_days: int = 90
    value_window_days: int = 365
    bad_review_max_rating: int = 2
    detractor_max_score: int = 6


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentRule(_Model):
    """One segment: its id, where it stands in the precedence, and its condition."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    priority: int
    condition: str
    description: str = ""


class Fallback(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""


class _RulesFile(_Model):
    parameters: dict[str, float] = Field(default_factory=dict)
    segments: list[SegmentRule] = Field(default_factory=list)
    fallback: Fallback | None = None
    rfm: RfmConfig | None = None


@dataclass(frozen=True)
class SegmentRules:
    """The segment rules in effect: parameters, segments by id, fallback, RFM settings,
    and the file each segment came from."""

    parameters: Mapping[str, float]
    segments: Mapping[str, SegmentRule]
    fallback: Fallback
    rfm: RfmConfig
    origin: Mapping[str, Path]

    def ordered(self) -> list[SegmentRule]:
        """Segments in precedence order (priority, then id)."""
        return sorted(self.segments.values(), key=lambda s: (s.priority, s.id))

    @property
    def segment_ids(self) -> list[str]:
        """Every segment a customer can get, in precedence order, the fallback last."""
        return [s.id for s in self.ordered()] + [self.fallback.id]

    @property
    def fingerprint(self) -> str:
        """A short hash of the rules' content: profiles stored with other rules are stale.

        >>> len(load_segment_rules().fingerprint)
        16
        """
        content = {
            "parameters": dict(sorted(self.parameters.items())),
            "segments": [s.model_dump() for s in self.ordered()],
            "fallback": self.fallback.model_dump(),
            "rfm": self.rfm.model_dump(),
        }
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def windows(self) -> Windows:
        """The feature windows the parameters set."""
        defaults = Windows()
        return Windows(
            **{
                name: int(self.parameters.get(name, getattr(defaults, name)))
                for name in Windows.__dataclass_fields__
            }
        )


def load_segment_rules(extra_dirs: Iterable[Path] = ()) -> SegmentRules:
    """The packaged rules overlaid with the YAML files of `extra_dirs` (in name order),
    validated: every condition must compile against the customer features.

    >>> load_segment_rules().fallback.id
    'prospect'
    """
    return _load(tuple(Path(d) for d in extra_dirs))


@lru_cache(maxsize=8)
def _load(extra_dirs: tuple[Path, ...]) -> SegmentRules:
    parameters: dict[str, float] = {}
    segments: dict[str, SegmentRule] = {}
    origin: dict[str, Path] = {}
    fallback: Fallback | None = None
    rfm: RfmConfig | None = None
    for path in _rule_files(extra_dirs):
        content = _read(path)
        parameters.update(content.parameters)
        for segment in content.segments:
            segments[segment.id] = segment
            origin[segment.id] = path
        fallback = content.fallback or fallback
        rfm = content.rfm or rfm
        if content.rfm is not None:
            origin["rfm"] = path
    assert fallback is not None, "the packaged segments.yaml sets a fallback"
    assert rfm is not None, "the packaged segments.yaml sets rfm"
    rules = SegmentRules(parameters, segments, fallback, rfm, origin)
    _check(rules)
    return rules


def _rule_files(extra_dirs: tuple[Path, ...]) -> Iterable[Path]:
    yield PACKAGED_RULES
    for folder in extra_dirs:
        if not folder.is_dir():
            raise ConfigError(
                f"segment rules directory {folder} does not exist (check --segments or "
                "OMNIKPI_SEGMENTS)"
            )
        yield from sorted(folder.glob("*.y*ml"))


def _read(path: Path) -> _RulesFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with parameters, segments, fallback, rfm")
    try:
        return _RulesFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "segments" and isinstance(loc[1], int):
            entries = raw.get("segments") or []
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            name = entry.get("id", f"#{loc[1] + 1}") if isinstance(entry, dict) else loc[1]
            field = ".".join(str(p) for p in loc[2:]) or "entry"
            where = f'segment "{name}" field "{field}"'
        raise ConfigError(f"{path}: {where}: {error['msg']}") from None


def _check(rules: SegmentRules) -> None:
    """Each condition parses, reads only features and parameters, and gives a truth value."""
    empty = ibis.table(_feature_schema(), name="customer_features")
    ids = [s.id for s in rules.segments.values()]
    if rules.fallback.id in ids:
        raise ConfigError(
            f'{rules.origin.get(rules.fallback.id)}: segment "{rules.fallback.id}" is also the '
            "fallback; give the fallback another id"
        )
    for segment in rules.ordered():
        where = (
            f'{rules.origin[segment.id]}: segment "{segment.id}" condition "{segment.condition}"'
        )
        try:
            value = Expression.parse(segment.condition).compile(empty, _literals(rules))
        except ConfigError as exc:
            raise ConfigError(
                f"{where}: {exc} (parameters: {', '.join(rules.parameters)})"
            ) from None
        if not isinstance(value, ir.BooleanValue):
            raise ConfigError(f"{where}: is not a true/false condition (compare with <, ==, ...)")


def _feature_schema() -> ibis.Schema:
    derived = {"segment", "recency_score", "frequency_score", "monetary_score", "rfm_group"}
    later = derived | {"clv", "p_alive", "rules"}
    names = [c for c in CUSTOMER_PROFILES.columns if c.name not in later]
    return ibis.schema({c.name: c.ibis_type for c in names})


def _literals(rules: SegmentRules) -> dict[str, Any]:
    return {name: ibis.literal(value) for name, value in rules.parameters.items()}


def assign_segments(features: ir.Table, rules: SegmentRules) -> ir.Table:
    """`features` with a `segment` column: the first segment (by priority) whose condition
    holds, else the fallback."""
    literals = _literals(rules)
    cases = [
        (Expression.parse(s.condition).compile(features, literals).fill_null(False), s.id)
        for s in rules.ordered()
    ]
    segment = (
        ibis.cases(*cases, else_=rules.fallback.id) if cases else ibis.literal(rules.fallback.id)
    )
    return features.mutate(segment=segment)


def month_ends(first: date, last: date) -> list[date]:
    """The month ends from `first`'s month to `last`, `last` itself closing the list when it
    is not a month end (the month so far).

    >>> month_ends(date(2025, 1, 15), date(2025, 3, 10))
    [datetime.date(2025, 1, 31), datetime.date(2025, 2, 28), datetime.date(2025, 3, 10)]
    """
    found: list[date] = []
    stamp = pd.Timestamp(first) + pd.offsets.MonthEnd(0)
    while stamp.date() < last:
        found.append(stamp.date())
        stamp = stamp + pd.offsets.MonthEnd(1)
    found.append(last)
    return found


def segment_sizes(
    segmented: pd.DataFrame, segment_ids: Sequence[str], by: str | None = None
) -> pd.DataFrame:
    """Customers per segment at each date (and value of `by`): columns `as_of`, [`by`],
    `segment`, `customers`, `share` (of the customers at that date and `by` value); every
    segment listed for every date and value (0 when empty), in `segment_ids` order.

    `segmented` holds `as_of` and `segment` (and `by`) of every customer at each date.
    """
    keys = ["as_of", *([by] if by else [])]
    counts = segmented.groupby([*keys, "segment"], dropna=False).size()
    segments = _with_extra(segment_ids, segmented["segment"].unique())
    rows = []
    for key, group in segmented.groupby(keys, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        total = len(group)
        for segment in segments:
            customers = int(counts.get((*values, segment), 0))
            rows.append(
                {
                    **dict(zip(keys, values, strict=True)),
                    "segment": segment,
                    "customers": customers,
                    "share": customers / total if total else None,
                }
            )
    return pd.DataFrame(rows, columns=[*keys, "segment", "customers", "share"])


def segment_transitions(
    before: pd.DataFrame, after: pd.DataFrame, segment_ids: Sequence[str]
) -> pd.DataFrame:
    """How customers moved between two dates: one row per (from, to) pair with
    `customers` and `share` (of the from-segment's customers). Customers only present
    `after` come from NOT_YET. Every pair of segments is listed (0 when none moved).

    `before` and `after` hold `customer_id` and `segment`.
    """
    merged = after[["customer_id", "segment"]].merge(
        before[["customer_id", "segment"]], on="customer_id", how="left", suffixes=("", "_from")
    )
    merged["segment_from"] = merged["segment_from"].fillna(NOT_YET)
    counts = merged.groupby(["segment_from", "segment"]).size()
    present = set(merged["segment_from"]) | set(merged["segment"])
    targets = _with_extra(segment_ids, present)
    sources = [*targets, NOT_YET] if NOT_YET in present else targets
    rows = []
    for source in sources:
        total = int(sum(counts.get((source, target), 0) for target in targets))
        for target in targets:
            customers = int(counts.get((source, target), 0))
            rows.append(
                {
                    "from_segment": source,
                    "to_segment": target,
                    "customers": customers,
                    "share": customers / total if total else None,
                }
            )
    return pd.DataFrame(rows, columns=["from_segment", "to_segment", "customers", "share"])


def _with_extra(ordered: Sequence[str], present: Iterable[str]) -> list[str]:
    """`ordered`, then any value `present` that it lacks (sorted)."""
    return [*ordered, *sorted(set(present) - set(ordered) - {NOT_YET})]
