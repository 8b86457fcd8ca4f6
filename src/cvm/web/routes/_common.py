"""What several pages share: the month a page shows."""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from cvm._dates import as_date

__all__ = ["month_shown"]


def month_shown(request: Request, months: list[dt.date]) -> dt.date | None:
    """The ``?as_of=`` day, else the latest of `months` (the stored monthly runs), else
    None (nothing stored yet)."""
    asked = request.query_params.get("as_of")
    if asked:
        return as_date(asked, "as_of")
    return max(months) if months else None
