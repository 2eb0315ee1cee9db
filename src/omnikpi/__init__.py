"""omnikpi: KPIs and customer analytics for omnichannel retailers."""

__version__ = "0.1.0"
