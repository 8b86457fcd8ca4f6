"""Members' proofs of presence, partners that require them, key expiry and look-up limits.

* ``member_proofs``: a member's card token and one-time codes, stored as
  ``sha256(member_id:secret)`` (`cvm.programme.proofs`).
* ``partners.require_member_proof``: the partner's keys must show one to read a member's
  balance or statement or to redeem. Partners made before this revision get ``false``, so
  that their tills keep working until their members hold cards; new ones get ``true``
  unless told otherwise (`cvm.programme.partners.add_partner`).
* ``api_keys.expires_at``: a key refused (401) from then on.
* ``api_keys.lookup_failures`` and ``failures_since``: the key's failed member look-ups in
  the current minute, shared by every server process (`cvm.programme.apikeys`).

The downgrade drops them all: cards and codes are lost, keys no longer expire.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from cvm.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = UtcDateTime


def upgrade() -> None:
    # plain text defaults: SQLite adds such columns in place (ALTER TABLE ADD COLUMN)
    op.add_column("partners", sa.Column("require_member_proof", sa.Boolean, nullable=False,
                                        server_default="0"))
    op.add_column("api_keys", sa.Column("expires_at", Stamp, nullable=True))
    op.add_column("api_keys", sa.Column("lookup_failures", sa.Integer, nullable=False,
                                        server_default="0"))
    op.add_column("api_keys", sa.Column("failures_since", Stamp, nullable=True))
    op.create_table(
        "member_proofs",
        sa.Column("proof_id", Id, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=True),
        sa.Column("used_at", Stamp, nullable=True),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("proof_id", name="pk_member_proofs"),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name="fk_member_proofs_member_id_members"),
        sa.CheckConstraint("kind IN ('card', 'code')", name="ck_member_proofs_kind"),
    )
    op.create_index("ix_member_proofs_member_id_secret_hash", "member_proofs",
                    ["member_id", "secret_hash"])


def downgrade() -> None:
    op.drop_index("ix_member_proofs_member_id_secret_hash", table_name="member_proofs")
    op.drop_table("member_proofs")
    # SQLite (3.35+) drops these columns in place: none is indexed or in a constraint
    for table, column in (("api_keys", "failures_since"), ("api_keys", "lookup_failures"),
                          ("api_keys", "expires_at"), ("partners", "require_member_proof")):
        op.drop_column(table, column)
