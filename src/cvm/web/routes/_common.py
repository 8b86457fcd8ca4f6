"""What several pages share: the month a page shows, and the checks of a change to
someone's work (an opportunity's outcome, a case moved on)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from cvm._dates import as_date
from cvm.errors import PermissionDeniedError
from cvm.users import Session
from cvm.web.auth import check_csrf, read_form

__all__ = ["month_shown", "may_record", "work_form"]


def month_shown(request: Request, months: list[dt.date]) -> dt.date | None:
    """The ``?as_of=`` day, else the latest of `months` (the stored monthly runs), else
    None (nothing stored yet)."""
    asked = request.query_params.get("as_of")
    if asked:
        return as_date(asked, "as_of")
    return max(months) if months else None


def may_record(ws, user: Session, owner: str) -> bool:
    """Whether ``user`` may record an outcome on an opportunity (or move a case) of
    ``owner``: staff their own, a manager their team's (or everyone's without a team), an
    admin all; an analyst none."""
    if user.role == "analyst":
        return False
    owners = ws.users.work_owners(user)
    return owners is None or owner in owners


async def work_form(request: Request, ws, user: Session, owner_of: Callable[[], str],
                    what: str) -> tuple[dict[str, str], str]:
    """The form of a change to ``what`` (an opportunity, a case) and its owner, once
    checked: the CSRF token, an analyst refused (they read the lists; owners work them),
    and the owner (``owner_of()``) within the user's reach; 403 otherwise."""
    form = await read_form(request)
    check_csrf(request, user, form)
    if user.role == "analyst":
        raise PermissionDeniedError("an analyst reads the lists; the owners work them")
    owner = await run_in_threadpool(owner_of)
    if not may_record(ws, user, owner):
        raise PermissionDeniedError(f"{what} is not yours")
    return form, owner
