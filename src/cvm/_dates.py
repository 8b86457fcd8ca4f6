"""Reading a date given by a person or a program: one parser, one error message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cvm.errors import InputError

__all__ = ["as_date"]


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
