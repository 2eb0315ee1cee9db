"""The exceptions omnikpi raises; every message names the thing, the bad value and the fix."""

from __future__ import annotations


class OmnikpiError(Exception):
    """Base class of every error omnikpi raises on purpose."""

    exit_code = 2
    http_status = 400


class ConfigError(OmnikpiError):
    """A setting, option, catalog entry or mapping is invalid."""


class DataError(OmnikpiError):
    """Input data violates the canonical model or a plausibility rule."""

    http_status = 422


class NotFound(OmnikpiError):
    """A named thing (KPI, table, user, file) does not exist."""

    http_status = 404


class PermissionDenied(OmnikpiError):
    """The caller's role may not see or do this."""

    http_status = 403


class WarehouseExists(OmnikpiError):
    """A warehouse already exists where a new one would be written."""


class InvalidChoice(ConfigError):
    """A parameter has a value that is not one of its choices (HTTP 400).

    `allowed` says what would work in words any language shares: the valid values
    ("day, week, month"), a format ("YYYY-MM-DD") or a bound ("≤ 2025-12-31").
    """

    def __init__(self, param: str, value: str, allowed: str) -> None:
        super().__init__(f'{param} "{value}" is not valid (allowed: {allowed})')
        self.param = param
        self.value = value
        self.allowed = allowed


class UnknownValue(OmnikpiError):
    """A well-formed request names something that does not exist, e.g. a filter value no
    store or channel has (HTTP 422): the message names the closest valid values."""

    http_status = 422

    def __init__(self, param: str, value: str, suggestions: list[str], more: int = 0) -> None:
        close = ", ".join(suggestions)
        tail = f" and {more} more" if more else ""
        hint = f" (closest valid values: {close}{tail})" if suggestions else " (it has no values)"
        super().__init__(f'{param} "{value}" does not exist{hint}')
        self.param = param
        self.value = value
        self.suggestions = suggestions


class RefreshFailed(OmnikpiError):
    """The KPI rollups could not be refreshed after a change; the data stays loaded and the
    KPIs reading the changed tables are computed directly until a refresh succeeds."""

    exit_code = 3
    http_status = 500
