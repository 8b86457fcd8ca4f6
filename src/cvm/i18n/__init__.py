"""Messages in the user's language: English (the message ids themselves) and Simplified
Chinese (zh-CN), from one gettext catalogue read with Babel, and numbers formatted by the
locale's rules.

``translate("zh-CN", "{n} complaints in 30 days", n=2)`` looks the English text up in
``locales/zh_CN/LC_MESSAGES/cvm.po`` and fills in the values; a message without a
translation falls back to the English text, so nothing is ever blank. Message texts use
``str.format`` fields; numbers are formatted before they are filled in (`number`,
`percent`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from cvm.errors import InputError

__all__ = ["LANGUAGES", "language", "translate", "number", "percent", "catalogue"]

#: Languages cvm speaks, as users write them, and their Babel locales.
LANGUAGES = {"en": "en", "zh-CN": "zh_Hans_CN"}
_ALIASES = {"en": "en", "en-us": "en", "en-gb": "en", "zh": "zh-CN", "zh-cn": "zh-CN",
            "zh_cn": "zh-CN", "zh-hans": "zh-CN"}
_CATALOGUES = Path(__file__).parent / "locales"


def language(lang: str | None) -> str:
    """The supported language a user's choice names (``zh``, ``zh_CN`` -> ``zh-CN``);
    `InputError` for one cvm does not speak."""
    if lang is None:
        return "en"
    key = _ALIASES.get(str(lang).strip().lower())
    if key is None:
        raise InputError(f"language {lang!r} is not available; choose one of: "
                         f"{', '.join(LANGUAGES)}")
    return key


@cache
def catalogue(lang: str) -> dict[str, str]:
    """English message -> its translation in ``lang`` (empty for English)."""
    lang = language(lang)
    if lang == "en":
        return {}
    path = _CATALOGUES / lang.replace("-", "_") / "LC_MESSAGES" / "cvm.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=LANGUAGES[lang])
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy}


def translate(lang: str | None, message: str, **values) -> str:
    """``message`` in ``lang`` with ``values`` filled in."""
    text = catalogue(language(lang)).get(message, message)
    return text.format(**values)


def _locale(lang: str | None) -> Locale:
    return Locale.parse(LANGUAGES[language(lang)])


def number(value: float, lang: str | None = None, digits: int = 0) -> str:
    """A number with the locale's grouping and ``digits`` decimals (2,340 / 2,340.50)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=_locale(lang))


def percent(value: float, lang: str | None = None, digits: int = 0) -> str:
    """A share as a percentage (0.31 -> 31%)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return format_percent(value, format=pattern, locale=_locale(lang))
