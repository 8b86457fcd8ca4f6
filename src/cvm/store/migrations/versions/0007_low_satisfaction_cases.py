"""Cases opened by a low satisfaction answer: ``cases.trigger`` may be ``low_satisfaction``.

The check constraint ``ck_cases_trigger`` is widened from (detractor, complaint, breach) to
those and ``low_satisfaction``. PostgreSQL drops and adds the constraint. SQLite cannot alter
a constraint, so ``cases`` is rebuilt (Alembic's batch mode, copying every row); since
``case_events`` refers to ``cases`` and the store keeps foreign keys on (which a migration
inside its transaction cannot turn off), the events are set aside in a plain table, their
table dropped and made again as 0006 made it, and the events copied back with their ids.

The downgrade narrows the constraint again; it fails while a ``low_satisfaction`` case is
stored (delete those first, with their events).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from cvm.store.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

OLD = ("detractor", "complaint", "breach")
NEW = (*OLD, "low_satisfaction")


def _check(triggers: tuple[str, ...]) -> str:
    return "trigger IN (" + ", ".join(f"'{t}'" for t in triggers) + ")"


def _cases(triggers: tuple[str, ...]) -> sa.Table:
    """The ``cases`` table as 0006 made it, with the given triggers allowed (the names of
    its check constraints as the store's naming convention made them there, e.g.
    ``ck_cases_ck_cases_trigger``)."""
    return sa.Table(
        "cases", sa.MetaData(naming_convention={"ck": "ck_%(table_name)s_%(constraint_name)s"}),
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
        sa.CheckConstraint(_check(triggers), name="ck_cases_trigger"),
        sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed', "
                           "'reopened')", name="ck_cases_status"),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
        sa.UniqueConstraint("trigger_key", name="uq_cases_trigger_key"),
        sa.Index("ix_cases_owner_status", "owner", "status"),
        sa.Index("ix_cases_customer_id", "customer_id"),
    )


def _create_case_events() -> None:
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


_EVENT_COLUMNS = 'event_id, case_id, "at", "by", from_status, to_status, note'


def _set_triggers(triggers: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_cases_trigger", "cases", type_="check")
        op.create_check_constraint("ck_cases_trigger", "cases", _check(triggers))
        return
    op.execute(f"CREATE TABLE _case_events_kept AS SELECT {_EVENT_COLUMNS} FROM case_events")
    op.drop_table("case_events")
    with op.batch_alter_table("cases", copy_from=_cases(triggers), recreate="always"):
        pass
    _create_case_events()
    op.execute(f"INSERT INTO case_events ({_EVENT_COLUMNS}) "
               f"SELECT {_EVENT_COLUMNS} FROM _case_events_kept ORDER BY event_id")
    op.drop_table("_case_events_kept")


def upgrade() -> None:
    _set_triggers(NEW)


def downgrade() -> None:
    _set_triggers(OLD)
