"""Presets: mappings of well-known exports, shipped as YAML files next to this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from omnikpi.errors import NotFound
from omnikpi.ingest.mapping import PresetMapping, parse_preset

_FOLDER = Path(__file__).parent


def preset_names() -> tuple[str, ...]:
    """Names of the shipped presets, as typed after --preset (e.g. online-retail)."""
    return tuple(sorted(p.stem.replace("_", "-") for p in _FOLDER.glob("*.yaml")))


@cache
def load_preset(name: str) -> PresetMapping:
    """The preset called `name`; NotFound lists the presets there are."""
    path = _FOLDER / f"{name.replace('-', '_')}.yaml"
    if not path.is_file():
        raise NotFound(f'no preset "{name}" (choose one of: {", ".join(preset_names())})')
    return parse_preset(yaml.safe_load(path.read_text(encoding="utf-8")), origin=path.name)
