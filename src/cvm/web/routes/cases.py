"""``/cases``: the cases a user may see (staff their own, a manager the team's, analysts and
admins all), waiting ones first by due time, with a form to move each on: ``POST
/cases/{case_id}`` (status, coded root cause, action taken, note). What the life cycle
refuses (resolving without a root cause, a move it does not allow) is shown on the page
beside the case."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cvm.cases.lifecycle import NEXT, OPEN_STATUSES
from cvm.errors import InputError
from cvm.users import Session
from cvm.web.auth import page_user
from cvm.web.render import EVERYONE, page, records
from cvm.web.routes._common import work_form

__all__ = ["router", "SHOWN", "ROW_LIMIT"]

router = APIRouter(include_in_schema=False)

#: At most this many cases on the page, due first.
ROW_LIMIT = 200
#: What ``?show=`` may ask for: the cases still waiting (the default), the overdue ones,
#: or every case.
SHOWN = ("waiting", "overdue", "all")


def _visible(ws, user: Session, show: str) -> tuple[pd.DataFrame, int]:
    """The first `ROW_LIMIT` cases the user may see, due first, and how many there are."""
    owners = ws.users.work_owners(user)
    status = None if show == "all" else list(OPEN_STATUSES)
    df = ws.cases.list(None, status, show == "overdue", owners=owners, limit=ROW_LIMIT)
    counts = ws.cases.counts(status, owners)
    total = int(counts["overdue" if show == "overdue" else "cases"].sum())
    return df, total


def _detail(details) -> str:
    if not isinstance(details, dict):
        return "" if details is None else str(details)
    return ", ".join(f"{k}: {v}" for k, v in details.items() if v is not None)


def _cases_page(request: Request, ws, user: Session, show: str, status_code: int = 200,
                error: str | None = None, error_case: int | None = None,
                done: int | None = None):
    df, total = _visible(ws, user, show)
    rows = records(df)
    for r in rows:
        r["details_text"] = _detail(r["details"])
        r["next"] = NEXT.get(r["status"], ())
    return page(request, "cases.html", status_code=status_code, title="Cases", rows=rows,
                total=total, limit=ROW_LIMIT,
                show=show, shown=SHOWN, error=error, error_case=error_case, done=done,
                can_move=user.role != "analyst",
                root_causes=ws.settings.cases.root_causes)


def _show(request: Request) -> str:
    show = request.query_params.get("show") or "waiting"
    if show not in SHOWN:
        raise InputError(f"show {show!r} is not one of: {', '.join(SHOWN)}")
    return show


@router.get("/cases")
async def cases(request: Request, user: page_user(*EVERYONE)):
    ws = request.app.state.workspace
    done = request.query_params.get("done")
    return await run_in_threadpool(_cases_page, request, ws, user, _show(request),
                                   done=int(done) if done and done.isdigit() else None)


@router.post("/cases/{case_id}")
async def move_case(request: Request, case_id: int, user: page_user(*EVERYONE)):
    """Move one case on; back to the list, or the list with what the life cycle refused."""
    ws = request.app.state.workspace
    form, _ = await work_form(request, ws, user, lambda: ws.cases.owner_of(case_id),
                              f"case {case_id}")
    status = form.get("status", "")
    show = form.get("show") if form.get("show") in SHOWN else "waiting"
    try:
        await run_in_threadpool(ws.cases.update, case_id, status, user.username,
                                form.get("root_cause") or None,
                                form.get("action") or None, form.get("note", ""))
    except InputError as exc:
        return await run_in_threadpool(_cases_page, request, ws, user, show, 422, str(exc),
                                       case_id)
    return RedirectResponse(f"/cases?show={show}&done={case_id}", status_code=303)
