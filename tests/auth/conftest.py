"""A fresh app-state store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnikpi.auth import AppStateStore


@pytest.fixture
def store(tmp_path: Path) -> AppStateStore:
    return AppStateStore.open(tmp_path / "shop.state.sqlite")
