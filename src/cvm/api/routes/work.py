"""Work for staff: their opportunity lists and outcomes, their cases.

A staff key is a person: its name is the owner of opportunities and cases (create it with
``cvm programme apikey --role staff --name li.wei``). A staff key sees and changes only its
own (another owner's opportunity or case is 403); an admin key sees and changes all, and
sees the control group too. Served from a workspace (``cvm programme serve``, ``cvm serve``).

The two lists also answer a logged-in user of the pages (their session cookie, no key):
staff their own, a manager their team's, analysts and admins all (`cvm.users`); the
control group only to analysts and admins. Changes stay with keys (and the pages' forms).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cvm.api.deps import STAFF, Bearer, IdemKey, Prog, StaffKey, check_key
from cvm.api.schemas import CaseUpdateIn, OutcomeIn
from cvm.errors import AuthenticationError, PermissionDeniedError, WorkspaceError
from cvm.programme.apikeys import Principal
from cvm.users import SESSION_COOKIE

router = APIRouter(tags=["work"])


def _ws(prog):
    ws = getattr(prog, "workspace", None)
    if ws is None:
        raise WorkspaceError("opportunities and cases are served from a workspace: start the "
                             "server with `cvm programme serve --workspace DIR`")
    return ws


def _owner(principal: Principal) -> str | None:
    """The owner a key acts as: a staff key's name (None for an admin: everyone)."""
    if principal.role == "admin":
        return None
    if not principal.name:
        raise PermissionDeniedError("this staff key has no name, so it owns no work; create "
                                    "one with --name PERSON")
    return principal.name


async def _readers(request: Request, prog: Prog, creds: Bearer
                   ) -> tuple[list[str] | None, bool]:
    """Whose work the caller may read (None: everyone) and whether the control group too:
    from an API key when one is sent, else from the pages' session cookie."""
    if creds is not None or SESSION_COOKIE not in request.cookies:
        principal = await check_key(request, prog, creds.credentials if creds else None,
                                    STAFF)
        owner = _owner(principal)
        return (None if owner is None else [owner]), owner is None
    ws = _ws(prog)
    session = await run_in_threadpool(ws.users.session, request.cookies[SESSION_COOKIE])
    if session is None:
        raise AuthenticationError("the session has ended; log in again")
    owners = await run_in_threadpool(ws.users.work_owners, session)
    return owners, session.role in ("admin", "analyst")


Readers = Annotated[tuple[list[str] | None, bool], Depends(_readers)]


def _json(rows: list[dict[str, Any]]) -> JSONResponse:
    def default(v):
        if isinstance(v, dt.datetime | dt.date):
            return v.isoformat()
        return str(v)

    body = json.loads(json.dumps(rows, default=default, ensure_ascii=False))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _records(df) -> list[dict[str, Any]]:
    return [{k: (None if v != v else v) if isinstance(v, float) else v for k, v in r.items()}
            for r in df.to_dict("records")]


@router.get("/opportunities", summary="Opportunities of a day: the caller's own (or team's)")
def list_opportunities(prog: Prog, readers: Readers,
                       as_of: Annotated[dt.date, Query(description="The scored day.")],
                       lang: Annotated[str, Query(pattern="^(en|zh-CN)$")] = "en"
                       ) -> JSONResponse:
    owners, control = readers
    ops = _ws(prog).opportunities
    if owners is not None and len(owners) == 1:
        df = ops.list(as_of, owner=owners[0], lang=lang, include_control=control)
    else:
        df = ops.list(as_of, lang=lang, include_control=control)
        if owners is not None:
            df = df[df["owner"].isin(owners)]
    return _json(_records(df))


@router.post("/opportunities/{opportunity_id}/outcomes", status_code=201,
             summary="Record what happened (idempotent with an Idempotency-Key)")
def record_outcome(prog: Prog, principal: StaffKey, body: OutcomeIn,
                   opportunity_id: Annotated[str, Path(min_length=1, max_length=250)],
                   idem: IdemKey = None) -> JSONResponse:
    owner = _owner(principal)
    ops = _ws(prog).opportunities
    if owner is not None:
        mine = ops.owner_of(opportunity_id)
        if mine != owner:
            raise PermissionDeniedError(f"opportunity {opportunity_id!r} is not yours")
    key = None if idem is None else f"{principal.key_id}:{idem}"
    row = ops.record(opportunity_id, body.outcome, body.reason_code,
                     principal.name or principal.key_id, key)
    return JSONResponse(json.loads(json.dumps(row, default=str)), status_code=201)


@router.get("/cases", summary="Cases: the caller's own (or team's)")
def list_cases(prog: Prog, readers: Readers,
               status: Annotated[list[str] | None, Query()] = None,
               overdue: bool = False) -> JSONResponse:
    owners, _ = readers
    cases = _ws(prog).cases
    if owners is not None and len(owners) == 1:
        df = cases.list(owners[0], status, overdue)
    else:
        df = cases.list(None, status, overdue)
        if owners is not None:
            df = df[df["owner"].isin(owners)]
    return _json(_records(df))


@router.patch("/cases/{case_id}", summary="Move a case on")
def update_case(prog: Prog, principal: StaffKey, body: CaseUpdateIn,
                case_id: Annotated[int, Path(ge=1, le=2**53)]) -> JSONResponse:
    owner = _owner(principal)
    cases = _ws(prog).cases
    if owner is not None and cases.owner_of(case_id) != owner:
        raise PermissionDeniedError(f"case {case_id} is not yours")
    row = cases.update(case_id, body.status, principal.name or principal.key_id,
                       body.root_cause, body.action, body.note)
    return _json([row])
