"""A KPI value as people read it, by its unit and the locale's rules: a share as a
percentage, points and rates with one decimal, counts and money grouped."""

from __future__ import annotations

from cvm.i18n import number, percent

__all__ = ["format_value"]


def format_value(value: float | None, unit: str, lang: str | None = "en",
                 signed: bool = False) -> str:
    """``value`` in ``unit`` (share 0.312 -> 31.2%, points -12.5, count 1,024, per_1000
    11.6, currency 4,283,150); an empty text for no value. ``signed`` shows a plus sign
    on a positive number (a change)."""
    if value is None:
        return ""
    if unit == "share":
        text = percent(value, lang, 1)
    elif unit in ("points", "per_1000"):
        text = number(value, lang, 1)
    else:
        text = number(value, lang, 0)
    return ("+" + text) if signed and value > 0 else text
