"""Member routes: enrol, balance, statement, earn, redeem, refund, reverse, adjust, tier,
card tokens and one-time codes."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from cvm.api.deps import (
    AdminKey,
    AnyKey,
    IdemKey,
    MemberProof,
    Prog,
    ReaderKey,
    StaffKey,
    TillKey,
    idem_scope,
)
from cvm.api.schemas import (
    AdjustIn,
    CodeIn,
    EarnIn,
    FloorIn,
    MemberIn,
    RedeemIn,
    RefundIn,
    ReverseIn,
)
from cvm.programme.apikeys import Principal

router = APIRouter(prefix="/members", tags=["members"])
MemberId = Annotated[str, Path(min_length=1, max_length=64)]


def _created(result: dict[str, Any]) -> JSONResponse:
    """201 with the operation's answer, already JSON-ready (as stored for replays): sent as is,
    without FastAPI's re-validation of a plain dict."""
    headers = {"Idempotent-Replayed": "true"} if result.get("replayed") else None
    return JSONResponse(result, status_code=201, headers=headers)


class _Json(JSONResponse):
    """JSON with datetimes as FastAPI would write them (ISO 8601, UTC as ``Z``), rendered by
    the json module: a read's answer is sent without FastAPI's re-validation of a dict."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"),
                          default=_jsonable).encode()


def _jsonable(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


#: a member's balance and statement are kept by no cache (a proxy's, a browser's)
_PRIVATE = {"Cache-Control": "no-store"}


def _actor(p: Principal) -> str:
    return f"{p.role}:{p.key_id}"


@router.post("", status_code=201)
def create_member(
    body: MemberIn, prog: Prog, who: TillKey, key: IdemKey = None
) -> dict[str, Any]:
    """Enrol a member."""
    return _created(
        prog.create_member(
            body.member_id, body.joined_on, idem_key=idem_scope(who, key), actor=_actor(who)
        ),
    )


@router.get("/{member_id}")
def get_member(member_id: MemberId, prog: Prog, who: StaffKey) -> dict:
    """A member: tier, floor, and the tier's benefits."""
    return prog.member(member_id)


@router.get("/{member_id}/balance")
def get_balance(member_id: MemberId, prog: Prog, who: AnyKey, proof: MemberProof = None) -> dict:
    """Active, pending, spent, expired, lapsed (past expiry, not yet booked as expired) and
    negative points, from the ledger."""
    return _Json(prog.balance(member_id, proof=proof, require_proof=who.require_member_proof),
                 headers=_PRIVATE)


@router.get("/{member_id}/statement")
def get_statement(
    member_id: MemberId,
    prog: Prog,
    who: ReaderKey,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    proof: MemberProof = None,
) -> dict:
    """The member's ledger entries in order (a partner sees only its own)."""
    return _Json(prog.statement(member_id, partner_id=who.partner_id, limit=limit,
                                after=after, proof=proof,
                                require_proof=who.require_member_proof), headers=_PRIVATE)


@router.post("/{member_id}/earn", status_code=201)
def earn(
    member_id: MemberId,
    body: EarnIn,
    prog: Prog,
    who: AnyKey,
    key: IdemKey = None,
) -> dict:
    """Book the points a purchase earns by the earning rules."""
    return _created(
        prog.earn(
            member_id,
            body.transaction_id,
            body.amount,
            product=body.product,
            channel=body.channel,
            partner_id=who.partner_id,
            idem_key=idem_scope(who, key),
            actor=_actor(who),
        ),
    )


@router.post(
    "/{member_id}/redeem",
    status_code=201,
    responses={409: {"description": "Active balance too low"}},
)
def redeem(
    member_id: MemberId,
    body: RedeemIn,
    prog: Prog,
    who: AnyKey,
    key: IdemKey = None,
    proof: MemberProof = None,
) -> dict:
    """Spend active points (oldest first) or buy a catalogue item."""
    return _created(
        prog.redeem(
            member_id,
            body.points,
            item=body.item,
            reason=body.reason,
            partner_id=who.partner_id,
            proof=proof,
            require_proof=who.require_member_proof,
            idem_key=idem_scope(who, key),
            actor=_actor(who),
        ),
    )


@router.post("/{member_id}/refund", status_code=201)
def refund(
    member_id: MemberId,
    body: RefundIn,
    prog: Prog,
    who: AnyKey,
    key: IdemKey = None,
) -> dict:
    """Reverse a purchase's points, in full or in proportion to a partial refund."""
    return _created(
        prog.refund(
            member_id,
            body.transaction_id,
            body.amount,
            refund_id=body.refund_id,
            partner_id=who.partner_id,
            idem_key=idem_scope(who, key),
            actor=_actor(who),
        ),
    )


@router.post("/{member_id}/reverse", status_code=201)
def reverse(
    member_id: MemberId,
    body: ReverseIn,
    prog: Prog,
    who: StaffKey,
    key: IdemKey = None,
) -> dict:
    """Cancel a redemption: its points come back once."""
    return _created(
        prog.reverse(
            member_id,
            body.operation_id,
            body.reason,
            idem_key=idem_scope(who, key),
            actor=_actor(who),
        ),
    )


@router.post("/{member_id}/adjust", status_code=201)
def adjust(
    member_id: MemberId,
    body: AdjustIn,
    prog: Prog,
    who: StaffKey,
    key: IdemKey = None,
) -> dict:
    """A manual correction with its reason (staff and admin only)."""
    return _created(
        prog.adjust(
            member_id, body.points, body.reason, idem_key=idem_scope(who, key), actor=_actor(who)
        ),
    )


@router.put("/{member_id}/tier-floor")
def set_floor(
    member_id: MemberId, body: FloorIn, prog: Prog, who: AdminKey, key: IdemKey = None
) -> dict:
    """Give a manual or invitation tier as a floor (null removes it)."""
    change = prog.set_tier_floor(member_id, body.tier, body.reason)
    return {"member_id": member_id, "floor": body.tier, "change": change}


@router.get("/{member_id}/tier-history")
def tier_history(member_id: MemberId, prog: Prog, who: StaffKey) -> list:
    """Every tier change of the member, oldest first."""
    return prog.tier_history(member_id)


@router.post("/{member_id}/card", status_code=201)
def issue_card(member_id: MemberId, prog: Prog, who: AdminKey) -> dict:
    """Issue the member's card token, or a new one (the old card stops working); the answer
    is the only time it is shown."""
    return _Json(prog.issue_card(member_id), status_code=201, headers=_PRIVATE)


@router.post("/{member_id}/codes", status_code=201)
def issue_code(member_id: MemberId, prog: Prog, who: StaffKey, body: CodeIn | None = None
               ) -> dict:
    """A one-time code for the member to show a partner: valid for reads until it expires
    and for one redemption; earlier unused codes stop working."""
    minutes = body.minutes if body is not None else CodeIn().minutes
    return _Json(prog.issue_code(member_id, minutes), status_code=201, headers=_PRIVATE)
