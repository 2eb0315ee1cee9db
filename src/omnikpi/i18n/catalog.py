"""The translation catalog: Korean and English messages, looked up by dotted key.

Messages live in `messages/<locale>.yaml` as nested mappings; `t("nav.status", "ko")`
reads `nav: {status: ...}` from `ko.yaml`. Placeholders are named, `{table}`, and filled
with already formatted values (see `omnikpi.i18n.formatting`).

A message that depends on a number has one form per CLDR plural category under its key
(`filters_on: {one: "{count} filter", other: "{count} filters"}`); `t` picks the form the
locale's plural rules give for the number `count` (Korean has only `other`).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Literal, TypeGuard, cast

import babel
import yaml
from babel import numbers as babel_numbers
from babel.plural import PluralRule

from omnikpi.errors import ConfigError

Locale = Literal["ko", "en"]

#: Every locale the catalog has, in the order the language switch shows them.
LOCALES: tuple[Locale, ...] = ("ko", "en")
#: The locale used when neither the user, a cookie nor the browser says otherwise.
DEFAULT_LOCALE: Locale = "ko"


def is_locale(value: object) -> TypeGuard[Locale]:
    """Whether `value` is one of LOCALES."""
    return value in LOCALES


def parse_locale(value: str) -> Locale:
    """`value` as a Locale, or a ConfigError naming the choices."""
    if is_locale(value):
        return value
    raise ConfigError(f'locale "{value}" is not supported (choose one of: {", ".join(LOCALES)})')


def _flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(cast(Mapping[str, object], value), f"{dotted}."))
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise ConfigError(f'message "{dotted}" must be text, not {type(value).__name__}')
    return flat


@cache
def messages(locale: Locale) -> Mapping[str, str]:
    """Every message of `locale`, by dotted key."""
    text = resources.files("omnikpi.i18n").joinpath("messages", f"{locale}.yaml").read_text("utf-8")
    tree = yaml.safe_load(text) or {}
    if not isinstance(tree, Mapping):
        raise ConfigError(f"messages/{locale}.yaml must hold a mapping of message keys")
    return _flatten(cast(Mapping[str, object], tree))


#: The plural category every locale has, used when a rarer one has no form of its own.
PLURAL_OTHER = "other"


def has_message(key: str, locale: Locale = DEFAULT_LOCALE) -> bool:
    """Whether the catalog of `locale` holds `key` (a plain message or plural forms)."""
    catalog = messages(locale)
    return key in catalog or f"{key}.{PLURAL_OTHER}" in catalog


def t(key: str, locale: Locale, /, **params: object) -> str:
    """The message `key` in `locale`, with its `{placeholders}` filled from `params`.

    A message with plural forms takes the number `count`, filled in with the locale's
    digit grouping.

    >>> t("app.name", "en")
    'omnikpi'
    >>> t("view.filters_on", "en", count=1)
    '1 filter'
    """
    catalog = messages(locale)
    template = catalog.get(key)
    if template is None and f"{key}.{PLURAL_OTHER}" in catalog:
        template, params = _plural(key, locale, params)
    if template is None:
        raise ConfigError(
            f'message "{key}" is missing from the {locale} catalog '
            f"(add it to omnikpi/i18n/messages/{locale}.yaml)"
        )
    try:
        return template.format_map(params)
    except KeyError as exc:
        raise ConfigError(f'message "{key}" needs the parameter {exc} ({locale})') from None


def _plural(key: str, locale: Locale, params: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The form of plural message `key` for `params["count"]` (the `other` form when the
    catalog has none for the locale's category), and the params with the count formatted."""
    count = params.get("count")
    if isinstance(count, bool) or not isinstance(count, int | float):
        raise ConfigError(
            f'message "{key}" has plural forms and needs the number "count", not {count!r} '
            "(pass the number itself: the message formats it)"
        )
    catalog = messages(locale)
    form = _plural_rule(locale)(count)
    template = catalog.get(f"{key}.{form}", catalog[f"{key}.{PLURAL_OTHER}"])
    return template, {**params, "count": babel_numbers.format_decimal(count, locale=locale)}


@cache
def _plural_rule(locale: Locale) -> PluralRule:
    return babel.Locale.parse(locale).plural_form


def placeholders(template: str) -> frozenset[str]:
    """Names of the `{placeholders}` in a message."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def negotiate_locale(accept_language: str | None, available: Iterable[Locale] = LOCALES) -> Locale:
    """The best locale for an Accept-Language header, else DEFAULT_LOCALE.

    >>> negotiate_locale("en-US,en;q=0.9,ko;q=0.8")
    'en'
    """
    choices = list(available)
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        weighted.append((-weight, position, tag.split("-")[0].strip().lower()))
    for _, _, language in sorted(weighted):
        if is_locale(language) and language in choices:
            return language
    return DEFAULT_LOCALE
