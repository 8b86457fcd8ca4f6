"""Reading a date given by a person or a program: one parser, one error message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cvm.errors import InputError

__all__ = ["as_date", "parse_month"]


def as_date(value: Any, what: str = "date") -> dt.date:
    """A date from a date, a date-time (its day), or text starting YYYY-MM-DD.

    ``what`` names the argument in the error, e.g. ``as_of`` or ``cutoff``.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"{what} must be a date (YYYY-MM-DD), got {value!r}") from None


def parse_month(value: Any, what: str = "month") -> dt.date:
    """The first day of a month given as YYYY-MM (or a date in it)."""
    text = str(value)
    try:
        if len(text) == 7:
            return dt.date(int(text[:4]), int(text[5:7]), 1)
        return as_date(text, what).replace(day=1)
    except (ValueError, InputError):
        raise InputError(f"{what} must be a month (YYYY-MM), got {value!r}") from None
