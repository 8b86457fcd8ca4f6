"""Opportunities from the monthly scores and the outcomes staff record.

* ``opportunities``: one row per customer, kind and as-of day (`cvm.opportunities`).
* ``opportunity_outcomes``: contacted, accepted, declined (with a reason code), no_answer or
  not_reachable; the latest row is the opportunity's outcome.

The downgrade drops both.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from cvm.store.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "opportunities",
        sa.Column("opportunity_id", sa.String(250), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("line", sa.String(200), nullable=True),
        sa.Column("priority", sa.Float, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("expires", sa.Date, nullable=False),
        sa.Column("control", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", name="pk_opportunities"),
    )
    op.create_index("ix_opportunities_as_of_owner", "opportunities", ["as_of", "owner"])
    op.create_index("ix_opportunities_customer_id_kind", "opportunities",
                    ["customer_id", "kind"])
    op.create_table(
        "opportunity_outcomes",
        sa.Column("outcome_id", Id, autoincrement=True, nullable=False),
        sa.Column("opportunity_id", sa.String(250),
                  sa.ForeignKey("opportunities.opportunity_id",
                                name="fk_opportunity_outcomes_opportunity_id_opportunities"),
                  nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.CheckConstraint("outcome IN ('contacted', 'accepted', 'declined', 'no_answer', "
                           "'not_reachable')", name="ck_opportunity_outcomes_outcome"),
        sa.UniqueConstraint("idempotency_key",
                            name="uq_opportunity_outcomes_idempotency_key"),
        sa.PrimaryKeyConstraint("outcome_id", name="pk_opportunity_outcomes"),
    )
    op.create_index("ix_opportunity_outcomes_opportunity_id", "opportunity_outcomes",
                    ["opportunity_id"])


def downgrade() -> None:
    op.drop_table("opportunity_outcomes")
    op.drop_table("opportunities")
