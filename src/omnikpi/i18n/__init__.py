"""Korean and English text and locale-aware formatting for every user-facing string."""

from omnikpi.i18n.catalog import (
    DEFAULT_LOCALE,
    LOCALES,
    Locale,
    has_message,
    is_locale,
    messages,
    negotiate_locale,
    parse_locale,
    placeholders,
    t,
)
from omnikpi.i18n.formatting import (
    Unit,
    format_change,
    format_compact,
    format_currency,
    format_date,
    format_datetime,
    format_duration,
    format_number,
    format_percent,
    format_value,
)

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Locale",
    "Unit",
    "format_change",
    "format_compact",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_duration",
    "format_number",
    "format_percent",
    "format_value",
    "has_message",
    "is_locale",
    "messages",
    "negotiate_locale",
    "parse_locale",
    "placeholders",
    "t",
]
