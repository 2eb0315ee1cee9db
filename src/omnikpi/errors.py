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
