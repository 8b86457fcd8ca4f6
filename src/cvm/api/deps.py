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
    "MemberProof",
    "role",
    "check_key",
    "Bearer",
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

#: the credentials of ``Authorization: Bearer <key>``, or None
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

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

MemberProof = Annotated[
    str | None,
    Header(
        alias="X-Member-Proof",
        min_length=1,
        max_length=200,
        description="The member's card token or one-time code: required from the keys of a "
        "partner with require_member_proof (balance, statement, redeem); a missing or wrong "
        "one is answered as an unknown member (404).",
    ),
]


async def check_key(request: Request, prog: Programme, token: str | None,
                    allowed: tuple[str, ...]) -> Principal:
    """The `Principal` of an API key: `AuthenticationError` (401) without a valid key,
    `PermissionDeniedError` (403) if its role is not one of `allowed`."""
    # a request with a body was authenticated by `cvm.api.guard.Guard` before it was
    # read; any other is here, from a worker thread (the key's row is read every time,
    # so a revoked key is refused at once by every server process)
    principal = request.scope.get(PRINCIPAL)
    if principal is None:
        principal = await run_in_threadpool(prog.authenticate, token)
        request.scope[PRINCIPAL] = principal   # for the count of failed look-ups
    if principal.role not in allowed:
        raise PermissionDeniedError(
            f"a {principal.role} key may not {request.method} {request.url.path}; "
            f"allowed roles: {', '.join(allowed)}"
        )
    if "member_id" in request.path_params:
        prog.check_lookups(principal)   # 429 after too many failed look-ups
    return principal


def role(*allowed: str):
    """The type of a parameter holding the caller's `Principal`: 401 without a valid key, 403 if its
    role is not one of `allowed`."""

    async def dependency(
        request: Request,
        prog: Prog,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return await check_key(request, prog, creds.credentials if creds else None, allowed)

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
