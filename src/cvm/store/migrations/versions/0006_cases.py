"""Cases of the closed loop and their history.

* ``cases``: one per trigger (``trigger_key`` unique: a detractor answer, a complaint, a
  breach), with owner, due time, status, the coded root cause and the action taken.
* ``case_events``: every change of a case (who, when, from and to which status, a note).

The downgrade drops both.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from cvm.store.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", Id, autoincrement=True, nullable=False),
        sa.Column("trigger_key", sa.String(300), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("root_cause", sa.String(64), nullable=True),
        sa.Column("action_taken", sa.Text, nullable=True),
        sa.Column("escalated_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.CheckConstraint("trigger IN ('detractor', 'complaint', 'breach')",
                           name="ck_cases_trigger"),
        sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed', "
                           "'reopened')", name="ck_cases_status"),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
        sa.UniqueConstraint("trigger_key", name="uq_cases_trigger_key"),
    )
    op.create_index("ix_cases_owner_status", "cases", ["owner", "status"])
    op.create_index("ix_cases_customer_id", "cases", ["customer_id"])
    op.create_table(
        "case_events",
        sa.Column("event_id", Id, autoincrement=True, nullable=False),
        sa.Column("case_id", Id, sa.ForeignKey("cases.case_id",
                                               name="fk_case_events_case_id_cases"),
                  nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_case_events"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("cases")
