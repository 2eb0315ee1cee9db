"""Errors of the services: a KPI a role may not open (403), a request too large (400)."""

from __future__ import annotations

from omnikpi.auth import UserRole
from omnikpi.errors import ConfigError, PermissionDenied


class KpiDenied(PermissionDenied):
    """A role asked for a KPI or a tier its permissions do not include."""

    def __init__(
        self, role: UserRole, *, kpi_id: str | None = None, tier: str | None = None
    ) -> None:
        what = f'KPI "{kpi_id}"' if kpi_id else f'the KPIs of tier "{tier}"'
        super().__init__(f'role "{role}" may not open {what} (ask an admin if you need it)')
        self.role = role
        self.kpi_id = kpi_id
        self.tier = tier


class RequestTooLarge(ConfigError):
    """A KPI request asks for more than one answer may hold (HTTP 400): more breakdown
    dimensions than `Settings.max_by`, or more values than `Settings.max_cells`. The
    message names the limit, its setting and how to narrow the request."""

    def __init__(self, message: str, *, asked: int, limit: int, dimensions: bool) -> None:
        super().__init__(message)
        #: How many dimensions (or values) were asked for, and the most allowed.
        self.asked = asked
        self.limit = limit
        #: Whether the limit is the number of dimensions (else the number of values).
        self.dimensions = dimensions
