"""Errors of the services (OmnikpiErrors the web turns into 403)."""

from __future__ import annotations

from omnikpi.auth import UserRole
from omnikpi.errors import PermissionDenied


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
