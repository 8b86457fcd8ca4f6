"""Programme routes: tiers, catalogue, rules, partners, settlements, reports, jobs, keys."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from cvm.api.deps import (
    AdminKey,
    AnyKey,
    IdemKey,
    Prog,
    StaffKey,
    idem_scope,
    own_partner_or_staff,
)
from cvm.api.schemas import (
    ApiKeyIn,
    CatalogueIn,
    PartnerIn,
    PartnerUpdate,
    RateIn,
    RuleIn,
    SettleIn,
    TierIn,
)

router = APIRouter()
Code = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/tiers", tags=["tiers"])
def list_tiers(prog: Prog, who: AnyKey) -> list:
    """Tiers with thresholds, multipliers and benefits, lowest first."""
    return prog.tiers()


@router.put("/tiers/{code}", tags=["tiers"])
def put_tier(code: Code, body: TierIn, prog: Prog, who: AdminKey) -> dict:
    """Add or replace a tier."""
    prog.put_tier(code, **body.model_dump())
    return {"code": code, **body.model_dump(mode="json")}


@router.post("/jobs/tiers", tags=["jobs"], status_code=201)
def run_tiers(prog: Prog, who: AdminKey, on: date | None = None) -> dict:
    """Run the tier job (upgrades, grace, downgrades) for a day (default today)."""
    changes = prog.run_tiers(on)
    return {"changes": len(changes), "details": changes[:1000]}


@router.post("/jobs/expire", tags=["jobs"], status_code=201)
def run_expire(prog: Prog, who: AdminKey) -> dict:
    """Expire every lot past its expiry date."""
    return prog.expire()


@router.get("/catalogue", tags=["catalogue"])
def list_catalogue(prog: Prog, who: AnyKey) -> list:
    """Redemption catalogue."""
    return prog.catalogue()


@router.put("/catalogue/{code}", tags=["catalogue"])
def put_item(code: Code, body: CatalogueIn, prog: Prog, who: AdminKey) -> dict:
    """Add or replace a catalogue item."""
    prog.put_catalogue_item(code, **body.model_dump())
    return {"code": code, **body.model_dump()}


@router.get("/rules", tags=["rules"])
def list_rules(prog: Prog, who: StaffKey) -> list:
    """Earning rules."""
    return prog.rules()


@router.post("/rules", tags=["rules"], status_code=201)
def add_rule(body: RuleIn, prog: Prog, who: AdminKey, key: IdemKey = None) -> dict:
    """Add an earning rule (a step rate: points_per_step for each whole step of amount)."""
    return prog.add_rule(**body.model_dump(), idem_key=idem_scope(who, key), actor=who.key_id)


@router.get("/partners", tags=["partners"])
def list_partners(prog: Prog, who: StaffKey) -> list:
    """Partner merchants."""
    return prog.partners()


@router.post("/partners", tags=["partners"], status_code=201)
def add_partner(body: PartnerIn, prog: Prog, who: AdminKey, key: IdemKey = None) -> dict:
    """Add a partner merchant (by default its keys must show a member's proof of presence)."""
    return prog.add_partner(body.partner_id, body.name,
                            require_member_proof=body.require_member_proof,
                            idem_key=idem_scope(who, key), actor=who.key_id)


@router.patch("/partners/{partner_id}", tags=["partners"])
def update_partner(partner_id: Code, body: PartnerUpdate, prog: Prog, who: AdminKey) -> dict:
    """Require a member's proof of presence from the partner's keys, or stop requiring it."""
    return prog.set_member_proof(partner_id, body.require_member_proof)


@router.get("/partners/{partner_id}", tags=["partners"])
def get_partner(partner_id: Code, prog: Prog, who: AnyKey) -> dict:
    """A partner and its rates (a partner key sees only its own)."""
    own_partner_or_staff(who, partner_id)
    return prog.partner(partner_id)


@router.post("/partners/{partner_id}/rates", tags=["partners"], status_code=201)
def add_rate(
    partner_id: Code, body: RateIn, prog: Prog, who: AdminKey, key: IdemKey = None
) -> dict:
    """Add an earn/burn rate period (no overlaps)."""
    return prog.add_rate(partner_id, **body.model_dump(), idem_key=idem_scope(who, key),
                         actor=who.key_id)


@router.get("/partners/{partner_id}/transactions", tags=["partners"])
def partner_transactions(
    partner_id: Code,
    prog: Prog,
    who: AnyKey,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list:
    """Ledger entries booked at a partner (a partner key sees only its own)."""
    own_partner_or_staff(who, partner_id)
    return prog.partner_transactions(partner_id, limit=limit, after=after)


@router.post("/partners/{partner_id}/settlements", tags=["partners"], status_code=201)
def settle(partner_id: Code, body: SettleIn, prog: Prog, who: AdminKey) -> dict:
    """The immutable settlement batch of a finished month (made once)."""
    return prog.settle(partner_id, body.month)


@router.get("/partners/{partner_id}/settlements", tags=["partners"])
def list_settlements(partner_id: Code, prog: Prog, who: AnyKey) -> list:
    """A partner's settlement batches."""
    own_partner_or_staff(who, partner_id)
    return prog.settlements(partner_id)


@router.get("/reports/liability", tags=["reports"])
def liability(prog: Prog, who: StaffKey) -> list:
    """Outstanding points and their value by expiry month."""
    return prog.liability()


@router.get("/reports/breakage", tags=["reports"])
def breakage(prog: Prog, who: StaffKey) -> dict:
    """Points issued, spent, expired and the breakage rate."""
    return prog.breakage()


@router.get("/reports/earn-burn", tags=["reports"])
def earn_burn(
    prog: Prog, who: StaffKey, start: date | None = None, end: date | None = None
) -> list:
    """Points earned and burned by tier and partner between two dates (end exclusive)."""
    return prog.earn_burn(start, end)


@router.post("/apikeys", tags=["admin"], status_code=201)
def new_key(body: ApiKeyIn, prog: Prog, who: AdminKey, response: Response) -> dict[str, Any]:
    """Make an API key; the answer is the only time it is shown."""
    response.headers["Cache-Control"] = "no-store"
    token = prog.create_api_key(body.role, body.partner_id, body.name,
                                expires_at=body.expires_at)
    return {
        "key": token,
        "role": body.role,
        "partner_id": body.partner_id,
        "key_id": token.split("_")[1],
        "expires_at": body.expires_at,
    }


@router.get("/apikeys", tags=["admin"])
def list_keys(prog: Prog, who: AdminKey) -> list:
    """Every API key: id, name, role, partner, created, expires, revoked (never the secret)."""
    return prog.api_keys()


@router.delete("/apikeys/{key_id}", tags=["admin"])
def revoke(key_id: Code, prog: Prog, who: AdminKey) -> dict:
    """Revoke an API key."""
    prog.revoke_api_key(key_id)
    return {"key_id": key_id, "revoked": True}
