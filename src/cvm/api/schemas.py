"""Request bodies of the REST API (responses are the programme's JSON answers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

__all__ = [
    "MemberIn",
    "EarnIn",
    "RedeemIn",
    "RefundIn",
    "ReverseIn",
    "AdjustIn",
    "FloorIn",
    "TierIn",
    "CatalogueIn",
    "RuleIn",
    "PartnerIn",
    "PartnerUpdate",
    "CodeIn",
    "RateIn",
    "SettleIn",
    "ApiKeyIn",
    "OutcomeIn",
    "CaseUpdateIn",
    "ErrorOut",
]

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")
PartnerId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
Money = Field(ge=0, le=Decimal("1e12"), max_digits=14, decimal_places=2)


class _In(BaseModel):
    """Unknown fields are refused; numbers and booleans are strict (``"points": "5"`` and
    ``"points": true`` are refused, not read as 5 and 1); amounts may be strings."""

    model_config = ConfigDict(extra="forbid")


class MemberIn(_In):
    member_id: str = Id
    joined_on: date | None = None


class EarnIn(_In):
    transaction_id: str = Id
    amount: Decimal = Money
    product: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=64)


class RedeemIn(_In):
    points: StrictInt | None = Field(None, gt=0, le=10**12)
    item: str | None = Field(None, max_length=64)
    reason: str | None = Field(None, max_length=200)


class RefundIn(_In):
    transaction_id: str = Id
    amount: Decimal | None = Field(None, gt=0, le=Decimal("1e12"), max_digits=14, decimal_places=2)
    refund_id: str | None = Field(None, min_length=1, max_length=64)


class ReverseIn(_In):
    operation_id: StrictInt = Field(gt=0, le=2**62)
    reason: str = Field("cancelled", min_length=1, max_length=200)


class AdjustIn(_In):
    points: StrictInt = Field(ge=-(10**12), le=10**12)
    reason: str = Field(min_length=1, max_length=200)


class FloorIn(_In):
    tier: str | None = Field(None, max_length=32)
    reason: str = Field(min_length=1, max_length=200)


class TierIn(_In):
    name: str = Field("", max_length=100)
    rank: StrictInt = Field(ge=0, le=1000)
    threshold: StrictInt = Field(ge=0, le=10**15, description="Cents of spend, or points.")
    multiplier: Decimal = Field(Decimal(1), gt=0, le=100, decimal_places=3)
    invitation_only: StrictBool = False
    benefits: dict[str, Any] = Field(default_factory=dict)


class CatalogueIn(_In):
    name: str = Field(min_length=1, max_length=200)
    points: StrictInt = Field(gt=0, le=10**12)
    min_tier_code: str | None = Field(None, max_length=32)
    active: StrictBool = True


class RuleIn(_In):
    code: str = Id
    name: str | None = Field(None, max_length=200)
    points_per_step: StrictInt = Field(ge=0, le=10**9)
    step: Decimal = Field(Decimal(0), ge=0, le=Decimal("1e9"), decimal_places=2)
    min_amount: Decimal = Field(Decimal(0), ge=0, le=Decimal("1e12"), decimal_places=2)
    product: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=64)
    partner_id: str | None = Field(None, max_length=64)
    tier_multiplier: StrictBool = True
    valid_from: date | None = None
    valid_to: date | None = None
    member_limit: StrictInt | None = Field(None, ge=1, le=10**6)
    member_limit_period: Literal["year", "month", "lifetime"] = "year"
    cap_points: StrictInt | None = Field(None, ge=0, le=10**15)
    cap_period: Literal["year", "month", "lifetime"] = "month"
    budget_points: StrictInt | None = Field(None, ge=0, le=10**15)


class PartnerIn(_In):
    partner_id: str = PartnerId
    name: str = Field(min_length=1, max_length=200)
    require_member_proof: StrictBool = Field(True, description=(
        "The partner's keys must send the member's card token or one-time code "
        "(X-Member-Proof) to read a balance or statement or to redeem."))


class PartnerUpdate(_In):
    require_member_proof: StrictBool


class CodeIn(_In):
    minutes: StrictInt = Field(10, ge=1, le=60, description="How long the code lives.")


class RateIn(_In):
    earn_rate: Decimal = Field(ge=0, le=1000, decimal_places=6)
    burn_rate: Decimal = Field(ge=0, le=1000, decimal_places=6)
    valid_from: date
    valid_to: date | None = None


class SettleIn(_In):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class ApiKeyIn(_In):
    role: Literal["admin", "staff", "till", "partner"]
    partner_id: str | None = Field(None, max_length=64)
    name: str = Field("", max_length=200)
    expires_at: AwareDatetime | None = Field(None, description=(
        "When the key stops working (with a time zone, e.g. 2026-12-31T00:00:00Z); "
        "null: never."))


class _ErrorBody(BaseModel):
    code: str
    message: str


class OutcomeIn(_In):
    """What happened with an opportunity; a reason code goes with ``declined`` only."""

    outcome: Literal["contacted", "accepted", "declined", "no_answer", "not_reachable"]
    reason_code: str | None = Field(None, min_length=1, max_length=64)


class CaseUpdateIn(_In):
    """A case moved on; resolving needs ``root_cause`` (a coded one) and ``action``."""

    status: Literal["in_progress", "resolved", "closed", "reopened"]
    root_cause: str | None = Field(None, min_length=1, max_length=64)
    action: str | None = Field(None, min_length=1, max_length=2000)
    note: str = Field("", max_length=2000)


class ErrorOut(BaseModel):
    """The one error shape: ``{"error": {"code": ..., "message": ...}}``."""

    error: _ErrorBody
