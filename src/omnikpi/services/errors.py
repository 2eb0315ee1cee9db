"""Errors of the dashboard services (both are OmnikpiErrors the web turns into 403 / 400)."""

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


class InvalidChoice(ConfigError):
    """A parameter has a value that is not one of its choices.

    `allowed` says what would work in words any language shares: the valid values
    ("day, week, month"), a format ("YYYY-MM-DD") or a bound ("≤ 2025-12-31").
    """

    def __init__(self, param: str, value: str, allowed: str) -> None:
        super().__init__(f'{param} "{value}" is not valid (allowed: {allowed})')
        self.param = param
        self.value = value
        self.allowed = allowed
