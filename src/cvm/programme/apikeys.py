"""API keys: shown once when made, stored only as a SHA-256 hash, each with one role.

A key reads ``cvm_<key id>_<secret>``; the key id finds the row and the secret is checked
against its hash in constant time. The secret is 256 random bits, so a plain SHA-256 (no
slow password hash) cannot be brute-forced.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from cvm.errors import AuthenticationError, InputError, NotFoundError
from cvm.store.tables import api_keys, partners

__all__ = ["ROLES", "Principal", "create_key", "authenticate", "revoke_key"]

ROLES = ("admin", "staff", "till", "partner")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, role and (for partner keys) partner."""

    key_id: str
    role: str
    partner_id: str | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: Connection, role: str, now: datetime, *, partner_id: str | None = None,
               name: str = "") -> str:
    """Make a key and return its full text; only its hash is stored."""
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if (role == "partner") != (partner_id is not None):
        raise InputError("a partner key needs --partner ID, and only a partner key takes one")
    if partner_id is not None and conn.execute(
            select(partners.c.partner_id).where(partners.c.partner_id == partner_id)
    ).first() is None:
        raise NotFoundError(f"partner {partner_id!r} not found; add it first")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    conn.execute(insert(api_keys).values(key_id=key_id, key_hash=_digest(secret), role=role,
                                         partner_id=partner_id, name=name, created_at=now))
    return f"cvm_{key_id}_{secret}"


def authenticate(conn: Connection, token: str | None) -> Principal:
    """The principal a key belongs to; `AuthenticationError` (401) if missing or wrong."""
    if not token:
        raise AuthenticationError(
            "missing API key: send the header 'Authorization: Bearer <key>'")
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "cvm":
        raise AuthenticationError("malformed API key: expected cvm_<id>_<secret>")
    row = conn.execute(select(api_keys).where(api_keys.c.key_id == parts[1])).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(
            row.key_hash, _digest(parts[2])):
        raise AuthenticationError("unknown or revoked API key")
    return Principal(row.key_id, row.role, row.partner_id)


def revoke_key(conn: Connection, key_id: str, now: datetime) -> None:
    done = conn.execute(update(api_keys).where(api_keys.c.key_id == key_id,
                                               api_keys.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount
    if not done:
        raise NotFoundError(f"no active API key with id {key_id!r}")
