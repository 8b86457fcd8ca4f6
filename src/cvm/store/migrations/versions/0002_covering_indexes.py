"""PostgreSQL: a member's lots and allocations read from their indexes alone.

Every write and every balance reads the member's open lots (entries with the points their
allocations used) and entry sums. A member's entries are booked over months, between other
members' ones, so each lies on its own heap page: a member with a few hundred entries cost a
few hundred page visits per write. With the columns those reads need carried in the
indexes (INCLUDE), PostgreSQL answers them by index-only scans wherever the visibility map
marks the pages all-visible, which (auto)vacuum does for all but the newest pages.

SQLite has no INCLUDE; its indexes are unchanged. The new indexes are built before the old
ones are dropped (writes wait while they are built: run it in a quiet hour on a large ledger).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: (table, index, key columns, included columns)
COVERING = (
    ("ledger_entries", "ix_ledger_entries_member_id_entry_id", ["member_id", "entry_id"],
     ["kind", "points", "booked_at", "matures_at", "expires_at"]),
    ("allocations", "ix_allocations_member_id", ["member_id"],
     ["lot_entry_id", "debit_entry_id", "points"]),
)


def _swap(include: bool) -> None:
    for table, name, cols, extra in COVERING:
        op.create_index(f"{name}_new", table, cols,
                        postgresql_include=extra if include else [])
        op.drop_index(name, table_name=table)
        op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _swap(include=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _swap(include=False)
