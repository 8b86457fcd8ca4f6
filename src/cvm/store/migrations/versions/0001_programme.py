"""Programme store: members, tiers, rules, partners, operations, ledger, allocations, keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from cvm.store.tables import DecimalText, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = UtcDateTime
APPEND_ONLY = ("ledger_entries", "allocations", "tier_history", "settlement_batches")


def _pk(name):
    return sa.PrimaryKeyConstraint(name=f"pk_{name}")


def upgrade() -> None:
    op.create_table(
        "tiers",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("threshold", sa.BigInteger, nullable=False),
        sa.Column("invitation_only", sa.Boolean, nullable=False),
        sa.Column("multiplier", DecimalText, nullable=False),
        sa.Column("benefits", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_tiers"),
        sa.UniqueConstraint("rank", name="uq_tiers_rank"),
    )
    op.create_table(
        "partners",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name="pk_partners"),
    )
    op.create_table(
        "partner_rates",
        sa.Column("rate_id", Id, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("earn_rate", DecimalText, nullable=False),
        sa.Column("burn_rate", DecimalText, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("rate_id", name="pk_partner_rates"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_partner_rates_partner_id_partners"),
    )
    op.create_index("ix_partner_rates_partner_id_valid_from", "partner_rates",
                    ["partner_id", "valid_from"])
    op.create_table(
        "members",
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("joined_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier_code", sa.String(32), nullable=True),
        sa.Column("tier_since", sa.Date, nullable=True),
        sa.Column("floor_tier_code", sa.String(32), nullable=True),
        sa.Column("below_since", sa.Date, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_members"),
        sa.ForeignKeyConstraint(["tier_code"], ["tiers.code"], name="fk_members_tier_code_tiers"),
        sa.ForeignKeyConstraint(["floor_tier_code"], ["tiers.code"],
                                name="fk_members_floor_tier_code_tiers"),
    )
    op.create_table(
        "tier_history",
        sa.Column("change_id", Id, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("previous_code", sa.String(32), nullable=True),
        sa.Column("tier_code", sa.String(32), nullable=True),
        sa.Column("changed_on", sa.Date, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("change_id", name="pk_tier_history"),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name="fk_tier_history_member_id_members"),
    )
    op.create_index("ix_tier_history_member_id_change_id", "tier_history",
                    ["member_id", "change_id"])
    op.create_table(
        "rules",
        sa.Column("rule_id", Id, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("points_per_step", sa.Integer, nullable=False),
        sa.Column("step_cents", sa.BigInteger, nullable=False),
        sa.Column("min_cents", sa.BigInteger, nullable=False),
        sa.Column("product", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("tier_multiplier", sa.Boolean, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("member_limit", sa.Integer, nullable=True),
        sa.Column("member_limit_period", sa.String(10), nullable=False),
        sa.Column("cap_points", sa.BigInteger, nullable=True),
        sa.Column("cap_period", sa.String(10), nullable=False),
        sa.Column("budget_points", sa.BigInteger, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name="pk_rules"),
        sa.UniqueConstraint("code", name="uq_rules_code"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_rules_partner_id_partners"),
        sa.CheckConstraint("points_per_step >= 0", name="ck_rules_points"),
        sa.CheckConstraint("step_cents >= 0", name="ck_rules_step"),
    )
    op.create_table(
        "catalogue",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("min_tier_code", sa.String(32), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_catalogue"),
        sa.ForeignKeyConstraint(["min_tier_code"], ["tiers.code"],
                                name="fk_catalogue_min_tier_code_tiers"),
        sa.CheckConstraint("points > 0", name="ck_catalogue_points"),
    )
    op.create_table(
        "operations",
        sa.Column("op_id", Id, autoincrement=True, nullable=False),
        sa.Column("idem_key", sa.String(300), nullable=False),
        sa.Column("natural_key", sa.String(300), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("source_txn", sa.String(64), nullable=True),
        sa.Column("amount_cents", sa.BigInteger, nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("op_id", name="pk_operations"),
        sa.UniqueConstraint("idem_key", name="uq_operations_idem_key"),
        sa.UniqueConstraint("natural_key", name="uq_operations_natural_key"),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name="fk_operations_member_id_members"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_operations_partner_id_partners"),
    )
    op.create_index("ix_operations_member_id_source_txn", "operations",
                    ["member_id", "source_txn"])
    op.create_index("ix_operations_created_at", "operations", ["created_at"])
    op.create_table(
        "ledger_entries",
        sa.Column("entry_id", Id, autoincrement=True, nullable=False),
        sa.Column("op_id", Id, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("source_txn", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("rule_id", Id, nullable=True),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("reverses_entry_id", Id, nullable=True),
        sa.Column("booked_at", Stamp, nullable=False),
        sa.Column("matures_at", Stamp, nullable=True),
        sa.Column("expires_at", Stamp, nullable=True),
        sa.Column("clawback_points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_ledger_entries"),
        sa.ForeignKeyConstraint(["op_id"], ["operations.op_id"],
                                name="fk_ledger_entries_op_id_operations"),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name="fk_ledger_entries_member_id_members"),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.rule_id"],
                                name="fk_ledger_entries_rule_id_rules"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_ledger_entries_partner_id_partners"),
        sa.ForeignKeyConstraint(["reverses_entry_id"], ["ledger_entries.entry_id"],
                                name="fk_ledger_entries_reverses_entry_id_ledger_entries"),
        sa.CheckConstraint("points <> 0 OR clawback_points > 0",
                           name="ck_ledger_entries_nonzero"),
        sa.CheckConstraint("kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse')",
                           name="ck_ledger_entries_kind"),
    )
    for cols in (["member_id", "entry_id"], ["op_id"], ["booked_at"],
                 ["partner_id", "booked_at"], ["reverses_entry_id"]):
        op.create_index(f"ix_ledger_entries_{'_'.join(cols)}", "ledger_entries", cols)
    op.create_table(
        "allocations",
        sa.Column("allocation_id", Id, autoincrement=True, nullable=False),
        sa.Column("debit_entry_id", Id, nullable=False),
        sa.Column("lot_entry_id", Id, nullable=False),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("booked_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("allocation_id", name="pk_allocations"),
        sa.ForeignKeyConstraint(["debit_entry_id"], ["ledger_entries.entry_id"],
                                name="fk_allocations_debit_entry_id_ledger_entries"),
        sa.ForeignKeyConstraint(["lot_entry_id"], ["ledger_entries.entry_id"],
                                name="fk_allocations_lot_entry_id_ledger_entries"),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name="fk_allocations_member_id_members"),
        sa.CheckConstraint("points > 0", name="ck_allocations_positive"),
    )
    for col in ("lot_entry_id", "debit_entry_id", "member_id"):
        op.create_index(f"ix_allocations_{col}", "allocations", [col])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_api_keys_partner_id_partners"),
        sa.CheckConstraint("role IN ('admin', 'staff', 'till', 'partner')",
                           name="ck_api_keys_role"),
    )
    op.create_table(
        "settlement_batches",
        sa.Column("batch_id", Id, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("issued_points", sa.BigInteger, nullable=False),
        sa.Column("issued_cents", sa.BigInteger, nullable=False),
        sa.Column("redeemed_points", sa.BigInteger, nullable=False),
        sa.Column("redeemed_cents", sa.BigInteger, nullable=False),
        sa.Column("net_cents", sa.BigInteger, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_settlement_batches"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.partner_id"],
                                name="fk_settlement_batches_partner_id_partners"),
        sa.UniqueConstraint("partner_id", "month", name="uq_settlement_batches_partner_id_month"),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
            CREATE FUNCTION cvm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END $$""")
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION cvm_append_only()")
        elif dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON "
                           f"{table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: "
                           f"{action} refused'); END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif dialect == "sqlite":
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS cvm_append_only()")
    for table in ("settlement_batches", "api_keys", "allocations", "ledger_entries",
                  "operations", "catalogue", "rules", "tier_history", "members",
                  "partner_rates", "partners", "tiers"):
        op.drop_table(table)
