"""An index on opportunities (as_of, priority): the lists show a day's opportunities
highest priority first, at most a page at a time; without it every view sorted the whole
day (201,355 rows on the 1M-customer demo).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_opportunities_as_of_priority", "opportunities", ["as_of", "priority"])


def downgrade() -> None:
    op.drop_index("ix_opportunities_as_of_priority", table_name="opportunities")
