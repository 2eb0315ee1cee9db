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


def test_the_request_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_settings().max_by, load_settings().max_cells) == (3, 1_000_000)
    monkeypatch.setenv("OMNIKPI_MAX_BY", "2")
    monkeypatch.setenv("OMNIKPI_MAX_CELLS", "250_000")
    assert (load_settings().max_by, load_settings().max_cells) == (2, 250_000)


@pytest.mark.parametrize(
    ("variable", "given", "fix"),
    [
        ("OMNIKPI_MAX_BY", "three", "3"),
        ("OMNIKPI_MAX_CELLS", "-1", "1_000_000"),
        ("OMNIKPI_MAX_CELLS", "1e6", "1_000_000"),
    ],
)
def test_a_bad_request_limit_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, variable: str, given: str, fix: str
) -> None:
    monkeypatch.setenv(variable, given)
    with pytest.raises(ConfigError, match=rf'{variable} "{given}" is not a whole number.*{fix}'):
        load_settings()


def test_a_request_limit_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIKPI_MAX_BY", "0")
    with pytest.raises(ConfigError, match=r"set OMNIKPI_MAX_BY to e\.g\. 3"):
        load_settings()
