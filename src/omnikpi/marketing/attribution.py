"""Multi-touch attribution: each channel's share of conversions and revenue by eight models.

Rule-based models split each converting path's conversions and revenue among its touches
by weights that sum to 1 on the path; a channel touched twice earns both touches' weights:

- `first` / `last`: all to the first / last touch.
- `last_non_direct`: all to the last touch that is not the direct channel (`direct`),
  to direct only when every touch is direct (Google Analytics' default model).
- `linear`: equal weights.
- `time_decay`: weight 2^(−d / half-life), d the touch's days before the conversion.
  Paths without touch times use their position instead when `positional=True`: the last
  touch is 0 steps before the conversion, the one before it 1 step, and the half-life is
  counted in touches.
- `position`: `first_weight` (0.4) to the first touch, `last_weight` (0.4) to the last,
  the rest shared equally by the touches between; a one-touch path gives all to its
  touch, a two-touch path splits first : last in proportion (50/50 for 40/20/40), as
  Google Analytics' position-based model does.

Data-driven models: `markov` (removal effect, exact, `omnikpi.marketing.markov`) and
`shapley` (exact Shapley value, `omnikpi.marketing.shapley`). Markov splits conversions
and revenue by the channels' removal-effect shares; Shapley plays one game on conversions
and one on revenue. Every model's channels sum to the paths' total conversions and
revenue.

>>> from omnikpi.marketing.paths import PathRecord, paths_from_records
>>> paths = paths_from_records([PathRecord(("search", "email"), 4, 6, value=100.0)])
>>> [(c.channel, c.conversions, c.revenue) for c in attribute(paths, "first").channels]
[('email', 0.0, 0.0), ('search', 4.0, 100.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from omnikpi.errors import ConfigError, DataError
from omnikpi.marketing.markov import markov_removal_effects
from omnikpi.marketing.paths import NO_TOUCH, FloatArray, JourneyPaths, sum_by
from omnikpi.marketing.shapley import shapley_values
from omnikpi.settings import ATTRIBUTION_MODELS

AttributionModel = Literal[
    "first", "last", "last_non_direct", "linear", "time_decay", "position", "markov", "shapley"
]
#: The models, in the order pages show them (the settings validate against the same list).
MODELS: tuple[str, ...] = ATTRIBUTION_MODELS
if get_args(AttributionModel) != MODELS:  # pragma: no cover - a model added to one only
    raise ImportError("AttributionModel and settings.ATTRIBUTION_MODELS name different models")


@dataclass(frozen=True)
class AttributionSettings:
    """The models' parameters: the direct channel's name, the time-decay half-life (days,
    or touches with `positional`), the position-based weights and the Markov order."""

    direct: str = "direct"
    half_life: float = 7.0
    positional: bool = False
    first_weight: float = 0.4
    last_weight: float = 0.4
    order: int = 1

    def __post_init__(self) -> None:
        if not self.half_life > 0:
            raise ConfigError(f"half-life {self.half_life} is not valid (allowed: > 0)")
        if min(self.first_weight, self.last_weight) < 0 or self.first_weight + self.last_weight > 1:
            raise ConfigError(
                f"position weights {self.first_weight}/{self.last_weight} are not valid "
                "(allowed: each ≥ 0, first + last ≤ 1)"
            )


@dataclass(frozen=True)
class ChannelCredit:
    """A channel's attributed conversions and revenue (None without revenue) and its share
    of all conversions."""

    channel: str
    conversions: float
    revenue: float | None
    share: float


@dataclass(frozen=True)
class Attribution:
    """A model's credit per channel (in the paths' channel order) and the totals; Markov
    adds each channel's removal effect."""

    model: str
    channels: tuple[ChannelCredit, ...]
    total_conversions: float
    total_revenue: float | None
    removal_effects: dict[str, float] | None = None
    details: dict[str, float] = field(default_factory=dict)


def check_model(model: str) -> str:
    """`model` if it is one of the eight models, else ConfigError naming them."""
    if model not in MODELS:
        raise ConfigError(
            f'attribution model "{model}" is not valid (allowed: {", ".join(MODELS)})'
        )
    return model


def attribute(
    paths: JourneyPaths, model: str, settings: AttributionSettings | None = None
) -> Attribution:
    """Credit each channel of `paths` with conversions and revenue by `model`."""
    settings = settings or AttributionSettings()
    check_model(model)
    if model == "markov":
        removal = markov_removal_effects(paths, settings.order)
        shares = np.array([removal.shares[c] for c in paths.channels])
        conversions = shares * paths.total_conversions
        revenue = None if paths.value is None else shares * float(paths.value.sum())
        details = {"conversion_probability": removal.conversion_probability,
                   "states": float(removal.states)}  # fmt: skip
        return _result(paths, model, conversions, revenue, removal.removal_effects, details)
    if model == "shapley":
        by_channel = shapley_values(paths, paths.conversions)
        conversions = np.array([by_channel[c] for c in paths.channels])
        revenue = None
        if paths.value is not None:
            by_value = shapley_values(paths, paths.value)
            revenue = np.array([by_value[c] for c in paths.channels])
        return _result(paths, model, conversions, revenue)
    weights = touch_weights(paths, model, settings)
    return _result(
        paths,
        model,
        _credit(paths, weights, paths.conversions),
        None if paths.value is None else _credit(paths, weights, paths.value),
    )


def touch_weights(paths: JourneyPaths, model: str, settings: AttributionSettings) -> FloatArray:
    """Each touch's weight in a rule-based model (rows sum to 1, 0 on padding)."""
    present = paths.touches != NO_TOUCH
    n = paths.lengths[:, None].astype(float)
    position = np.arange(paths.touches.shape[1])[None, :]
    is_first = position == 0
    is_last = position == paths.lengths[:, None] - 1
    if model == "first":
        weights = is_first & present
    elif model == "last":
        weights = is_last & present
    elif model == "last_non_direct":
        weights = _last_non_direct(paths, settings.direct)
    elif model == "linear":
        weights = np.where(present, 1.0 / n, 0.0)
    elif model == "time_decay":
        weights = _time_decay(paths, settings)
    elif model == "position":
        weights = _position(paths, settings, is_first, is_last, present)
    else:
        raise ConfigError(f'"{model}" is not a rule-based attribution model')
    return np.asarray(weights, dtype=np.float64)


def _last_non_direct(paths: JourneyPaths, direct: str) -> FloatArray:
    present = paths.touches != NO_TOUCH
    direct_code = paths.channels.index(direct) if direct in paths.channels else -2
    candidates = present & (paths.touches != direct_code)
    position = np.arange(paths.touches.shape[1])[None, :]
    last_candidate = np.where(candidates, position, -1).max(axis=1)
    chosen = np.where(last_candidate >= 0, last_candidate, paths.lengths - 1)
    return np.asarray(position == chosen[:, None], dtype=np.float64)


def _time_decay(paths: JourneyPaths, settings: AttributionSettings) -> FloatArray:
    present = paths.touches != NO_TOUCH
    if paths.days_before is not None:
        distance = paths.days_before
    elif settings.positional:
        position = np.arange(paths.touches.shape[1])[None, :]
        distance = (paths.lengths[:, None] - 1 - position).astype(float)
    else:
        raise DataError(
            "time decay needs each touch's days before the conversion (give a days column, "
            "or count the half-life in touches with the positional setting)"
        )
    if np.any(distance[present] < 0) or np.any(np.isnan(distance[present])):
        raise DataError("touch times must be days before the conversion, ≥ 0 (fix the days)")
    raw = np.where(present, np.exp2(-np.where(present, distance, 0.0) / settings.half_life), 0.0)
    return np.asarray(raw / raw.sum(axis=1, keepdims=True), dtype=np.float64)


def _position(
    paths: JourneyPaths,
    settings: AttributionSettings,
    is_first: np.ndarray,
    is_last: np.ndarray,
    present: np.ndarray,
) -> FloatArray:
    first, last = settings.first_weight, settings.last_weight
    n = paths.lengths[:, None]
    middle = present & ~is_first & ~is_last
    between = np.maximum(n - 2, 1).astype(float)
    ends = first + last
    two_first = first / ends if ends > 0 else 0.5
    weights = np.where(is_first & present, np.where(n == 2, two_first, first), 0.0)
    weights = weights + np.where(is_last & ~is_first, np.where(n == 2, 1 - two_first, last), 0.0)
    weights = weights + np.where(middle, (1 - ends) / between, 0.0)
    weights = np.where(n == 1, np.where(is_first, 1.0, 0.0), weights)
    return np.asarray(weights, dtype=np.float64)


def _credit(paths: JourneyPaths, weights: FloatArray, worth: FloatArray) -> FloatArray:
    """Σ over paths and touches of worth × weight, per channel."""
    present = paths.touches != NO_TOUCH
    amounts = (weights * worth[:, None])[present]
    return sum_by(paths.touches[present], amounts, len(paths.channels))


def _result(
    paths: JourneyPaths,
    model: str,
    conversions: FloatArray,
    revenue: FloatArray | None,
    removal_effects: dict[str, float] | None = None,
    details: dict[str, float] | None = None,
) -> Attribution:
    total = paths.total_conversions
    credits = tuple(
        ChannelCredit(
            channel=channel,
            conversions=float(conversions[index]),
            revenue=None if revenue is None else float(revenue[index]),
            share=float(conversions[index] / total) if total > 0 else 0.0,
        )
        for index, channel in enumerate(paths.channels)
    )
    return Attribution(model, credits, total, paths.total_value, removal_effects, details or {})
