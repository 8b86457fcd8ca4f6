"""API keys: shown once when made, stored only as a SHA-256 hash, each with one role.

A key reads ``cvm_<key id>_<secret>``; the key id finds the row and the secret is checked
against its hash in constant time. The secret is 256 random bits, so a plain SHA-256 (no
slow password hash) cannot be brute-forced. A key may expire (``expires_at``); a revoked or
expired key is refused.

Every request reads its key's row (`AUTHENTICATE`, one statement by primary key): a key
revoked by any server process is refused by all of them from the next request on. The
same read brings the partner's `require_member_proof` and the key's failed member
look-ups of the current minute (`lookup_blocked`, `record_lookup_failure`): the rate limit
is kept in the database, so it holds across server processes.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, case, insert, select, update

from cvm.errors import AuthenticationError, InputError, NotFoundError
from cvm.store.tables import api_keys, partners

__all__ = ["ROLES", "LIMITED_ROLES", "LOOKUP_WINDOW", "AUTHENTICATE", "Principal",
           "create_key", "key_id_of", "authenticate", "revoke_key", "list_keys",
           "lookup_blocked", "record_lookup_failure"]

ROLES = ("admin", "staff", "till", "partner")
#: roles whose failed member look-ups are counted and limited (an admin key can list and
#: change everything anyway)
LIMITED_ROLES = ("staff", "till", "partner")
#: the rate limit's window: failures are counted per key and minute
LOOKUP_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, role and (for partner keys) partner, whether that
    partner requires a member's proof of presence, and the key's failed member look-ups in
    the window that began at `failures_since`, as read with the key."""

    key_id: str
    role: str
    partner_id: str | None = None
    require_member_proof: bool = False
    lookup_failures: int = 0
    failures_since: datetime | None = None
    #: the key's name: for a staff key, the person (the owner of opportunities and cases)
    name: str = ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, role: str, now: datetime, *, partner_id: str | None = None,
               name: str = "", expires_at: datetime | None = None) -> str:
    """Make a key and return its full text; only its hash is stored. `expires_at`: the
    moment it stops working (timezone-aware, in the future), or None for never."""
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if (role == "partner") != (partner_id is not None):
        raise InputError("a partner key needs --partner ID, and only a partner key takes one")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InputError(f"expires_at {expires_at.isoformat()} has no time zone; give "
                             "one (e.g. 2026-12-31T00:00:00Z)")
        if expires_at <= now:
            raise InputError(f"expires_at {expires_at.isoformat()} is not in the future")
    if partner_id is not None and conn.execute(
            select(partners.c.partner_id).where(partners.c.partner_id == partner_id)
    ).first() is None:
        raise NotFoundError(f"partner {partner_id!r} not found; add it first")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    conn.execute(insert(api_keys).values(key_id=key_id, key_hash=_digest(secret), role=role,
                                         partner_id=partner_id, name=name, created_at=now,
                                         expires_at=expires_at))
    return f"cvm_{key_id}_{secret}"


#: a key's row with its partner's proof requirement: the one read of every request
AUTHENTICATE = (
    select(api_keys.c.key_id, api_keys.c.key_hash, api_keys.c.role, api_keys.c.partner_id,
           api_keys.c.revoked_at, api_keys.c.expires_at, api_keys.c.lookup_failures,
           api_keys.c.failures_since, partners.c.require_member_proof, api_keys.c.name)
    .select_from(api_keys.outerjoin(partners, partners.c.partner_id == api_keys.c.partner_id))
    .where(api_keys.c.key_id == bindparam("key_id")))


def key_id_of(token: str | None) -> str:
    """The key id of a key's text; `AuthenticationError` (401) if missing or malformed."""
    if not token:
        raise AuthenticationError(
            "missing API key: send the header 'Authorization: Bearer <key>'")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cvm":
        raise AuthenticationError("malformed API key: expected cvm_<id>_<secret>")
    return parts[1]


def authenticate(rows: list[Any], token: str, now: datetime) -> Principal:
    """The principal of `token`, given the rows `AUTHENTICATE` read for its key id;
    `AuthenticationError` (401) if unknown, wrong, revoked or expired."""
    secret = token.split("_", 2)[2]
    row = rows[0] if rows else None
    if row is None or row.revoked_at is not None or not hmac.compare_digest(
            row.key_hash, _digest(secret)):
        raise AuthenticationError("unknown or revoked API key")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError(f"API key expired at {row.expires_at.isoformat()}; ask "
                                  "an admin for a new one")
    return Principal(row.key_id, row.role, row.partner_id,
                     bool(row.require_member_proof) if row.partner_id else False,
                     row.lookup_failures, row.failures_since, row.name or "")


def revoke_key(conn: Connection, key_id: str, now: datetime) -> None:
    done = conn.execute(update(api_keys).where(api_keys.c.key_id == key_id,
                                               api_keys.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount
    if not done:
        raise NotFoundError(f"no active API key with id {key_id!r}")


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every key, oldest first: id, name, role, partner, created, expires, revoked (never
    the secret or its hash)."""
    k = api_keys.c
    return [dict(r) for r in conn.execute(
        select(k.key_id, k.name, k.role, k.partner_id, k.created_at, k.expires_at,
               k.revoked_at).order_by(k.created_at, k.key_id)).mappings()]


def lookup_blocked(principal: Principal, limit: int, now: datetime) -> int | None:
    """Seconds until `principal` may look members up again when its key has had `limit`
    failed look-ups in the current window, else None."""
    if principal.role not in LIMITED_ROLES or principal.failures_since is None:
        return None
    ends = principal.failures_since + LOOKUP_WINDOW
    if principal.lookup_failures < limit or ends <= now:
        return None
    return max(1, math.ceil((ends - now).total_seconds()))


def record_lookup_failure(conn: Connection, key_id: str, now: datetime) -> None:
    """Count a failed member look-up of a key: the first of a new window starts it."""
    k = api_keys.c
    fresh = (k.failures_since.is_(None)) | (k.failures_since <= now - LOOKUP_WINDOW)
    conn.execute(update(api_keys).where(k.key_id == key_id).values(
        lookup_failures=case((fresh, 1), else_=k.lookup_failures + 1),
        failures_since=case((fresh, now), else_=k.failures_since)))
