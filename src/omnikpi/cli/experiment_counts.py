"""Parsing the experiment commands' values: conversion counts `[NAME=]CONV/N` and planned
splits `20,80`; errors name the option and the form expected."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from omnikpi.errors import InvalidChoice

if TYPE_CHECKING:
    from omnikpi.services.experiments import Counts

__all__ = ["parse_counts", "parse_split"]

_COUNTS = re.compile(r"\s*(?:(?P<name>[\w.-]+)=)?(?P<conversions>\d+)\s*/\s*(?P<units>\d+)\s*")
_COUNTS_FORM = "CONV/N with whole numbers 0 ≤ CONV ≤ N and N ≥ 1, e.g. 120/1000"


def parse_counts(value: str, option: str) -> tuple[str | None, Counts]:
    """`[NAME=]CONV/N` → (NAME, Counts); anything else is an `InvalidChoice` naming `option`."""
    from omnikpi.services.experiments import Counts

    match = _COUNTS.fullmatch(value)
    if not match:
        raise InvalidChoice(option, value, _COUNTS_FORM)
    counts = Counts(int(match["conversions"]), int(match["units"]))
    if counts.units < 1 or counts.conversions > counts.units:
        raise InvalidChoice(option, value, _COUNTS_FORM)
    return match["name"], counts


def parse_split(value: str | None) -> list[float] | None:
    """`--split 50,50` → [50.0, 50.0] (shares per variant, control first)."""
    if value is None:
        return None
    try:
        shares = [float(part) for part in value.split(",")]
    except ValueError:
        shares = []
    if len(shares) < 2 or any(not share > 0 for share in shares):
        raise InvalidChoice("--split", value, "shares > 0 per variant, control first, e.g. 20,80")
    return shares
