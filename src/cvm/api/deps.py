"""Request dependencies: the programme, the caller's key and role, the idempotency key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cvm.api.guard import PRINCIPAL
from cvm.errors import PermissionDeniedError
from cvm.programme import Programme
from cvm.programme.apikeys import ROLES, Principal

__all__ = [
    "Prog",
    "IdemKey",
    "role",
    "ANY",
    "STAFF",
    "idem_scope",
    "own_partner",
    "own_partner_or_staff",
    "AnyKey",
    "StaffKey",
    "AdminKey",
    "TillKey",
    "ReaderKey",
]

_bearer = HTTPBearer(auto_error=False, description="An API key: cvm_<id>_<secret>")

ANY = ROLES
STAFF = ("admin", "staff")


async def _programme(request: Request) -> Programme:
    return request.app.state.programme


Prog = Annotated[Programme, Depends(_programme)]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string; a retried write with the same key returns the first "
        "answer and books nothing.",
    ),
]


def role(*allowed: str):
    """The type of a parameter holding the caller's `Principal`: 401 without a valid key, 403 if its
    role is not one of `allowed`."""

    async def dependency(
        request: Request,
        prog: Prog,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        # async: a key verified in the last few seconds is answered on the event loop, without
        # a hop to the thread pool; otherwise the database is asked from a worker thread
        # a request with a body was authenticated by `cvm.api.guard.Guard` before it was read
        principal = request.scope.get(PRINCIPAL)
        token = creds.credentials if creds else None
        if principal is None:
            principal = prog.cached_principal(token)
        if principal is None:
            principal = await run_in_threadpool(prog.authenticate, token)
        if principal.role not in allowed:
            raise PermissionDeniedError(
                f"a {principal.role} key may not {request.method} {request.url.path}; "
                f"allowed roles: {', '.join(allowed)}"
            )
        return principal

    return Annotated[Principal, Depends(dependency)]


AnyKey = role(*ANY)
StaffKey = role(*STAFF)
AdminKey = role("admin")
TillKey = role("admin", "staff", "till")
ReaderKey = role("admin", "staff", "partner")


def idem_scope(principal: Principal, key: str | None) -> str | None:
    """Idempotency keys are scoped to the API key that sent them."""
    return None if key is None else f"{principal.key_id}:{key}"


def own_partner(principal: Principal, partner_id: str) -> None:
    """A partner key may only look at its own partner's data."""
    if principal.role == "partner" and principal.partner_id != partner_id:
        raise PermissionDeniedError(
            f"partner key of {principal.partner_id!r} may not read partner {partner_id!r}"
        )


def own_partner_or_staff(principal: Principal, partner_id: str) -> None:
    """A partner key may read its own partner's data; otherwise only staff and admin may."""
    if principal.role == "partner":
        own_partner(principal, partner_id)
    elif principal.role not in STAFF:
        raise PermissionDeniedError(f"a {principal.role} key may not read partners")
