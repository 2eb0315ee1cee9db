"""What to simulate: size, period, seed and the knobs that shape traffic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from omnikpi.errors import ConfigError


@dataclass(frozen=True)
class SimulationConfig:
    """Size and shape of a simulated retailer; same config and seed give identical tables.

    >>> SimulationConfig(customers=1000, days=90, end=date(2025, 6, 30)).start
    datetime.date(2025, 4, 2)
    """

    end: date
    customers: int = 20_000
    days: int = 730
    seed: int = 7
    chunk_size: int = 20_000
    stores: int = 20
    products: int = 300
    #: Anonymous (never identified) visitors per known customer.
    anonymous_visitors_per_customer: float = 1.2
    #: Browsing sessions (no add to cart) of a known customer per online purchase.
    browse_sessions_per_purchase: float = 2.5
    #: Sessions with add-to-cart but no checkout per online purchase.
    cart_sessions_per_purchase: float = 1.2
    time_zone: str = "Asia/Seoul"
    currency: str = "KRW"

    def __post_init__(self) -> None:
        checks = {
            "customers": self.customers >= 1,
            "days": 28 <= self.days <= 3660,
            "chunk_size": self.chunk_size >= 100,
            "stores": 2 <= self.stores <= 60,
            "products": 20 <= self.products <= 5000,
            "anonymous_visitors_per_customer": self.anonymous_visitors_per_customer >= 0,
            "browse_sessions_per_purchase": self.browse_sessions_per_purchase >= 0,
            "cart_sessions_per_purchase": self.cart_sessions_per_purchase >= 0,
        }
        limits = {
            "customers": "at least 1",
            "days": "between 28 and 3660",
            "chunk_size": "at least 100",
            "stores": "between 2 and 60",
            "products": "between 20 and 5000",
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(
                    f"simulation {name}={getattr(self, name)} is invalid "
                    f"(use a value {limits.get(name, 'of at least 0')})"
                )
        if self.time_zone != "Asia/Seoul":
            raise ConfigError(
                f'simulation time zone "{self.time_zone}" is not supported '
                "(the simulated retailer is in Asia/Seoul)"
            )

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def chunks(self) -> int:
        return -(-self.customers // self.chunk_size)
