"""Sale and refund keys that no two partners share.

A sale's natural key was ``transaction:{partner or '-'}:{transaction}`` and a refund's
``refund:{partner or '-'}:{refund_id}``; both ids may hold ``:``, so partner ``acme``'s sale
``uk:c1`` and partner ``acme:uk``'s sale ``c1`` had one key, and a partner named ``-`` shared
the tills' keys. Each part now escapes ``\\`` and ``:`` with a backslash and a partner named
``-`` is ``\\-`` (`cvm.programme.idempotency.natural_key`). Only the rows whose ids hold
such characters change; ordinary keys read as before. No schema change.

The downgrade writes the old keys back; it fails on the unique index if two sales booked
since the upgrade share an old key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPS = sa.table("operations", sa.column("op_id", sa.BigInteger), sa.column("kind", sa.String),
                sa.column("natural_key", sa.String), sa.column("partner_id", sa.String),
                sa.column("source_txn", sa.String))


def _part(value):
    if value is None:
        return "-"
    if value == "-":
        return "\\-"
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _old_part(value):
    return value or "-"


def _rows(conn, upgrading: bool):
    """(op_id, kind, natural key, partner, id) of the sales and refunds whose key changes:
    on the way up those whose ids hold ``:`` or ``\\`` or whose partner is ``-`` (every
    refund with a key: its id is only in the key), on the way down those with escapes."""
    o = _OPS.c
    if upgrading:
        odd = [c.contains(ch, autoescape=True) for c in (o.partner_id, o.source_txn)
               for ch in (":", "\\")]
        which = sa.or_(o.kind == "refund", o.partner_id == "-", *odd)
    else:
        which = o.natural_key.contains("\\", autoescape=True)
    rows = conn.execute(sa.select(o.op_id, o.kind, o.natural_key, o.partner_id, o.source_txn)
                        .where(o.kind.in_(("earn", "refund")), o.natural_key.is_not(None),
                               which))
    return rows.all()


def _rewrite(new_key, upgrading: bool) -> None:
    conn = op.get_bind()
    changes = []
    for op_id, kind, key, partner, txn in _rows(conn, upgrading):
        key2 = new_key(kind, key, partner, txn)
        if key2 != key:
            changes.append({"b_op_id": op_id, "b_key": key2})
    if changes:
        conn.execute(sa.update(_OPS).where(_OPS.c.op_id == sa.bindparam("b_op_id"))
                     .values(natural_key=sa.bindparam("b_key")), changes)


def upgrade() -> None:
    def new_key(kind, key, partner, txn):
        if kind == "earn":
            return f"transaction:{_part(partner)}:{_part(txn)}"
        refund_id = key[len(f"refund:{_old_part(partner)}:"):]
        return f"refund:{_part(partner)}:{_part(refund_id)}"
    _rewrite(new_key, True)


def downgrade() -> None:
    def old_key(kind, key, partner, txn):
        if kind == "earn":
            return f"transaction:{_old_part(partner)}:{txn}"
        refund_id = key[len(f"refund:{_part(partner)}:"):]
        refund_id = re.sub(r"\\(.)", r"\1", refund_id)
        return f"refund:{_old_part(partner)}:{refund_id}"
    _rewrite(old_key, False)
