"""Date and time formats of mappings: DuckDB's strptime codes, checked before any file is read.

A format DuckDB cannot parse fails every value of its column, so it is refused with the
mapping: `%Q` is no code, a lone `%` ends nothing, and `yyyy-MM-dd` (Excel's and Java's
style) has no code at all.

    >>> time_format_problem("%d/%m/%Y"), time_format_problem("%Y-%m-%d %")
    (None, 'a lone "%" ends it (write %% for a percent sign)')
"""

from __future__ import annotations

from collections.abc import Sequence

#: `format` values that read numbers as Unix epochs instead of text dates.
EPOCH_FORMATS = ("epoch_s", "epoch_ms", "epoch_us")
#: The codes DuckDB's strptime reads after "%" (DuckDB 1.5; tests/ingest/test_formats.py
#: checks this list against DuckDB itself).
CODES = frozenset("aAbBcdfgGhHIjmMnpSTuUVwWxXyYzZ%")
#: The codes that also take "-" (`%-d`: no leading zero).
UNPADDED = frozenset("djmyHIMS")
#: The codes most formats need, for messages.
COMMON_CODES = "%Y year, %m month, %d day, %H hour, %M minute, %S second, %z UTC offset"


def time_format_problem(fmt: str) -> str | None:
    """What is wrong with a strptime format, or None when DuckDB can read with it."""
    if not fmt.strip():
        return "it is empty"
    codes = 0
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        code = fmt[i + 1 : i + 2]
        if code == "-":
            code = fmt[i + 1 : i + 3]
            if code[1:] not in UNPADDED:
                unpadded = ", ".join(sorted(UNPADDED))
                return f'"%{code}" is no strptime code ("%-" goes with {unpadded})'
        elif not code:
            return 'a lone "%" ends it (write %% for a percent sign)'
        elif code not in CODES:
            return f'"%{code}" is no strptime code'
        codes += code != "%"
        i += 1 + len(code)
    if not codes:
        return "it has no strptime code, so it would only match itself"
    return None


def is_zoned(fmt: str) -> bool:
    """Whether a format reads the time zone or UTC offset itself (%z or %Z)."""
    return "%z" in fmt or "%Z" in fmt


def mixed_zones_problem(formats: Sequence[str]) -> str | None:
    """A list of formats must all read an offset (%z) or none: the zone of the others
    would be unknown."""
    zoned = [is_zoned(f) for f in formats]
    if any(zoned) and not all(zoned):
        return "list formats either all with %z or all without"
    return None
