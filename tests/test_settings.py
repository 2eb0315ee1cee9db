"""Process settings from the environment: clear errors that name the variable and a fix."""

from __future__ import annotations

import pytest

from omnikpi.errors import ConfigError
from omnikpi.settings import Settings, load_settings


def test_the_minimum_base_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().min_base == Settings().min_base == 30
    monkeypatch.setenv("OMNIKPI_MIN_BASE", "100")
    assert load_settings().min_base == 100
    monkeypatch.setenv("OMNIKPI_MIN_BASE", "0")
    assert load_settings().min_base == 0


@pytest.mark.parametrize("given", ["thirty", "-5", "2.5"])
def test_a_bad_minimum_base_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("OMNIKPI_MIN_BASE", given)
    with pytest.raises(ConfigError, match=r'OMNIKPI_MIN_BASE "[^"]+" is not a whole number.*30'):
        load_settings()
