"""What every request handler shares: settings, the app-state store, the signer, the clock,
the KPI catalog, the shared KPI engine and the cache of KPI results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.requests import HTTPConnection

from omnikpi.auth import AppStateStore, CookieSigner
from omnikpi.services import Catalog, ResultCache, data_settings, data_version
from omnikpi.services.reader import SharedEngine
from omnikpi.settings import DataSettings, Settings


@dataclass(frozen=True)
class WebContext:
    """The app's services, built once by `create_app` and kept on `app.state.context`."""

    settings: Settings
    store: AppStateStore
    signer: CookieSigner
    #: The current instant (UTC); tests pass a fixed clock.
    now: Callable[[], datetime]
    #: The KPI catalog (packaged plus the settings' catalog folders).
    catalog: Catalog
    #: KPI results by data version, shared by all requests.
    results: ResultCache
    #: The KPI engine of the data's version, shared by all requests.
    engines: SharedEngine

    def data_settings(self) -> DataSettings:
        """The warehouse's data settings (time zone, currency, ...) with this process's
        overrides, read once per data version."""
        version = data_version(self.settings.warehouse)

        return self.results.get_or_compute(
            (version, "data_settings"), lambda: data_settings(self.settings)
        )

    def today(self) -> date:
        """Today's date in the retailer's time zone."""
        return self.now().astimezone(ZoneInfo(self.data_settings().time_zone)).date()


def web_context(connection: HTTPConnection) -> WebContext:
    """The WebContext of the app serving `connection`."""
    context: WebContext = connection.app.state.context
    return context
