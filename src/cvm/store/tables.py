"""The programme's tables (SQLAlchemy Core), mirrored by the Alembic migrations.

Append-only: ``ledger_entries``, ``allocations``, ``tier_history`` and
``settlement_batches`` refuse UPDATE and DELETE through database triggers created by the
migration. ``operations`` holds one row per write request (its idempotency key, the
request's hash and the first answer) and links the entries that write made.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = ["metadata", "members", "tiers", "tier_history", "rules", "catalogue", "partners",
           "partner_rates", "operations", "ledger_entries", "allocations", "api_keys",
           "member_proofs", "settlement_batches", "opportunities", "opportunity_outcomes",
           "cases", "case_events", "users", "web_sessions", "APPEND_ONLY"]



class UtcDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every dialect (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalText(TypeDecorator):
    """An exact decimal kept as text, so SQLite never turns it into a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


#: A 64-bit key that autoincrements on SQLite too (SQLite's rowid needs plain INTEGER).
Id = BigInteger().with_variant(Integer(), "sqlite")
#: Money is stored in minor units (cents) as an integer: sums stay exact on every dialect.
Cents = BigInteger
Stamp = UtcDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

tiers = Table(
    "tiers", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("rank", Integer, nullable=False, unique=True),
    Column("threshold", BigInteger, nullable=False),
    Column("invitation_only", Boolean, nullable=False, default=False),
    Column("multiplier", DecimalText, nullable=False, default=Decimal(1)),
    Column("benefits", JSON, nullable=False, default=dict),
)

partners = Table(
    "partners", metadata,
    Column("partner_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Stamp, nullable=False),
    # its keys must show a member's card token or one-time code to read or spend points
    # (migration 0004: partners made before it do not; new ones do unless told otherwise)
    Column("require_member_proof", Boolean, nullable=False, server_default="0"),
)

partner_rates = Table(
    "partner_rates", metadata,
    Column("rate_id", Id, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=False),
    Column("earn_rate", DecimalText, nullable=False),
    Column("burn_rate", DecimalText, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Index(None, "partner_id", "valid_from"),
)

members = Table(
    "members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("joined_on", Date, nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("tier_code", String(32), ForeignKey("tiers.code"), nullable=True),
    Column("tier_since", Date, nullable=True),
    Column("floor_tier_code", String(32), ForeignKey("tiers.code"), nullable=True),
    Column("below_since", Date, nullable=True),
    Column("created_at", Stamp, nullable=False),
)

tier_history = Table(
    "tier_history", metadata,
    Column("change_id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("previous_code", String(32), nullable=True),
    Column("tier_code", String(32), nullable=True),
    Column("changed_on", Date, nullable=False),
    Column("reason", String(300), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Index(None, "member_id", "change_id"),
)

rules = Table(
    "rules", metadata,
    Column("rule_id", Id, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("points_per_step", Integer, nullable=False),
    Column("step_cents", Cents, nullable=False),
    Column("min_cents", Cents, nullable=False, default=0),
    Column("product", String(64), nullable=True),
    Column("channel", String(64), nullable=True),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=True),
    Column("tier_multiplier", Boolean, nullable=False, default=True),
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),
    Column("member_limit", Integer, nullable=True),
    Column("member_limit_period", String(10), nullable=False, default="year"),
    Column("cap_points", BigInteger, nullable=True),
    Column("cap_period", String(10), nullable=False, default="month"),
    Column("budget_points", BigInteger, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    CheckConstraint("points_per_step >= 0", name="points"),
    CheckConstraint("step_cents >= 0", name="step"),
)

catalogue = Table(
    "catalogue", metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("min_tier_code", String(32), ForeignKey("tiers.code"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    CheckConstraint("points > 0", name="points"),
)

operations = Table(
    "operations", metadata,
    Column("op_id", Id, primary_key=True, autoincrement=True),
    Column("idem_key", String(300), nullable=False, unique=True),
    Column("natural_key", String(300), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=True),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=True),
    Column("source_txn", String(64), nullable=True),
    Column("amount_cents", Cents, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("result", JSON, nullable=True),
    Column("created_at", Stamp, nullable=False),
    Index(None, "member_id", "source_txn"),
    Index(None, "created_at"),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("entry_id", Id, primary_key=True, autoincrement=True),
    Column("op_id", Id, ForeignKey("operations.op_id"), nullable=False),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("source_txn", String(64), nullable=True),
    Column("reason", String(300), nullable=False),
    Column("rule_id", Id, ForeignKey("rules.rule_id"), nullable=True),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=True),
    Column("reverses_entry_id", Id, ForeignKey("ledger_entries.entry_id"), nullable=True),
    Column("booked_at", Stamp, nullable=False),
    Column("matures_at", Stamp, nullable=True),
    Column("expires_at", Stamp, nullable=True),
    Column("clawback_points", BigInteger, nullable=False, default=0),
    CheckConstraint("points <> 0 OR clawback_points > 0", name="nonzero"),
    CheckConstraint(
        "kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse')", name="kind"),
    # PostgreSQL: a member's lots and sums read from the index alone (migration 0002)
    Index(None, "member_id", "entry_id",
          postgresql_include=["kind", "points", "booked_at", "matures_at", "expires_at"]),
    Index(None, "op_id"),
    Index(None, "booked_at"),
    Index(None, "partner_id", "booked_at"),
    Index(None, "reverses_entry_id"),
)

allocations = Table(
    "allocations", metadata,
    Column("allocation_id", Id, primary_key=True, autoincrement=True),
    Column("debit_entry_id", Id, ForeignKey("ledger_entries.entry_id"), nullable=False),
    Column("lot_entry_id", Id, ForeignKey("ledger_entries.entry_id"), nullable=False),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("booked_at", Stamp, nullable=False),
    CheckConstraint("points > 0", name="positive"),
    Index(None, "lot_entry_id"),
    Index(None, "debit_entry_id"),
    Index(None, "member_id", postgresql_include=["lot_entry_id", "debit_entry_id", "points"]),
)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("key_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=True),
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    Column("revoked_at", Stamp, nullable=True),
    Column("expires_at", Stamp, nullable=True),
    # failed member look-ups in the window that began at failures_since (rate limit)
    Column("lookup_failures", Integer, nullable=False, server_default="0"),
    Column("failures_since", Stamp, nullable=True),
    CheckConstraint("role IN ('admin', 'staff', 'till', 'partner')", name="role"),
)

#: What a member shows a partner to prove they are there: a card token (kind ``card``, no
#: expiry, one active per member) or a one-time code (``code``: short-lived, one
#: redemption). Only ``sha256(member_id:secret)`` is stored.
member_proofs = Table(
    "member_proofs", metadata,
    Column("proof_id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=True),
    Column("used_at", Stamp, nullable=True),
    Column("revoked_at", Stamp, nullable=True),
    CheckConstraint("kind IN ('card', 'code')", name="kind"),
    Index(None, "member_id", "secret_hash"),
)

settlement_batches = Table(
    "settlement_batches", metadata,
    Column("batch_id", Id, primary_key=True, autoincrement=True),
    Column("partner_id", String(64), ForeignKey("partners.partner_id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("issued_points", BigInteger, nullable=False),
    Column("issued_cents", Cents, nullable=False),
    Column("redeemed_points", BigInteger, nullable=False),
    Column("redeemed_cents", Cents, nullable=False),
    Column("net_cents", Cents, nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("partner_id", "month"),
)

#: Work for staff from the monthly scores (`cvm.opportunities`): one row per customer, kind
#: and as-of day; ``control`` rows are held back and never shown to their owner.
opportunities = Table(
    "opportunities", metadata,
    Column("opportunity_id", String(250), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("line", String(200), nullable=True),
    Column("priority", Float, nullable=False),
    Column("action", Text, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("due", Date, nullable=False),
    Column("expires", Date, nullable=False),
    Column("control", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Index(None, "as_of", "owner"),
    Index(None, "as_of", "priority"),
    Index(None, "customer_id", "kind"),
)

#: What staff recorded for an opportunity; the latest row is its outcome.
opportunity_outcomes = Table(
    "opportunity_outcomes", metadata,
    Column("outcome_id", Id, primary_key=True, autoincrement=True),
    Column("opportunity_id", String(250), ForeignKey("opportunities.opportunity_id"),
           nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason_code", String(64), nullable=True),
    Column("recorded_at", Stamp, nullable=False),
    Column("recorded_by", String(200), nullable=False, default=""),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    CheckConstraint("outcome IN ('contacted', 'accepted', 'declined', 'no_answer', "
                    "'not_reachable')", name="outcome"),
    Index(None, "opportunity_id"),
)

#: The closed loop (`cvm.cases`): a case per trigger (a detractor answer, a complaint, a
#: breach of a service standard, a low satisfaction answer), worked by its owner to a coded
#: root cause, followed up.
cases = Table(
    "cases", metadata,
    Column("case_id", Id, primary_key=True, autoincrement=True),
    Column("trigger_key", String(300), nullable=False, unique=True),
    Column("trigger", String(16), nullable=False),
    Column("customer_id", String(200), nullable=False),
    Column("opened_at", Stamp, nullable=False),
    Column("due_at", Stamp, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("root_cause", String(64), nullable=True),
    Column("action_taken", Text, nullable=True),
    Column("escalated_at", Stamp, nullable=True),
    Column("updated_at", Stamp, nullable=False),
    Column("details", JSON, nullable=False),
    CheckConstraint("trigger IN ('detractor', 'complaint', 'breach', 'low_satisfaction')",
                    name="trigger"),
    CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed', 'reopened')",
                    name="status"),
    Index(None, "owner", "status"),
    Index(None, "customer_id"),
)

#: Every change of a case: who, when, from which status to which, and the note.
case_events = Table(
    "case_events", metadata,
    Column("event_id", Id, primary_key=True, autoincrement=True),
    Column("case_id", Id, ForeignKey("cases.case_id"), nullable=False),
    Column("at", Stamp, nullable=False),
    Column("by", String(200), nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Index(None, "case_id"),
)

#: Tables whose rows may never change or disappear once committed.
APPEND_ONLY = ("ledger_entries", "allocations", "tier_history", "settlement_batches")

#: People who log in to the pages (`cvm.users`): a role (admin, manager, analyst, staff),
#: a team (a manager sees the work of their team's staff), a language, an argon2 hash of the
#: password, and the count of failed logins since ``failures_since`` (login rate limit).
users = Table(
    "users", metadata,
    Column("user_id", Id, primary_key=True, autoincrement=True),
    Column("username", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("team", String(200), nullable=True),
    Column("language", String(8), nullable=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("disabled_at", Stamp, nullable=True),
    Column("login_failures", Integer, nullable=False, server_default="0"),
    Column("failures_since", Stamp, nullable=True),
    CheckConstraint("role IN ('admin', 'manager', 'analyst', 'staff')", name="role"),
)

#: Logged-in sessions: only ``sha256(token)`` of the cookie is stored, with the session's
#: CSRF token, language and expiry; logging out deletes the row.
web_sessions = Table(
    "web_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.user_id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("language", String(8), nullable=True),
    Column("created_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=False),
    Index(None, "user_id"),
)
