"""Members' proofs of presence: a card token and one-time codes.

A partner that requires it (``partners.require_member_proof``) must show one with a
redemption and with a read of a member's balance or statement, so that knowing (or guessing)
a member id is not enough to read or spend the member's points.

* A **card token** (``cvmcard_`` and 43 characters: 256 random bits) is issued, or rotated,
  by an admin and printed on the member's card or held by the member's app. One is active
  per member; issuing a new one revokes the old (a lost card). It does not expire.
* A **one-time code** (8 digits) is made for a member on demand (the member's app asks for
  one through a staff key) and lives `CODE_MINUTES` (at most `MAX_CODE_MINUTES`): it proves
  presence for reads until it expires and for one redemption, which spends it. A new code
  revokes the member's earlier unused ones.

Only ``sha256(member_id:secret)`` is stored. A missing, wrong, spent or expired proof is
answered exactly like an unknown member (`MemberNotFoundError`, 404): the answer says
nothing about whether the id exists. Codes are short, so guessing is bounded by their
lifetime and by the rate limit on failed look-ups (`cvm.programme.apikeys`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from cvm.errors import InputError, NotFoundError
from cvm.store.tables import member_proofs, members

__all__ = ["CARD_PREFIX", "CODE_DIGITS", "CODE_MINUTES", "MAX_CODE_MINUTES", "PROOF",
           "MemberNotFoundError", "no_member", "secret_hash", "issue_card", "issue_code",
           "params", "find", "check", "spend"]

CARD_PREFIX = "cvmcard_"
CODE_DIGITS = 8
CODE_MINUTES = 10
MAX_CODE_MINUTES = 60

P = member_proofs.c


class MemberNotFoundError(NotFoundError):
    """No such member, or the member's presence was not proven: the same answer (404)."""


def no_member(member_id: str, *, write: bool = False) -> MemberNotFoundError:
    """The refusal for a member that does not exist or is not proven present: the same text
    either way (a write's adds how to create one)."""
    if write:
        return MemberNotFoundError(f"member {member_id!r} not found; create it first "
                                   "(POST /api/v1/members or Programme.create_member)")
    return MemberNotFoundError(f"member {member_id!r} not found")


def secret_hash(member_id: str, secret: str) -> str:
    """What is stored of a member's card token or code."""
    return hashlib.sha256(f"{member_id}:{secret}".encode()).hexdigest()


#: the member's proof matching a secret, not revoked nor expired (an unused one first)
PROOF = (select(P.proof_id, P.kind, P.used_at)
         .where(P.member_id == bindparam("member_id"), P.secret_hash == bindparam("hash"),
                P.revoked_at.is_(None),
                or_(P.expires_at.is_(None), P.expires_at > bindparam("now")))
         .order_by(P.used_at.is_not(None), P.proof_id.desc())
         .limit(1))
_SPEND = (update(member_proofs).where(P.proof_id == bindparam("b_proof_id"))
          .values(used_at=bindparam("b_now")))


def _existing(conn: Connection, member_id: str) -> None:
    if conn.execute(select(members.c.member_id).where(members.c.member_id == member_id)
                    ).first() is None:
        raise no_member(member_id)


def issue_card(conn: Connection, member_id: str, now: datetime) -> str:
    """A new card token for the member (returned once); the member's earlier card stops
    working."""
    _existing(conn, member_id)
    conn.execute(update(member_proofs).where(P.member_id == member_id, P.kind == "card",
                                             P.revoked_at.is_(None)).values(revoked_at=now))
    token = CARD_PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(member_proofs).values(
        member_id=member_id, kind="card", secret_hash=secret_hash(member_id, token),
        created_at=now))
    return token


def issue_code(conn: Connection, member_id: str, now: datetime,
               minutes: int = CODE_MINUTES) -> tuple[str, datetime]:
    """A new one-time code for the member and when it expires; the member's earlier unused
    codes stop working."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
            1 <= minutes <= MAX_CODE_MINUTES):
        raise InputError(f"a code lives 1 to {MAX_CODE_MINUTES} minutes, not {minutes!r}")
    _existing(conn, member_id)
    conn.execute(update(member_proofs).where(
        P.member_id == member_id, P.kind == "code", P.revoked_at.is_(None),
        P.used_at.is_(None)).values(revoked_at=now))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    expires = now + timedelta(minutes=minutes)
    conn.execute(insert(member_proofs).values(
        member_id=member_id, kind="code", secret_hash=secret_hash(member_id, code),
        created_at=now, expires_at=expires))
    return code, expires


def params(member_id: str, proof: str | None, now: datetime) -> dict[str, Any]:
    """The parameters of `PROOF` for a proof given (also those a write prefetches it with)."""
    return {"member_id": member_id, "hash": secret_hash(member_id, proof or ""), "now": now}


def find(tx: Any, member_id: str, proof: str | None, now: datetime) -> Any | None:
    """The member's card or code that `proof` is, if neither revoked nor expired (a used
    code too: a redemption's retry replays its answer), else None. `tx` is a
    `cvm.programme.batching.Tx`."""
    rows = tx.rows(PROOF, params(member_id, proof, now)) if proof else []
    return rows[0] if rows else None


def check(tx: Any, member_id: str, proof: str | None, now: datetime) -> None:
    """Refuse a read (`no_member`) unless `proof` is the member's card or an unused live
    code."""
    found = find(tx, member_id, proof, now)
    if found is None or found.used_at is not None:
        raise no_member(member_id)


def spend(tx: Any, member_id: str, found: Any | None, now: datetime) -> None:
    """Take `found` (what `find` gave) as the proof of a redemption: refused (`no_member`)
    if there is none or it is a used code; a code is used up, in the caller's
    transaction."""
    if found is None or found.used_at is not None:
        raise no_member(member_id, write=True)
    if found.kind == "code":
        tx.queue(_SPEND, {"b_proof_id": found.proof_id, "b_now": now})
